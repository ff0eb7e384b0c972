package cli

import (
	"log/slog"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier talks to systemd (sd_notify). Without NOTIFY_SOCKET every call is a no-op;
// other errors are logged once.
type Notifier struct {
	Log  *slog.Logger
	once sync.Once
}

// NewNotifier returns a Notifier that logs its first failure to log.
func NewNotifier(log *slog.Logger) *Notifier { return &Notifier{Log: log} }

func (n *Notifier) send(state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		n.once.Do(func() { n.Log.Warn("sd_notify failed (further errors not logged)", "err", err) })
	}
}

// Ready says the service is up, with a human-readable status line.
func (n *Notifier) Ready(status string) { n.send(daemon.SdNotifyReady + "\nSTATUS=" + status) }

// Status sets the line `systemctl status` shows.
func (n *Notifier) Status(status string) { n.send("STATUS=" + status) }

// Stopping says a clean shutdown has begun.
func (n *Notifier) Stopping() { n.send(daemon.SdNotifyStopping) }

// Watchdog pings the watchdog.
func (n *Notifier) Watchdog() { n.send(daemon.SdNotifyWatchdog) }

// WatchdogInterval is how often to ping: half the unit's WatchdogSec, 0 if none.
func WatchdogInterval() time.Duration {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil || d <= 0 {
		return 0
	}
	return d / 2
}

// Reloading says a configuration reload has begun; Ready ends it.
func (n *Notifier) Reloading() { n.send(daemon.SdNotifyReloading) }
