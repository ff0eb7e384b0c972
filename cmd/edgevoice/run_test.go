package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/control"
	"github.com/edgevoice/edgevoice/internal/provcmd"
)

// runLogBuffer is a bytes.Buffer safe for the logger and the test to share.
type runLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *runLogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *runLogBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestRunStatusShutdown runs `edgevoice run` (simulated board, WAV files, in-process
// emulator), asks it over the control socket with `edgevoice status`, then stops it
// like systemd does and checks the clean shutdown.
func TestRunStatusShutdown(t *testing.T) {
	defer noLeaks(t)()
	dir := t.TempDir()
	sock := filepath.Join(dir, "control.sock")
	cfg := filepath.Join(dir, "run.toml")
	wav, _ := filepath.Abs("assets/question.wav")
	doc := fmt.Sprintf("[appliance]\ncontrol_socket = %q\nmetrics_listen = \"127.0.0.1:0\"\n[board]\nkind = \"sim\"\n[audio]\ninput_file = %q\npace_files = true\noutput_file = %q\n",
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

	var st *control.Status
	deadline := time.Now().Add(10 * time.Second)
	for {
		sctx, scancel := context.WithTimeout(ctx, time.Second)
		s, err := control.Ask(sctx, sock)
		scancel()
		if err == nil && s.Appliance.StateName == "idle" && s.Appliance.Key != nil {
			st = s
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no idle status within 10 s (last error %v)\nlogs:\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.PID != os.Getpid() || len(st.Audio) != 2 || st.Audio[0].Role != "mic" || st.Appliance.Key.Profile != "openai" {
		t.Errorf("status: %+v", st)
	}
	var out, errb bytes.Buffer
	if code := Main(ctx, []string{"status", "-socket", sock}, &cli.Env{Stdout: &out, Stderr: &errb}); code != 0 {
		t.Fatalf("edgevoice status: exit %d: %s", code, errb.String())
	}
	for _, w := range []string{"state:        idle", "key:          openai (ga)", "mic:", "speaker:", "session:      none"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("status output lacks %q:\n%s", w, out.String())
		}
	}

	start := time.Now()
	cancel() // SIGTERM
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("run exited %d\n%s", code, logs.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not stop within 5 s")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("shutdown took %v, want at most 2 s", d)
	}
	for _, w := range []string{"msg=ready", "to=off reason=shutdown", "msg=stopped"} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("logs lack %q:\n%s", w, logs.String())
		}
	}
	if _, err := control.Ask(context.Background(), sock); err == nil {
		t.Error("the control socket still answers after shutdown")
	}
}

// TestRunWithProvisiond is the device setup end to end, without systemd: the emulator as
// the broker, `edgevoice-provisiond provisiond` (in-process) minting keys with the device token and serving them
// on a unix socket, and `edgevoice run` taking its keys from that socket.
func TestRunWithProvisiond(t *testing.T) {
	srv := startEmulator(t)
	dir := t.TempDir()
	cred := filepath.Join(dir, "credential")
	if err := os.WriteFile(cred, []byte(srv.DeviceToken()), 0o600); err != nil {
		t.Fatal(err)
	}
	sock, keys := filepath.Join(dir, "control.sock"), filepath.Join(dir, "keys.sock")
	wav, _ := filepath.Abs("assets/question.wav")
	doc := fmt.Sprintf(`[appliance]
control_socket = %q
[board]
kind = "sim"
[audio]
input_file = %q
output_file = %q
[provisioning]
profile = "broker"
broker_url = %q
credential_file = %q
socket = %q
allowed_users = ["%d"]
[rtc]
loopback_candidates = true
interfaces = ["lo"]
allow_ips = ["127.0.0.0/8"]
`, sock, wav, filepath.Join(dir, "out.wav"), srv.URL(), cred, keys, os.Getuid())
	cfg := filepath.Join(dir, "device.toml")
	if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &runLogBuffer{}
	env := func() *cli.Env {
		return &cli.Env{Stdout: logs, Stderr: logs, Getenv: func(string) string { return "" }}
	}
	provDone, runDone := make(chan int, 1), make(chan int, 1)
	provisiond := &cli.App{Name: "edgevoice-provisiond", Commands: provcmd.Commands()}
	go func() { provDone <- provisiond.Main(ctx, []string{"provisiond", "-config", cfg}, env()) }()
	go func() { runDone <- Main(ctx, []string{"run", "-config", cfg}, env()) }()

	deadline := time.Now().Add(15 * time.Second)
	var st *control.Status
	for {
		sctx, scancel := context.WithTimeout(ctx, time.Second)
		s, err := control.Ask(sctx, sock)
		scancel()
		if err == nil && s.Appliance.StateName == "idle" && s.Appliance.Key != nil && s.Provisioning != nil && s.Provisioning.Status != nil {
			st = s
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the appliance did not get a key from provisiond within 15 s (last %v, %+v)\nlogs:\n%s", err, s, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.Appliance.Key.Profile != "broker" || st.Provisioning.Status.HandedOut < 1 || st.Provisioning.Status.Profile != "broker" {
		t.Errorf("key %+v, provisioning %+v", st.Appliance.Key, st.Provisioning.Status)
	}
	if n := srv.Stats().MintsOK; n < 1 {
		t.Errorf("the emulator minted %d keys", n)
	}
	cancel()
	for _, ch := range []chan int{runDone, provDone} {
		select {
		case code := <-ch:
			if code != 0 {
				t.Errorf("exit %d\n%s", code, logs.String())
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a daemon did not stop within 5 s")
		}
	}
	if strings.Contains(logs.String(), srv.DeviceToken()) {
		t.Error("the device token appears in the logs")
	}
}
