package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// ParseLevel parses a log level: "debug", "info", "warn" or "error".
func ParseLevel(level string) (slog.Level, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return 0, fmt.Errorf("log level %q: want \"debug\", \"info\", \"warn\" or \"error\"", level)
	}
	return lv, nil
}

// NewLogger returns the process logger for a daemon: structured key=value lines at level
// ("debug", "info", "warn", "error"). Under systemd (JOURNAL_STREAM set) format "auto"
// leaves the time out, journald adds it; on a terminal it is kept. "json" writes one
// JSON object per line. When w is the journal stream itself (JOURNAL_STREAM names its
// device and inode), each line starts with its sd-daemon(3) priority ("<3>" error,
// "<4>" warning, "<6>" info, "<7>" debug), so `journalctl -p warning` finds warnings.
func NewLogger(w io.Writer, level, format string, env *Env) (*slog.Logger, error) {
	lv, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	var v slog.LevelVar
	v.Set(lv)
	return NewLoggerVar(w, &v, format, env), nil
}

// NewLoggerVar is NewLogger with a level that can change while the logger is in use
// (a configuration reload sets it).
func NewLoggerVar(w io.Writer, level slog.Leveler, format string, env *Env) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "auto" && env.Env("JOURNAL_STREAM") != "" {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	var jw *journalWriter
	if IsJournal(w, env) {
		jw = &journalWriter{w: w}
		w = jw
	}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	if jw != nil {
		h = &journalHandler{inner: h, jw: jw}
	}
	return slog.New(h)
}

// IsJournal reports whether w is the stream systemd connected to journald: a file whose
// device and inode are the ones in $JOURNAL_STREAM ("DEV:INODE"), as sd_journal_stream
// documents (a child whose stderr was redirected keeps the variable but not the stream).
func IsJournal(w io.Writer, env *Env) bool {
	js := env.Env("JOURNAL_STREAM")
	f, ok := w.(interface{ Fd() uintptr })
	if js == "" || !ok {
		return false
	}
	ds, is, ok := strings.Cut(js, ":")
	if !ok {
		return false
	}
	dev, err1 := strconv.ParseUint(ds, 10, 64)
	ino, err2 := strconv.ParseUint(is, 10, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return uint64(st.Dev) == dev && uint64(st.Ino) == ino
}

// journalPriority is the sd-daemon(3) prefix for a level.
func journalPriority(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "<3>"
	case l >= slog.LevelWarn:
		return "<4>"
	case l >= slog.LevelInfo:
		return "<6>"
	}
	return "<7>"
}

// journalWriter writes each record with the prefix journalHandler set for it. The slog
// handlers write one record in one Write call.
type journalWriter struct {
	mu     sync.Mutex // held by journalHandler.Handle around the inner handler
	w      io.Writer
	prefix string
	buf    []byte
}

func (j *journalWriter) Write(p []byte) (int, error) {
	j.buf = append(append(j.buf[:0], j.prefix...), p...)
	if _, err := j.w.Write(j.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// journalHandler prefixes each record with its journald priority.
type journalHandler struct {
	inner slog.Handler
	jw    *journalWriter
}

func (h *journalHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *journalHandler) Handle(ctx context.Context, r slog.Record) error {
	h.jw.mu.Lock()
	defer h.jw.mu.Unlock()
	h.jw.prefix = journalPriority(r.Level)
	return h.inner.Handle(ctx, r)
}

func (h *journalHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &journalHandler{inner: h.inner.WithAttrs(attrs), jw: h.jw}
}

func (h *journalHandler) WithGroup(name string) slog.Handler {
	return &journalHandler{inner: h.inner.WithGroup(name), jw: h.jw}
}
