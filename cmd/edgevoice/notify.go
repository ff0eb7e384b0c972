//go:build !provisiond

package main

import (
	"log/slog"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// notifier talks to systemd (sd_notify). Without NOTIFY_SOCKET every call is a no-op;
// other errors are logged once.
type notifier struct {
	log  *slog.Logger
	once sync.Once
}

func (n *notifier) send(state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		n.once.Do(func() { n.log.Warn("sd_notify failed (further errors not logged)", "err", err) })
	}
}

// Ready says the service is up, with a human-readable status line.
func (n *notifier) Ready(status string) { n.send(daemon.SdNotifyReady + "\nSTATUS=" + status) }

// Status sets the line `systemctl status` shows.
func (n *notifier) Status(status string) { n.send("STATUS=" + status) }

// Stopping says a clean shutdown has begun.
func (n *notifier) Stopping() { n.send(daemon.SdNotifyStopping) }

// Watchdog pings the watchdog.
func (n *notifier) Watchdog() { n.send(daemon.SdNotifyWatchdog) }

// watchdogInterval is how often to ping: half the unit's WatchdogSec, 0 if none.
func watchdogInterval() time.Duration {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil || d <= 0 {
		return 0
	}
	return d / 2
}
