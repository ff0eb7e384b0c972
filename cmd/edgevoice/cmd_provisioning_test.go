package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/provisioning/keyd"
	"github.com/edgevoice/edgevoice/realtime"
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

func runCmd(ctx context.Context, args ...string) (int, string, string) {
	var out, errb syncBuffer
	code := Main(ctx, args, &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	return code, out.String(), errb.String()
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestProvisiondAndBrokerOnLoopback runs the broker in front of a fake Azure GA upstream
// and provisiond (from a config file) against the broker, all in-process on loopback.
func TestProvisiondAndBrokerOnLoopback(t *testing.T) {
	dir := t.TempDir()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/openai/v1/realtime/client_secrets" || r.Header.Get("api-key") != "upstream-secret-key" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":{"message":"Access denied","type":"invalid_request_error"}}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"value": "ek_upstream_0123456789", "expires_at": time.Now().Add(10 * time.Minute).Unix(),
			"session": map[string]any{"type": "realtime"}})
	}))
	defer upstream.Close()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	upKey := write("upstream.key", "upstream-secret-key\n", 0o600)
	devices := filepath.Join(dir, "devices")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	code, token, stderr := runCmd(ctx, "broker", "add-device", "-devices", devices, "kitchen")
	token = strings.TrimSpace(token)
	if code != 0 || !strings.HasPrefix(token, "evd_") || !strings.Contains(stderr, "shown ONCE") {
		t.Fatalf("add-device: %d %q %s", code, token, stderr)
	}
	addr := freePort(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if code, _, stderr := runCmd(ctx, "broker", "-profile", "azure", "-deployment", "dep", "-credential-file", upKey,
			"-mint-url", upstream.URL+"/openai/v1/realtime/client_secrets", "-sdp-url", upstream.URL+"/openai/v1/realtime/calls",
			"-listen", addr, "-devices", devices, "-pin-session", "-log-level", "warn"); code != 0 {
			t.Errorf("broker exited %d: %s", code, stderr)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("broker did not come up")
		}
		time.Sleep(10 * time.Millisecond)
	}

	devTok := write("device.token", token+"\n", 0o600)
	sock := filepath.Join(dir, "keys.sock")
	cfg := write("edgevoice.toml", fmt.Sprintf(`
[provisioning]
profile = "broker"
broker_url = "http://%s"
credential_file = %q
policy = "prefetch"
min_validity = "30s"
socket = %q
socket_group = ""
allowed_users = ["%d"]
`, addr, devTok, sock, os.Getuid()), 0o644)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if code, _, stderr := runCmd(ctx, "provisiond", "-config", cfg, "-log-level", "warn"); code != 0 {
			t.Errorf("provisiond exited %d: %s", code, stderr)
		}
	}()
	c := keyd.NewClient(sock)
	deadline = time.Now().Add(10 * time.Second)
	for {
		st, err := c.Status(ctx)
		if err == nil && st.KeyReady {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no key ready: %+v %v", st, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	k, err := c.Get(ctx, 30*time.Second)
	if err != nil || k.Value != "ek_upstream_0123456789" || k.Profile != provisioning.ProfileBroker ||
		k.SDPURL != upstream.URL+"/openai/v1/realtime/calls" || k.Dialect != realtime.DialectGA {
		t.Errorf("key via socket: %v %v", k, err)
	}
	code, out, _ := runCmd(ctx, "keys", "-socket", sock, "status")
	if code != 0 || !strings.Contains(out, "profile:    broker") || strings.Contains(out, "ek_upstream") {
		t.Errorf("keys status: %d %s", code, out)
	}

	// installers: check with the right and with a wrong token
	code, out, _ = runCmd(ctx, "check", "-profile", "broker", "-broker-url", "http://"+addr, "-credential-file", devTok)
	if code != 0 || !strings.Contains(out, "OK: keys can be minted") || strings.Contains(out, "ek_upstream") {
		t.Errorf("check: %d %s", code, out)
	}
	wrong := write("wrong.token", "evd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", 0o600)
	code, out, _ = runCmd(ctx, "check", "-profile", "broker", "-broker-url", "http://"+addr, "-credential-file", wrong)
	if code != 1 || !strings.Contains(out, "HTTP 401") || !strings.Contains(out, "add-device") {
		t.Errorf("check with a wrong token: %d %s", code, out)
	}
	// a credential file others may read is refused, saying why
	loose := write("loose.token", token+"\n", 0o644)
	code, _, stderr = runCmd(ctx, "provisiond", "-profile", "broker", "-broker-url", "http://"+addr, "-credential-file", loose,
		"-socket", filepath.Join(dir, "other.sock"), "-allow-users", "0")
	if code != 1 || !strings.Contains(stderr, "mode 0644") || strings.Contains(stderr, token) {
		t.Errorf("0644 credential: %d %s", code, stderr)
	}

	cancel()
	wg.Wait()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

func TestProvisioningConfigValidate(t *testing.T) {
	var c provisioningConfig
	c.setDefaults()
	if err := c.validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		mod  func(*provisioningConfig)
		want string
	}{
		{func(c *provisioningConfig) { c.Profile = "azure-ga" }, "profile"},
		{func(c *provisioningConfig) { c.Region = "westeurope" }, "eastus2, swedencentral"},
		{func(c *provisioningConfig) { c.Policy = "lazy" }, "policy"},
		{func(c *provisioningConfig) { c.BrokerURL = "keys.example.com" }, "broker_url"},
		{func(c *provisioningConfig) { c.BackoffMax = duration(time.Millisecond) }, "backoff_max"},
		{func(c *provisioningConfig) { c.RejectedRetry = duration(time.Second) }, "rejected_retry"},
		{func(c *provisioningConfig) { c.Profile, c.Auth = "azure-preview", "bearer" }, "api-key"},
		{func(c *provisioningConfig) { c.AllowedUsers = []string{} }, "allowed_users"},
	} {
		var c provisioningConfig
		c.setDefaults()
		tc.mod(&c)
		if err := c.validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error about %q, got %v", tc.want, err)
		}
	}
	var b brokerConfig
	b.setDefaults()
	if err := b.validate(); err != nil {
		t.Fatalf("broker defaults: %v", err)
	}
	b.Listen = "8080"
	if err := b.validate(); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("bad listen: %v", err)
	}
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
