package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/internal/cli"
)

// TestRunNotify: under systemd (NOTIFY_SOCKET, WATCHDOG_USEC) `edgevoice run` reports
// READY with a status line after its first key check, pings the watchdog from the main
// loop, sets STATUS on state changes, and says STOPPING on SIGTERM.
func TestRunNotify(t *testing.T) {
	dir := t.TempDir()
	ns := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: ns, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", ns)
	t.Setenv("WATCHDOG_USEC", "200000") // ping every 100 ms
	t.Setenv("WATCHDOG_PID", fmt.Sprint(os.Getpid()))

	cfg := filepath.Join(dir, "run.toml")
	wav, _ := filepath.Abs("assets/question.wav")
	doc := fmt.Sprintf("[appliance]\ncontrol_socket = %q\n[board]\nkind = \"sim\"\n[audio]\ninput_file = %q\noutput_file = %q\n",
		filepath.Join(dir, "control.sock"), wav, filepath.Join(dir, "out.wav"))
	if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &runLogBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"run", "-config", cfg, "-emulator"}, &cli.Env{Stdout: logs, Stderr: logs, Getenv: func(string) string { return "" }})
	}()
	var msgs []string
	read := func(until func(string) bool) {
		t.Helper()
		buf := make([]byte, 4096)
		deadline := time.Now().Add(10 * time.Second)
		for {
			_ = conn.SetReadDeadline(deadline)
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("no notify message matched (got %q): %v\nlogs:\n%s", msgs, err, logs.String())
			}
			m := string(buf[:n])
			msgs = append(msgs, m)
			if until(m) {
				return
			}
		}
	}
	read(func(m string) bool { return strings.HasPrefix(m, "READY=1\nSTATUS=idle;") })
	pings := 0
	read(func(m string) bool {
		if m == "WATCHDOG=1" {
			pings++
		}
		return pings >= 3
	})
	cancel()
	read(func(m string) bool { return m == "STOPPING=1" })
	if code := <-done; code != 0 {
		t.Errorf("run exited %d", code)
	}
	if !strings.Contains(strings.Join(msgs, "|"), "STATUS=idle (started)") {
		t.Errorf("no STATUS line for the idle state in %q", msgs)
	}
}
