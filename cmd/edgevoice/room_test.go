package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/control"
)

// TestRunSimulatedRoom: `edgevoice run` with [audio] room_delay uses the simulated room as
// its mic and speaker (no devices, no files), reports it in the status, and stops cleanly.
func TestRunSimulatedRoom(t *testing.T) {
	defer noLeaks(t)()
	dir := t.TempDir()
	sock, cfg := filepath.Join(dir, "control.sock"), filepath.Join(dir, "run.toml")
	wav, _ := filepath.Abs("assets/question.wav")
	doc := fmt.Sprintf("[appliance]\ncontrol_socket = %q\n[board]\nkind = \"sim\"\n[audio]\nroom_delay = \"80ms\"\nroom_gain_db = -3\ninput_file = %q\n", sock, wav)
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
	deadline := time.Now().Add(10 * time.Second)
	for {
		sctx, scancel := context.WithTimeout(ctx, time.Second)
		s, err := control.Ask(sctx, sock)
		scancel()
		if err == nil && len(s.Audio) == 2 && s.Audio[0].State == "simulated" {
			if want := "simulated room (echo after 80ms at -3 dB)"; s.Audio[0].Device != want || s.Audio[1].Device != want {
				t.Errorf("audio status %+v, want %q for both", s.Audio, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no simulated-room status within 10 s (last error %v)\nlogs:\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("run exited %d\n%s", code, logs.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not stop within 5 s")
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("errors in the logs:\n%s", logs.String())
	}
}
