package cli

import (
	"fmt"
	"io"
	"log/slog"
)

// NewLogger returns the process logger for a daemon: structured key=value lines at level
// ("debug", "info", "warn", "error"). Under systemd (JOURNAL_STREAM set) format "auto"
// leaves the time out, journald adds it; on a terminal it is kept. "json" writes one
// JSON object per line.
func NewLogger(w io.Writer, level, format string, env *Env) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want \"debug\", \"info\", \"warn\" or \"error\"", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "auto" && env.Env("JOURNAL_STREAM") != "" {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
