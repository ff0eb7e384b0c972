package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/appliance"
	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/control"
)

func TestSetupFaultLine(t *testing.T) {
	st := appliance.Status{State: appliance.Error, StateName: "error", Setup: appliance.SetupFault, SetupFile: "/run/edgevoice-setup/status",
		SetupErrors: []string{"/boot/firmware/wifi.toml:3:1: country is missing", "/boot/firmware/wifi.toml: not applied", "/boot/firmware/hostname:1:1: bad"}}
	got := statusLine(st, "setup start", "")
	for _, w := range []string{"error: setup fault: /boot/firmware/wifi.toml:3:1: country is missing", "(+1 more)", "reboot", "journalctl -u edgevoice-firstboot"} {
		if !strings.Contains(got, w) {
			t.Errorf("status line %q lacks %q", got, w)
		}
	}
	var b bytes.Buffer
	printSetupFault(&b, st)
	for _, w := range append(st.SetupErrors, st.SetupFile, "RASPIFIRM") {
		if !strings.Contains(b.String(), w) {
			t.Errorf("edgevoice status lacks %q:\n%s", w, b.String())
		}
	}
}

// TestRunSetupFault: `edgevoice run` with a first-boot status file that reports a
// mistake shows the setup fault (state error, Status.Setup "setup", the Status= line and
// `edgevoice status` name the file and what to do) although it has a key; after the
// file says ok, a SIGHUP (systemctl reload) clears it.
func TestRunSetupFault(t *testing.T) {
	defer noLeaks(t)()
	dir := t.TempDir()
	ns := listenNotify(t, dir)
	defer ns.close()
	sock, cfg, status := filepath.Join(dir, "control.sock"), filepath.Join(dir, "run.toml"), filepath.Join(dir, "setup-status")
	bad := `/boot/firmware/edgevoice.toml:2:1: unknown key "tlak_mode" in [appliance]`
	if err := os.WriteFile(status, []byte("state=error\ntime=t\nerror="+bad+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
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
		done <- Main(ctx, []string{"run", "-config", cfg, "-emulator", "-setup-status", status}, &cli.Env{Stdout: logs, Stderr: logs, Getenv: func(string) string { return "" }})
	}()
	wait := func(what string, ok func(*control.Status) bool) *control.Status {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			sctx, scancel := context.WithTimeout(ctx, time.Second)
			s, err := control.Ask(sctx, sock)
			scancel()
			if err == nil && ok(s) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("not %s within 15 s (last %v, %+v)\nlogs:\n%s", what, err, s, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	st := wait("error with a setup fault and a key", func(s *control.Status) bool {
		return s.Appliance.StateName == "error" && s.Appliance.Setup == appliance.SetupFault && s.Appliance.Key != nil
	})
	if len(st.Appliance.SetupErrors) != 1 || st.Appliance.SetupErrors[0] != bad || st.Appliance.SetupFile != status {
		t.Errorf("setup errors %q from %q", st.Appliance.SetupErrors, st.Appliance.SetupFile)
	}
	var out, errb bytes.Buffer
	if code := Main(ctx, []string{"status", "-socket", sock}, &cli.Env{Stdout: &out, Stderr: &errb}); code != 0 {
		t.Fatalf("edgevoice status: exit %d: %s", code, errb.String())
	}
	for _, w := range []string{"state:        error", "setup:        fault", bad, status, "reboot"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("edgevoice status lacks %q:\n%s", w, out.String())
		}
	}
	if got := ns.waitFor(t, "STATUS=error: setup fault: "+bad); !strings.Contains(got, "journalctl -u edgevoice-firstboot") {
		t.Errorf("Status= line %q does not say where the details are", got)
	}
	// READY=1 comes with a Status= line too; it must not hide the fault
	if got := ns.waitFor(t, "READY=1"); !strings.Contains(got, "STATUS=error: setup fault: "+bad) {
		t.Errorf("READY=1 with %q: the setup fault is no longer in view", got)
	}
	if !strings.Contains(logs.String(), "setup fault") || !strings.Contains(logs.String(), "tlak_mode") {
		t.Errorf("the log does not report the setup fault:\n%s", logs.String())
	}

	if err := os.WriteFile(status, []byte("state=ok\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	wait("idle after the fix and a SIGHUP", func(s *control.Status) bool {
		return s.Appliance.StateName == "idle" && s.Appliance.Setup == "" && len(s.Appliance.SetupErrors) == 0
	})
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d\n%s", code, logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop within 10 s")
	}
}

// notifyRec reads what the process tells systemd on NOTIFY_SOCKET (as systemd does: a
// socket nobody reads would block the sender).
type notifyRec struct {
	conn *net.UnixConn
	mu   sync.Mutex
	msgs []string
	poke chan struct{}
	done chan struct{}
}

func listenNotify(t *testing.T, dir string) *notifyRec {
	t.Helper()
	path := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("NOTIFY_SOCKET", path)
	r := &notifyRec{conn: conn, poke: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			r.mu.Lock()
			r.msgs = append(r.msgs, string(buf[:n]))
			r.mu.Unlock()
			select {
			case r.poke <- struct{}{}:
			default:
			}
		}
	}()
	return r
}

// waitFor returns the first message containing want, waiting up to 15 s.
func (r *notifyRec) waitFor(t *testing.T, want string) string {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		r.mu.Lock()
		for _, m := range r.msgs {
			if strings.Contains(m, want) {
				r.mu.Unlock()
				return m
			}
		}
		msgs := append([]string(nil), r.msgs...)
		r.mu.Unlock()
		select {
		case <-r.poke:
		case <-deadline:
			t.Fatalf("no notify message with %q; got %q", want, msgs)
		}
	}
}

func (r *notifyRec) close() { r.conn.Close(); <-r.done }
