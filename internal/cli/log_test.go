package cli

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	journal := &Env{Getenv: func(k string) string {
		if k == "JOURNAL_STREAM" {
			return "8:1"
		}
		return ""
	}}
	log, err := NewLogger(&buf, "info", "auto", journal)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hidden")
	log.Info("shown", "k", 1)
	if got := buf.String(); got != "level=INFO msg=shown k=1\n" {
		t.Errorf("under journald: %q", got)
	}
	buf.Reset()
	log, _ = NewLogger(&buf, "debug", "json", &Env{Getenv: func(string) string { return "" }})
	log.Debug("x")
	if !strings.HasPrefix(buf.String(), `{"time":`) {
		t.Errorf("json: %q", buf.String())
	}
	if _, err := NewLogger(&buf, "loud", "text", journal); err == nil {
		t.Error("a bad level was accepted")
	}
}

// secret is a value that masks itself in logs, as realtime.Key does.
type secret string

func (secret) LogValue() slog.Value { return slog.StringValue("sk-…(masked)") }

// TestNewLoggerJournalPriorities: when the writer is the stream $JOURNAL_STREAM names
// (its device and inode), each line carries its sd-daemon(3) priority prefix, so
// journald files warnings as warnings; secrets are masked as without the prefix. A
// writer that is not that stream (a redirected stderr, a buffer) gets no prefix.
func TestNewLoggerJournalPriorities(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	stream := fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	env := func(v string) *Env {
		return &Env{Getenv: func(k string) string {
			if k == "JOURNAL_STREAM" {
				return v
			}
			return ""
		}}
	}
	logAll := func(log *slog.Logger) {
		log.Debug("d")
		log.Info("i", "key", secret("sk-live-123456"))
		log.With("component", "x").Warn("w")
		log.WithGroup("g").Error("e", "n", 1)
	}
	for _, format := range []string{"auto", "text", "json"} {
		if err := f.Truncate(0); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Seek(0, 0); err != nil {
			t.Fatal(err)
		}
		log, err := NewLogger(f, "debug", format, env(stream))
		if err != nil {
			t.Fatal(err)
		}
		logAll(log)
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		want := []string{"<7>", "<6>", "<4>", "<3>"}
		if len(lines) != len(want) {
			t.Fatalf("%s: %d lines, want %d:\n%s", format, len(lines), len(want), b)
		}
		for i, l := range lines {
			if !strings.HasPrefix(l, want[i]) || strings.HasPrefix(l[3:], "<") {
				t.Errorf("%s: line %d %q: want one prefix %s", format, i, l, want[i])
			}
		}
		if strings.Contains(string(b), "sk-live") || !strings.Contains(string(b), "masked") {
			t.Errorf("%s: the secret is not masked:\n%s", format, b)
		}
	}

	// Not the journal: no prefixes (another inode, a malformed variable, a buffer).
	for _, v := range []string{"", fmt.Sprintf("%d:%d", st.Dev, st.Ino+1), "garbage"} {
		if err := f.Truncate(0); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Seek(0, 0); err != nil {
			t.Fatal(err)
		}
		log, _ := NewLogger(f, "debug", "text", env(v))
		logAll(log)
		b, _ := os.ReadFile(f.Name())
		if strings.Contains(string(b), "<") || !strings.Contains(string(b), "level=WARN") {
			t.Errorf("JOURNAL_STREAM=%q: %q", v, b)
		}
	}
	var buf bytes.Buffer
	log, _ := NewLogger(&buf, "debug", "text", env(stream))
	logAll(log)
	if strings.Contains(buf.String(), "<") {
		t.Errorf("a buffer got priorities: %q", buf.String())
	}
}
