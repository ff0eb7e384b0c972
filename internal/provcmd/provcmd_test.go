package provcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/provisioning/keyd"
)

// syncBuffer is a bytes.Buffer safe for a command running in another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// app is edgevoice-provisiond's command table.
var app = &cli.App{Name: "edgevoice-provisiond", Commands: Commands()}

func runCmd(ctx context.Context, args ...string) (int, string, string) {
	var out, errb syncBuffer
	code := app.Main(ctx, args, &cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	return code, out.String(), errb.String()
}

// TestProvisiondNotifiesSystemd checks READY=1 (after the first key), STATUS= lines
// without the key, and watchdog pings, on a NOTIFY_SOCKET like systemd's.
func TestProvisiondNotifiesSystemd(t *testing.T) {
	dir := t.TempDir()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"value": "ek_notify_test_0123456789", "expires_at": time.Now().Add(10 * time.Minute).Unix()})
	}))
	defer upstream.Close()
	nsPath := filepath.Join(dir, "notify.sock")
	ns, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: nsPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	t.Setenv("NOTIFY_SOCKET", nsPath)
	t.Setenv("WATCHDOG_USEC", "200000")
	t.Setenv("WATCHDOG_PID", "")
	cred := filepath.Join(dir, "key")
	os.WriteFile(cred, []byte("sk-test\n"), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		code, _, _ := runCmd(ctx, "provisiond", "-profile", "openai", "-mint-url", upstream.URL+"/v1/realtime/client_secrets",
			"-credential-file", cred, "-socket", filepath.Join(dir, "keys.sock"), "-allow-users", fmt.Sprint(os.Getuid()), "-log-level", "error")
		done <- code
	}()
	var msgs []string
	seen := func(prefix string) bool {
		for _, m := range msgs {
			if strings.HasPrefix(m, prefix) {
				return true
			}
		}
		return false
	}
	buf := make([]byte, 4096)
	ns.SetReadDeadline(time.Now().Add(10 * time.Second))
	for !(seen("READY=1") && seen("WATCHDOG=1") && seen("STATUS=ready")) {
		n, err := ns.Read(buf)
		if err != nil {
			t.Fatalf("notify messages so far %q: %v", msgs, err)
		}
		msgs = append(msgs, string(buf[:n]))
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("provisiond exited %d", code)
	}
	for i, m := range msgs {
		if strings.Contains(m, "ek_notify") {
			t.Errorf("notify message leaks the key: %q", m)
		}
		if m == "READY=1" && (i == 0 || !strings.HasPrefix(msgs[i-1], "STATUS=ready")) {
			t.Errorf("READY before the first key: %q", msgs)
		}
	}
}

// TestCheckRefusesKeyAsCredentialFile: a key pasted where the credential file's path
// belongs is refused at the config step, and never printed.
func TestCheckRefusesKeyAsCredentialFile(t *testing.T) {
	const secret = "sk-proj-Zyxwvutsrqponmlkjihgfedcba9876543210"
	for _, cmd := range []string{"check", "provisiond"} {
		code, out, stderr := runCmd(context.Background(), cmd, "-config", "", "-profile", "openai", "-credential-file", secret)
		if code != 1 || !strings.Contains(stderr, `key "provisioning.credential_file": holds what looks like a key`) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", cmd, code, out, stderr)
		}
		if strings.Contains(out+stderr, "Zyxwvuts") {
			t.Errorf("%s echoes the key: %s%s", cmd, out, stderr)
		}
	}
}

// TestFlagsLoad: -config, $EDGEVOICE_CONFIG and a missing default file.
func TestFlagsLoad(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "e.toml")
	if err := os.WriteFile(cfg, []byte("[provisioning]\nbroker_url = \"https://keys.example.com\"\npolicy = \"on-demand\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	load := func(env map[string]string, args ...string) (string, string, error) {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		e := &cli.Env{Getenv: func(k string) string { return env[k] }}
		var f Flags
		f.Register(fs, e, true)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		c, from, err := f.Load(e)
		if err != nil {
			return "", from, err
		}
		return c.Provisioning.Policy, from, nil
	}
	if p, from, err := load(map[string]string{"EDGEVOICE_CONFIG": cfg}); err != nil || p != "on-demand" || from != cfg {
		t.Errorf("from EDGEVOICE_CONFIG: policy %q from %q, %v", p, from, err)
	}
	if p, _, err := load(map[string]string{"EDGEVOICE_CONFIG": cfg}, "-policy", "prefetch"); err != nil || p != "prefetch" {
		t.Errorf("a flag over the file: policy %q, %v", p, err)
	}
	if p, from, err := load(map[string]string{"EDGEVOICE_CONFIG": cfg}, "-config", ""); err != nil || p != "prefetch" || !strings.Contains(from, "no config file") {
		t.Errorf("-config \"\": policy %q from %q, %v", p, from, err)
	}
	if _, _, err := load(map[string]string{"EDGEVOICE_CONFIG": filepath.Join(dir, "missing.toml")}); err == nil {
		t.Error("a missing $EDGEVOICE_CONFIG file was ignored")
	}
	if _, _, err := load(nil, "-config", "", "-policy", "lazy"); err == nil || !strings.Contains(err.Error(), `key "provisioning.policy"`) {
		t.Errorf("a bad flag value: %v", err)
	}
}

// TestConfigMirrorsProvisioning: internal/config imports no library, so it names the
// profiles, regions, socket and defaults itself; they must be provisioning's.
func TestConfigMirrorsProvisioning(t *testing.T) {
	if !slices.Equal(config.Profiles, provisioning.Profiles) || !slices.Equal(config.PreviewRegions, provisioning.PreviewRegions) {
		t.Errorf("profiles %v / %v, regions %v / %v", config.Profiles, provisioning.Profiles, config.PreviewRegions, provisioning.PreviewRegions)
	}
	if config.DefaultKeySocket != keyd.DefaultSocketPath || config.ProfileBroker != provisioning.ProfileBroker {
		t.Errorf("socket %q / %q", config.DefaultKeySocket, keyd.DefaultSocketPath)
	}
	p := config.Default().Provisioning
	for _, d := range []struct {
		name      string
		got, want time.Duration
	}{
		{"min_validity", p.MinValidity.D(), keyd.DefaultMinValidity},
		{"backoff_min", p.BackoffMin.D(), keyd.DefaultBackoffMin},
		{"backoff_max", p.BackoffMax.D(), keyd.DefaultBackoffMax},
		{"rejected_retry", p.RejectedRetry.D(), keyd.DefaultRejectedRetry},
		{"request_timeout", p.RequestTimeout.D(), provisioning.DefaultRequestTimeout},
	} {
		if d.got != d.want {
			t.Errorf("default %s: config %v, provisioning %v", d.name, d.got, d.want)
		}
	}
	for _, s := range []string{"api-key", "bearer"} {
		if _, err := provisioning.ParseAuthMode(s); err != nil {
			t.Errorf("auth %q: %v", s, err)
		}
	}
	for _, s := range []string{"prefetch", "on-demand"} {
		if _, err := keyd.ParsePolicy(s); err != nil {
			t.Errorf("policy %q: %v", s, err)
		}
	}
}

// TestCheckFindsDefaultCredential is the fresh-install fault (issue 11): the shipped
// config leaves credential_file empty, and nothing looked at /etc/edgevoice/credential,
// so `edgevoice-provisiond check` failed. Now the default file is found (a temporary
// one here, not the real /etc), and with no credential anywhere the failure names
// every place looked at.
func TestCheckFindsDefaultCredential(t *testing.T) {
	dir := t.TempDir()
	def := filepath.Join(dir, "credential")
	old := defaultCredentialFile
	defaultCredentialFile = def
	t.Cleanup(func() { defaultCredentialFile = old })
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sk-default-file" {
			http.Error(w, "bad key", http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"value": "ek_check_default_0123456789", "expires_at": time.Now().Add(10 * time.Minute).Unix()})
	}))
	defer upstream.Close()
	args := []string{"check", "-config", "", "-profile", "openai", "-mint-url", upstream.URL + "/v1/realtime/client_secrets"}

	code, out, stderr := runCmd(context.Background(), args...)
	if code != 1 || !strings.Contains(out, "credential     FAILED") || !strings.Contains(out, def+" (does not exist)") ||
		!strings.Contains(out, "$CREDENTIALS_DIRECTORY (not set") {
		t.Errorf("no credential anywhere: exit %d, stdout %q, stderr %q", code, out, stderr)
	}

	os.WriteFile(def, []byte("sk-default-file\n"), 0o600)
	code, out, stderr = runCmd(context.Background(), args...)
	if code != 0 || !strings.Contains(out, "credential     ok: "+def) || !strings.Contains(out, "OK: keys can be minted") {
		t.Errorf("credential in the default file: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if strings.Contains(out+stderr, "sk-default-file") || strings.Contains(out+stderr, "ek_check_default_0123456789") {
		t.Errorf("check prints a secret: %s%s", out, stderr)
	}
}

// TestProvisiondWithoutCredential is an installed device not set up yet (issue 11, issue
// 12 scenario 1): the key daemon used to exit ("no credential"), so the appliance found
// no key socket and showed offline. Now it keeps running, reports ready with a Status=
// line and a journal warning that say what to do, answers key requests with
// no_credential (no-key on the appliance), and picks up a credential put in the default
// place at the next request, without a restart.
func TestProvisiondWithoutCredential(t *testing.T) {
	testProvisiondNoUsableCredential(t, nil, "level=WARN msg=\"no credential: run `"+provisioning.InstallCredentialCommand+"`", def0+" (does not exist)")
}

// def0 stands for the default credential path in the wanted log text.
const def0 = "\x00def"

// TestProvisiondUnusableCredential: a credential file the daemon may not use (here:
// readable by others) does not end the daemon (systemd would restart it in a loop): it
// runs on in no-credential, says how to fix the file, and uses it once it is fixed.
func TestProvisiondUnusableCredential(t *testing.T) {
	testProvisiondNoUsableCredential(t, func(def string) {
		if err := os.WriteFile(def, []byte("sk-too-open\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(def, 0o644); err != nil {
			t.Fatal(err)
		}
	}, "level=ERROR msg=\"no credential; keys cannot be minted", "mode 0644: group or others may access it", "chmod 600 "+def0)
}

func testProvisiondNoUsableCredential(t *testing.T, setup func(def string), wantLog ...string) {
	dir := t.TempDir()
	def := filepath.Join(dir, "credential")
	if setup != nil {
		setup(def)
	}
	old := defaultCredentialFile
	defaultCredentialFile = def
	t.Cleanup(func() { defaultCredentialFile = old })
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"value": "ek_nocred_test_0123456789", "expires_at": time.Now().Add(10 * time.Minute).Unix()})
	}))
	defer upstream.Close()
	nsPath := filepath.Join(dir, "notify.sock")
	ns, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: nsPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	t.Setenv("NOTIFY_SOCKET", nsPath)
	sock := filepath.Join(dir, "keys.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- app.Main(ctx, []string{"provisiond", "-config", "", "-profile", "openai", "-mint-url", upstream.URL + "/v1/realtime/client_secrets",
			"-socket", sock, "-allow-users", fmt.Sprint(os.Getuid()), "-log-level", "info"},
			&cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	}()
	var msgs []string
	buf := make([]byte, 4096)
	ns.SetReadDeadline(time.Now().Add(10 * time.Second))
	for !slices.ContainsFunc(msgs, func(m string) bool { return strings.HasPrefix(m, "READY=1") }) {
		n, err := ns.Read(buf)
		if err != nil {
			select {
			case code := <-done:
				t.Fatalf("provisiond exited %d without a credential; stderr:\n%s", code, errb.String())
			default:
			}
			t.Fatalf("no READY=1 (messages %q): %v; stderr:\n%s", msgs, err, errb.String())
		}
		msgs = append(msgs, string(buf[:n]))
	}
	ready := msgs[len(msgs)-1]
	drainNotify(t, ns)
	for _, w := range []string{"STATUS=no-credential", "sudo install -m 0600 -o edgevoice-keys -g edgevoice-keys /dev/stdin " + provisioning.DefaultCredentialFile, "without a restart"} {
		if !strings.Contains(ready, w) {
			t.Errorf("READY message %q lacks %q", ready, w)
		}
	}
	for _, w := range wantLog {
		if l := errb.String(); !strings.Contains(l, strings.ReplaceAll(w, def0, def)) {
			t.Errorf("the log does not say %q (what to do, where it looked):\n%s", w, l)
		}
	}

	c := keyd.NewClient(sock)
	for range 3 {
		if _, err := c.Get(ctx, 30*time.Second); !errors.Is(err, provisioning.ErrNoCredential) {
			t.Fatalf("get without a credential: %v, want no_credential", err)
		}
	}
	// Said once, not at every request (the appliance re-checks up to every 30 s).
	if n := strings.Count(errb.String(), "no credential; keys cannot be minted"); n != 1 {
		t.Errorf("the no-credential error was logged %d times, want once:\n%s", n, errb.String())
	}
	os.Remove(def)
	os.WriteFile(def, []byte("sk-now-configured\n"), 0o600)
	if k, err := c.Get(ctx, 30*time.Second); err != nil || k.Value != "ek_nocred_test_0123456789" {
		t.Fatalf("get after the credential was put in place: %v", err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("provisiond exited %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("provisiond did not stop")
	}
	if l := errb.String() + out.String(); strings.Contains(l, "sk-now-configured") || strings.Contains(l, "sk-too-open") {
		t.Error("the credential reached the log")
	}
}

// TestProvisiondNotConfiguredThenReload: with the shipped conffile (no profile) the key
// daemon runs, reports ready with a Status= line that says what to set, answers
// not_configured; a drop-in that sets the profile and a SIGHUP (systemctl reload) make
// the next request get a key, without a restart.
func TestProvisiondNotConfiguredThenReload(t *testing.T) {
	dir := t.TempDir()
	shipped, err := os.ReadFile("../../configs/edgevoice.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "edgevoice.toml")
	if err := os.WriteFile(cfg, shipped, 0o644); err != nil {
		t.Fatal(err)
	}
	cred := filepath.Join(dir, "credential")
	if err := os.WriteFile(cred, []byte("sk-reload-test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"value": "ek_reload_test_0123456789", "expires_at": time.Now().Add(10 * time.Minute).Unix()})
	}))
	defer upstream.Close()
	nsPath := filepath.Join(dir, "notify.sock")
	ns, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: nsPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	t.Setenv("NOTIFY_SOCKET", nsPath)
	sock := filepath.Join(dir, "keys.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- app.Main(ctx, []string{"provisiond", "-config", cfg, "-socket", sock, "-allow-users", fmt.Sprint(os.Getuid()), "-log-level", "info"},
			&cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	}()
	var msgs []string
	buf := make([]byte, 4096)
	ns.SetReadDeadline(time.Now().Add(10 * time.Second))
	for !slices.ContainsFunc(msgs, func(m string) bool { return strings.HasPrefix(m, "READY=1") }) {
		n, err := ns.Read(buf)
		if err != nil {
			select {
			case code := <-done:
				t.Fatalf("provisiond exited %d without a profile; stderr:\n%s", code, errb.String())
			default:
			}
			t.Fatalf("no READY=1 (messages %q): %v; stderr:\n%s", msgs, err, errb.String())
		}
		msgs = append(msgs, string(buf[:n]))
	}
	ready := msgs[len(msgs)-1]
	drainNotify(t, ns)
	for _, w := range []string{"STATUS=not-configured (no profile", "set [provisioning] profile in a drop-in in /etc/edgevoice/edgevoice.toml.d/", "sudo systemctl reload edgevoice-provisioning", provisioning.InstallCredentialCommand} {
		if !strings.Contains(ready, w) {
			t.Errorf("READY message %q lacks %q", ready, w)
		}
	}
	c := keyd.NewClient(sock)
	if _, err := c.Get(ctx, 30*time.Second); !errors.Is(err, provisioning.ErrNotConfigured) {
		t.Fatalf("get without a profile: %v, want not_configured", err)
	}
	// The README's step: a drop-in sets the profile; then systemctl reload (SIGHUP).
	if err := os.Mkdir(cfg+".d", 0o755); err != nil {
		t.Fatal(err)
	}
	drop := fmt.Sprintf("[provisioning]\nprofile = \"openai\"\nmint_url = %q\ncredential_file = %q\n", upstream.URL+"/v1/realtime/client_secrets", cred)
	if err := os.WriteFile(filepath.Join(cfg+".d", "20-provisioning.toml"), []byte(drop), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		k, err := c.Get(ctx, 30*time.Second)
		if err == nil {
			if k.Value != "ek_reload_test_0123456789" {
				t.Errorf("key %q", k.Value)
			}
			break
		}
		if !errors.Is(err, provisioning.ErrNotConfigured) || time.Now().After(deadline) {
			t.Fatalf("get after the reload: %v; stderr:\n%s", err, errb.String())
		}
		time.Sleep(20 * time.Millisecond) // the signal is handled by the daemon's goroutine
	}
	if l := errb.String(); !strings.Contains(l, "reload (SIGHUP): [provisioning] applied") {
		t.Errorf("the log does not say the reload applied the profile:\n%s", l)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("provisiond exited %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("provisiond did not stop")
	}
	if l := errb.String() + out.String(); strings.Contains(l, "sk-reload-test") {
		t.Error("the credential reached the log")
	}
}

// drainNotify reads (and drops) what is sent to the notify socket from now on, as systemd
// does: a datagram socket nobody reads blocks the sender once its queue (10 datagrams)
// is full. The reader stops when the test ends (ns closed) and is joined.
func drainNotify(t *testing.T, ns *net.UnixConn) {
	t.Helper()
	if err := ns.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			if _, err := ns.Read(buf); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { ns.Close(); <-done })
}
