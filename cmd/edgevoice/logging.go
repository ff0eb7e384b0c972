package main

import (
	"io"
	"log/slog"
	"os"
)

// newLogger returns the process logger for a daemon: structured key=value lines. Under
// systemd (JOURNAL_STREAM set) "auto" leaves the time out, journald adds it; on a terminal
// it is kept. "json" writes one JSON object per line.
func newLogger(w io.Writer, level, format string, getenv func(string) string) (*slog.Logger, error) {
	lv, err := parseLogLevel(level)
	if err != nil {
		return nil, err
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "auto" && getenv("JOURNAL_STREAM") != "" {
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
