package cli

import (
	"bytes"
	"strings"
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
