package brokercmd

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

	"github.com/edgevoice/edgevoice/provisioning/keyd"
	"github.com/edgevoice/edgevoice/realtime"

	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/provcmd"
	"github.com/edgevoice/edgevoice/provisioning"
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

var (
	brokerApp = &cli.App{Name: "edgevoice-broker", Commands: Commands()}
	keysApp   = &cli.App{Name: "edgevoice-provisiond", Commands: provcmd.Commands()}
)

func run(ctx context.Context, app *cli.App, args ...string) (int, string, string) {
	var out, errb syncBuffer
	code := app.Main(ctx, args, &cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
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

// TestProvisiondAndBrokerOnLoopback runs edgevoice-broker in front of a fake Azure GA upstream
// and edgevoice-provisiond (from a config file) against the broker, all in-process on loopback.
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
	devices := filepath.Join(dir, "broker.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	code, token, stderr := run(ctx, brokerApp, "device", "add", "-database", devices, "kitchen")
	token = strings.TrimSpace(token)
	if code != 0 || !strings.HasPrefix(token, "evd_") || !strings.Contains(stderr, "shown ONCE") {
		t.Fatalf("device add: %d %q %s", code, token, stderr)
	}
	addr := freePort(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if code, _, stderr := run(ctx, brokerApp, "broker", "-profile", "azure", "-deployment", "dep", "-credential-file", upKey,
			"-mint-url", upstream.URL+"/openai/v1/realtime/client_secrets", "-sdp-url", upstream.URL+"/openai/v1/realtime/calls",
			"-listen", addr, "-database", devices, "-pin-session", "-log-level", "warn"); code != 0 {
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
		if code, _, stderr := run(ctx, keysApp, "provisiond", "-config", cfg, "-log-level", "warn"); code != 0 {
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
	code, out, _ := run(ctx, keysApp, "keys", "-socket", sock, "status")
	if code != 0 || !strings.Contains(out, "profile:    broker") || strings.Contains(out, "ek_upstream") {
		t.Errorf("keys status: %d %s", code, out)
	}

	// installers: check with the right and with a wrong token
	code, out, _ = run(ctx, keysApp, "check", "-profile", "broker", "-broker-url", "http://"+addr, "-credential-file", devTok)
	if code != 0 || !strings.Contains(out, "OK: keys can be minted") || strings.Contains(out, "ek_upstream") {
		t.Errorf("check: %d %s", code, out)
	}
	wrong := write("wrong.token", "evd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", 0o600)
	code, out, _ = run(ctx, keysApp, "check", "-profile", "broker", "-broker-url", "http://"+addr, "-credential-file", wrong)
	if code != 1 || !strings.Contains(out, "HTTP 401") || !strings.Contains(out, "device rotate") {
		t.Errorf("check with a wrong token: %d %s", code, out)
	}
	// a credential file others may read is refused, saying why; the daemon runs on
	// without a usable credential (no-key) instead of exiting into a restart loop
	loose := write("loose.token", token+"\n", 0o644)
	lctx, lcancel := context.WithTimeout(ctx, 5*time.Second)
	code, _, stderr = run(lctx, keysApp, "provisiond", "-profile", "broker", "-broker-url", "http://"+addr, "-credential-file", loose,
		"-socket", filepath.Join(dir, "other.sock"), "-allow-users", "0")
	lcancel()
	if code != 0 || !strings.Contains(stderr, "mode 0644") || !strings.Contains(stderr, "chmod 600") || strings.Contains(stderr, token) {
		t.Errorf("0644 credential: exit %d (want 0: it ran until stopped) %s", code, stderr)
	}

	cancel()
	wg.Wait()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

// TestBrokerNeedsUpstreamProfile: without a [provisioning] profile (the default now: a
// device that is not set up) the broker refuses to start and says what to set.
func TestBrokerNeedsUpstreamProfile(t *testing.T) {
	code, _, stderr := run(context.Background(), brokerApp, "broker", "-config", "", "-listen", "127.0.0.1:0")
	if code == 0 || !strings.Contains(stderr, "[provisioning] profile is not set") {
		t.Errorf("broker without a profile: exit %d, stderr %q", code, stderr)
	}
}
