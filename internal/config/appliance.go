package config

import (
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"
)

// Appliance is the [appliance] section: how the appliance behaves as a product
// (talk button semantics, idle policy, the control socket, logging, the watchdog).
type Appliance struct {
	// How the talk button works: "hold" (push-to-talk: speak while the button is held,
	// release to get the answer) or "toggle" (tap to start talking, tap again to stop;
	// with server VAD the conversation stays open until the next tap).
	TalkMode string `toml:"talk_mode"`
	// Close the realtime session after this long without a turn ("0s" closes it right
	// after each answer). The next press opens a new one (about a second of "connecting").
	IdleTimeout Duration `toml:"idle_timeout"`
	// Keep a session open ("warm") all the time instead of opening one per press: the
	// first word is heard at once, at the price of a constantly open connection.
	KeepWarm bool `toml:"keep_warm"`
	// Unix socket that `edgevoice status` asks; only the edgevoice user (and root) may
	// connect. Under systemd it lives in RuntimeDirectory=edgevoice.
	ControlSocket string `toml:"control_socket"`
	// Log level: "debug", "info", "warn" or "error".
	LogLevel string `toml:"log_level"`
	// Log format: "auto" (plain key=value lines without timestamps under systemd, where
	// journald adds them; with timestamps on a terminal), "text" or "json".
	LogFormat string `toml:"log_format"`
	// systemd watchdog: "auto" pings from the main loop when the unit sets WatchdogSec
	// (a hung appliance is then restarted); "off" never pings.
	Watchdog string `toml:"watchdog"`
	// Serve Prometheus text metrics at http://ADDR/metrics, e.g. "127.0.0.1:9464".
	// Empty disables it. Only loopback addresses are accepted.
	MetricsListen string `toml:"metrics_listen"`
	// Speaker volume at start, 0.05 to 1 (volume buttons change it in steps).
	Volume float64 `toml:"volume"`
	// How much one press of a volume button changes the volume.
	VolumeStep float64 `toml:"volume_step"`
	// What a very long press does (the second long_press threshold of the [board] mute
	// button, or of the talk button while the LEDs show no-key, offline or error; the
	// first threshold re-checks provisioning and the network): "restart" (drop the session
	// and the cached key and get a fresh key from the provisioning daemon, without leaving
	// the process; the audio devices reopen by themselves after failures) or "none".
	ServiceAction string `toml:"service_action"`
	// Give up a clean shutdown after this long (systemd stop, Ctrl-C): LEDs off, session
	// closed, devices released.
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
}

// Talk modes of [appliance] talk_mode.
const (
	TalkHold   = "hold"   // push-to-talk: talk while held
	TalkToggle = "toggle" // tap to start, tap to stop
)

func (c *Appliance) setDefaults() {
	switch strings.ToLower(c.TalkMode) {
	case "", "hold", "push-to-talk", "ptt":
		c.TalkMode = TalkHold
	case "toggle", "tap":
		c.TalkMode = TalkToggle
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = Duration(60 * time.Second)
	}
	if c.ControlSocket == "" {
		c.ControlSocket = "/run/edgevoice/control.sock"
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.LogFormat == "" {
		c.LogFormat = "auto"
	}
	if c.Watchdog == "" {
		c.Watchdog = "auto"
	}
	if c.Volume == 0 {
		c.Volume = 0.8
	}
	if c.VolumeStep == 0 {
		c.VolumeStep = 0.1
	}
	if c.ServiceAction == "" {
		c.ServiceAction = "restart"
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = Duration(2 * time.Second)
	}
}

func (c *Appliance) validate(p *sectionProblems) {
	if c.TalkMode != TalkHold && c.TalkMode != TalkToggle {
		p.add("talk_mode", "%q: want \"hold\" or \"toggle\"", c.TalkMode)
	}
	if c.IdleTimeout < 0 {
		p.add("idle_timeout", "must not be negative")
	}
	if _, err := ParseLogLevel(c.LogLevel); err != nil {
		p.add("log_level", "%v", err)
	}
	switch c.LogFormat {
	case "auto", "text", "json":
	default:
		p.add("log_format", "%q: want \"auto\", \"text\" or \"json\"", c.LogFormat)
	}
	switch c.Watchdog {
	case "auto", "off":
	default:
		p.add("watchdog", "%q: want \"auto\" or \"off\"", c.Watchdog)
	}
	if c.MetricsListen != "" {
		host, _, err := net.SplitHostPort(c.MetricsListen)
		if err != nil {
			p.add("metrics_listen", "%q: want HOST:PORT such as \"127.0.0.1:9464\"", c.MetricsListen)
		} else if !isLoopbackHost(host) {
			p.add("metrics_listen", "%q: only loopback addresses (127.0.0.1, ::1, localhost) are allowed", c.MetricsListen)
		}
	}
	if c.Volume < 0.05 || c.Volume > 1 {
		p.add("volume", "%g: want 0.05 to 1", c.Volume)
	}
	if c.VolumeStep <= 0 || c.VolumeStep > 0.5 {
		p.add("volume_step", "%g: want more than 0 and at most 0.5", c.VolumeStep)
	}
	switch c.ServiceAction {
	case "restart", "none":
	default:
		p.add("service_action", "%q: want \"restart\" or \"none\"", c.ServiceAction)
	}
	if c.ShutdownTimeout <= 0 {
		p.add("shutdown_timeout", "must be positive")
	}
}

// isLoopbackHost reports whether host (a name or an IP, without port) is this machine.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseLogLevel parses "debug", "info", "warn" or "error".
func ParseLogLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q: want \"debug\", \"info\", \"warn\" or \"error\"", s)
	}
	return l, nil
}
