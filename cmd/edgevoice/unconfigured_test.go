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

	"github.com/edgevoice/edgevoice/appliance"
	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/control"
	"github.com/edgevoice/edgevoice/internal/provcmd"
	"github.com/edgevoice/edgevoice/provisioning"
)

// TestStatusLine: the Status= line names what to do while the device is not set up, and
// points at the key daemon when its socket does not answer.
func TestStatusLine(t *testing.T) {
	const sock = "/run/edgevoice/keys.sock"
	for _, tc := range []struct {
		st     appliance.Status
		reason string
		want   []string
		not    []string
	}{
		{appliance.Status{State: appliance.NoKey, StateName: "no-key", Setup: appliance.SetupNoCredential, Detail: "keyd: no_credential"}, "re-check failed (start)",
			[]string{"no-key: no credential", "`sudo install -m 0600 -o edgevoice-keys -g edgevoice-keys /dev/stdin /etc/edgevoice/credential`", "Ctrl-D"}, []string{"offline"}},
		{appliance.Status{State: appliance.NoKey, StateName: "no-key", Setup: appliance.SetupNotConfigured}, "re-check failed (start)",
			[]string{"no-key: the key daemon has no [provisioning] profile", "/etc/edgevoice/edgevoice.toml.d/", "sudo systemctl reload edgevoice-provisioning",
				"credential goes in /etc/edgevoice/credential"}, nil},
		{appliance.Status{State: appliance.Offline, StateName: "offline", Detail: "dial unix " + sock + ": connect: no such file or directory"}, "re-check failed (start)",
			[]string{"offline (re-check failed (start)): dial unix", "systemctl status edgevoice-provisioning"}, nil},
		{appliance.Status{State: appliance.NoKey, StateName: "no-key", Detail: "keyd: credential_rejected: 401"}, "connect failed",
			[]string{"no-key (connect failed): keyd: credential_rejected: 401"}, []string{"systemctl status"}},
		{appliance.Status{State: appliance.Idle, StateName: "idle"}, "started", []string{"idle (started)"}, []string{":"}},
	} {
		got := statusLine(tc.st, tc.reason, sock)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("status line %q lacks %q", got, w)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(got, w) {
				t.Errorf("status line %q has %q", got, w)
			}
		}
	}
}

// TestRunUnconfigured is lab scenario 1 without systemd: the shipped conffile (no board,
// no profile) plus a drop-in that only points both daemons at test paths and a broker
// profile whose credential file is missing. The key daemon runs (no-credential), `edgevoice
// run` runs without a board, shows no-key with the install command as its Status= line,
// and keeps the audio devices closed (its WAV output file is not created); once the
// credential is put in place, a re-check gets a key: idle, audio open, no restart.
func TestRunUnconfigured(t *testing.T) {
	srv := startEmulator(t)
	dir := t.TempDir()
	ns := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: ns, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", ns)

	shipped, err := os.ReadFile("../../configs/edgevoice.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "edgevoice.toml")
	if err := os.WriteFile(cfg, shipped, 0o644); err != nil {
		t.Fatal(err)
	}
	cred := filepath.Join(dir, "credential")
	sock, keys, out := filepath.Join(dir, "control.sock"), filepath.Join(dir, "keys.sock"), filepath.Join(dir, "out.wav")
	wav, _ := filepath.Abs("assets/question.wav")
	drop := fmt.Sprintf(`[appliance]
control_socket = %q
[audio]
input_file = %q
output_file = %q
[provisioning]
profile = "broker"
broker_url = %q
credential_file = %q
socket = %q
allowed_users = ["%d"]
`, sock, wav, out, srv.URL(), cred, keys, os.Getuid())
	if err := os.Mkdir(cfg+".d", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg+".d", "50-test.toml"), []byte(drop), 0o644); err != nil {
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

	// READY (from both daemons; the appliance's may say offline if it came before the key
	// daemon's socket), then the appliance's Status= line with the install command.
	var msgs []string
	buf := make([]byte, 4096)
	if err := conn.SetReadDeadline(time.Now().Add(15 * time.Second)); err != nil {
		t.Fatal(err)
	}
	ready := func() int {
		n := 0
		for _, m := range msgs {
			if strings.HasPrefix(m, "READY=1") {
				n++
			}
		}
		return n
	}
	for ready() < 2 || !strings.Contains(strings.Join(msgs, "|"), "STATUS=no-key: no credential; install it with `"+provisioning.InstallCredentialCommand) {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no READY with the no-credential status line (got %q): %v\nlogs:\n%s", msgs, err, logs.String())
		}
		msgs = append(msgs, string(buf[:n]))
	}
	// From now on drop what the daemons tell systemd, as systemd reads it: a notify
	// socket nobody reads blocks the senders once 10 datagrams are queued.
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
		}
	}()
	defer func() { conn.Close(); <-drained }()
	st, err := control.Ask(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	if st.Appliance.StateName != "no-key" || st.Appliance.Setup != appliance.SetupNoCredential || len(st.Audio) != 2 || !strings.HasPrefix(st.Audio[0].State, "closed") {
		t.Errorf("status before setup: %+v, audio %+v", st.Appliance, st.Audio)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the audio output was opened before the device was set up (%v)", err)
	}

	// The admin installs the credential: the next re-check (1 s, 2 s, 4 s... after the
	// first) gets a key, without a restart.
	if err := os.WriteFile(cred, []byte(srv.DeviceToken()), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		sctx, scancel := context.WithTimeout(ctx, time.Second)
		s, err := control.Ask(sctx, sock)
		scancel()
		if err == nil && s.Appliance.StateName == "idle" && s.Appliance.Key != nil && s.Audio[1].Device != "" {
			st = s
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not idle with a key and open audio within 20 s of the credential (last %v, %+v)\nlogs:\n%s", err, s, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("the audio output is not open once set up: %v", err)
	}
	if !strings.Contains(logs.String(), "no board configured") {
		t.Errorf("the log does not say there is no board:\n%s", logs.String())
	}
	cancel()
	for _, ch := range []chan int{runDone, provDone} {
		select {
		case code := <-ch:
			if code != 0 {
				t.Errorf("exit %d\n%s", code, logs.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a daemon did not stop within 10 s")
		}
	}
	if strings.Contains(logs.String(), srv.DeviceToken()) {
		t.Error("the device token appears in the logs")
	}
}
