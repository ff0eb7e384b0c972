package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/control"
)

// TestCtl runs `edgevoice run` (simulated board, paced WAV mic, in-process emulator) and
// drives it with `edgevoice ctl`: a remote push-to-talk turn is answered, watched with
// ctl subscribe; say is answered aloud; mute refuses a press (exit 1 with the reason);
// bad command lines exit 2.
func TestCtl(t *testing.T) {
	// run's signal.Notify starts os/signal's process-wide goroutine, which never ends:
	// start it before counting
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	signal.Stop(hup)
	defer noLeaks(t)()
	dir := t.TempDir()
	sock := filepath.Join(dir, "control.sock")
	cfg := filepath.Join(dir, "run.toml")
	wav, _ := filepath.Abs("assets/question.wav")
	doc := fmt.Sprintf("[appliance]\ncontrol_socket = %q\n[board]\nkind = \"sim\"\n[audio]\ninput_file = %q\npace_files = true\noutput_file = %q\n",
		sock, wav, filepath.Join(dir, "out.wav"))
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
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("run did not stop within 10 s")
		}
	}()
	ctl := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Main(ctx, append([]string{"ctl", "-socket", sock}, args...), &cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
		return code, out.String(), errb.String()
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, out, _ := ctl("status")
		if code == 0 && strings.Contains(out, `"state":"idle"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no idle status within 15 s: %s\nlogs:\n%s", out, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// ctl subscribe, read line by line
	pr, pw := io.Pipe()
	sctx, scancel := context.WithCancel(ctx)
	subDone := make(chan int, 1)
	go func() {
		var errb bytes.Buffer
		subDone <- Main(sctx, []string{"ctl", "-socket", sock, "subscribe"}, &cli.Env{Stdout: pw, Stderr: &errb, Getenv: func(string) string { return "" }})
		pw.Close()
	}()
	events := make(chan map[string]any, 256)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var l struct {
				V     int            `json:"v"`
				Event map[string]any `json:"event"`
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.V == 1 {
				events <- l.Event
			}
		}
		io.Copy(io.Discard, pr)
		close(events)
	}()
	waitEvent := func(typ, state string) {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatalf("ctl subscribe ended before %s %s", typ, state)
				}
				if ev["type"] == typ && (state == "" || ev["state"] == state) {
					return
				}
			case <-timeout:
				t.Fatalf("no %s %s event within 20 s\nlogs:\n%s", typ, state, logs.String())
			}
		}
	}
	waitEvent("state", "idle") // the current state first

	if code, out, errs := ctl("press"); code != 0 || !strings.Contains(out, `"ok":true`) {
		t.Fatalf("ctl press: %d %s %s", code, out, errs)
	}
	waitEvent("state", "listening")
	time.Sleep(800 * time.Millisecond)
	if code, out, errs := ctl("release"); code != 0 || !strings.Contains(out, `"state":"thinking"`) {
		t.Fatalf("ctl release: %d %s %s", code, out, errs)
	}
	waitEvent("state", "speaking")
	waitEvent("transcript", "")
	waitEvent("state", "idle")

	if code, out, errs := ctl("say", "The", "door", "is", "open."); code != 0 || !strings.Contains(out, `"ok":true`) {
		t.Fatalf("ctl say: %d %s %s", code, out, errs)
	}
	waitEvent("state", "speaking")
	waitEvent("state", "idle")

	if code, out, _ := ctl("volume", "+0.1"); code != 0 || !strings.Contains(out, `"volume":0.9`) {
		t.Errorf("ctl volume +0.1: %d %s", code, out)
	}
	if code, out, errs := ctl("volume", "-0.25"); code != 0 || !strings.Contains(out, `"volume":0.65`) {
		t.Errorf("ctl volume -0.25: %d %s %s", code, out, errs)
	}
	if code, _, _ := ctl("mute"); code != 0 {
		t.Errorf("ctl mute: exit %d", code)
	}
	if code, out, errs := ctl("press"); code != 1 || out != "" || !strings.Contains(errs, "muted: talk is ignored") {
		t.Errorf("ctl press while muted: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	for _, args := range [][]string{{"jump"}, {"volume"}, {"volume", "loud"}, {"say"}, {"press", "x"}} {
		if code, _, errs := ctl(args...); code != 2 || errs == "" {
			t.Errorf("ctl %v: exit %d, stderr %q; want 2 with the problem", args, code, errs)
		}
	}
	st, err := control.Ask(ctx, sock)
	if err != nil || st.Appliance.Turns != 1 || !st.Appliance.Muted {
		t.Errorf("status: %+v %v", st, err)
	}
	scancel()
	select {
	case code := <-subDone:
		if code != 0 {
			t.Errorf("ctl subscribe ended with exit %d, want 0 when interrupted", code)
		}
	case <-time.After(10 * time.Second):
		t.Error("ctl subscribe did not end within 10 s of the interrupt")
	}
	for range events {
	}
	if code, _, errs := ctl("-socket", filepath.Join(dir, "none.sock"), "status"); code != 1 || !strings.Contains(errs, "cannot reach the appliance") {
		t.Errorf("ctl status without an appliance: %d %q", code, errs)
	}
}
