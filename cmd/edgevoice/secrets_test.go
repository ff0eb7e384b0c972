package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/internal/brokercmd"
	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/control"
	"github.com/edgevoice/edgevoice/internal/provcmd"
)

// Marker secrets of the secrets test; the device token and the minted keys are added
// as they are made.
const (
	markUpstream = "sk-MARKERUPSTREAMKEY0123456789"
	markQuery    = "MARKERQUERYSECRET4711"
	markSDPQuery = "MARKERSDPSECRET0815"
	markURLPass  = "MARKERURLPASSWORD42"
)

// echoProxy forwards to target, or, while echo is set, answers 401 with an error body
// that reflects every secret of the request (headers, query), as some backends do.
// rewriteAuth replaces the Authorization header when forwarding (the emulator's own
// API key stands in for the upstream credential). minted collects the "value" of every
// answer that has one (the ephemeral keys). sdpEcho answers the first n SDP exchanges
// with a 500 that reflects the key.
type echoProxy struct {
	srv         *httptest.Server
	target      atomic.Pointer[url.URL]
	echo        atomic.Bool
	sdpEcho     atomic.Int64
	sdpPassed   atomic.Int64
	rewriteAuth string
	mu          sync.Mutex
	minted      []string
}

func newEchoProxy(t *testing.T) *echoProxy {
	p := &echoProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *echoProxy) reflect(w http.ResponseWriter, r *http.Request, status int) {
	msg := fmt.Sprintf("invalid key %q (api-key %q) for %s", r.Header.Get("Authorization"), r.Header.Get("api-key"), r.URL.RequestURI())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error"}})
}

func (p *echoProxy) serve(w http.ResponseWriter, r *http.Request) {
	sdp := strings.HasSuffix(r.URL.Path, "/calls")
	if sdp && p.sdpEcho.Add(-1) >= 0 {
		p.reflect(w, r, http.StatusInternalServerError)
		return
	}
	if !sdp && p.echo.Load() {
		p.reflect(w, r, http.StatusUnauthorized)
		return
	}
	target := p.target.Load()
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.RawQuery = "" // the marker query secrets stop here
			if p.rewriteAuth != "" {
				pr.Out.Header.Set("Authorization", "Bearer "+p.rewriteAuth)
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(b))
			var v struct {
				Value string `json:"value"`
			}
			if json.Unmarshal(b, &v) == nil && v.Value != "" {
				p.mu.Lock()
				p.minted = append(p.minted, v.Value)
				p.mu.Unlock()
			}
			return nil
		},
	}
	if sdp {
		p.sdpPassed.Add(1)
	}
	rp.ServeHTTP(w, r)
}

func (p *echoProxy) keys() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.minted...)
}

// notifySink is a NOTIFY_SOCKET like systemd's: it keeps every message.
type notifySink struct {
	conn *net.UnixConn
	mu   sync.Mutex
	msgs []string
	done chan struct{}
}

func newNotifySink(t *testing.T, path string) *notifySink {
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	n := &notifySink{conn: c, done: make(chan struct{})}
	go func() {
		defer close(n.done)
		buf := make([]byte, 4096)
		for {
			k, err := c.Read(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, string(buf[:k]))
			n.mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.Close(); <-n.done })
	return n
}

func (n *notifySink) String() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.msgs, "\n")
}

// output is one captured stream of the secrets test.
type output struct {
	name string
	text func() string
}

// TestSecretsNeverShown runs the whole flow with marker secrets — the broker's upstream
// credential, the device token, the minted keys, a query secret in mint_url and in the
// SDP URL, a password in a broker_url — against backends that reflect every secret of
// a request in their error bodies, and fails if a marker appears in any log, command
// output or STATUS= line: the broker (in-process), edgevoice-provisiond provisiond,
// check and keys status/get, edgevoice run against the emulator (with keep_warm, so
// the SDP exchange runs, its first answer an echo), status, and check-config.
func TestSecretsNeverShown(t *testing.T) {
	emu := startEmulator(t)
	emuURL, _ := url.Parse(emu.URL())
	back := newEchoProxy(t) // the broker's upstream: in front of the emulator
	back.target.Store(emuURL)
	back.rewriteAuth = emu.APIKey()
	back.echo.Store(true)
	back.sdpEcho.Store(1)
	front := newEchoProxy(t) // in front of the broker
	front.echo.Store(true)

	dir := t.TempDir()
	var outs []output
	var outMu sync.Mutex
	add := func(name string, f func() string) {
		outMu.Lock()
		outs = append(outs, output{name, f})
		outMu.Unlock()
	}
	runApp := func(app *cli.App, name string, args ...string) string {
		var out, errb bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		code := app.Main(ctx, args, &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
		s := fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
		add(name, func() string { return s })
		return s
	}
	provisiondApp := &cli.App{Name: "edgevoice-provisiond", Commands: append(provcmd.Commands(), cli.CheckConfig())}
	brokerApp := &cli.App{Name: "edgevoice-broker", Commands: append(brokercmd.Commands(), cli.CheckConfig())}

	// The broker, its upstream the echoing back proxy.
	upCred := filepath.Join(dir, "upstream-credential")
	if err := os.WriteFile(upCred, []byte(markUpstream), 0o600); err != nil {
		t.Fatal(err)
	}
	brokerCfg := filepath.Join(dir, "broker.toml")
	writeFile(t, brokerCfg, fmt.Sprintf(`[broker]
listen = "127.0.0.1:0"
database = %q
rate_per_minute = 600
rate_burst = 100
[provisioning]
profile = "openai"
mint_url = %q
sdp_url = %q
credential_file = %q
`, filepath.Join(dir, "broker.db"), back.srv.URL+"/v1/realtime/client_secrets", back.srv.URL+"/v1/realtime/calls?sig="+markSDPQuery, upCred))
	addOut := runApp(brokerApp, "device add", "device", "add", "-config", brokerCfg, "dev1")
	m := regexp.MustCompile(`(?m)^(evd_\S+)$`).FindStringSubmatch(addOut)
	if m == nil {
		t.Fatalf("device add printed no token:\n%s", addOut)
	}
	devToken := m[1]
	outs = outs[:0] // device add prints the token by design (once, to the operator)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	brokerLogs := &runLogBuffer{}
	add("broker log", brokerLogs.String)
	brokerDone := make(chan int, 1)
	go func() {
		brokerDone <- brokerApp.Main(ctx, []string{"broker", "-config", brokerCfg},
			&cli.Env{Stdout: brokerLogs, Stderr: brokerLogs, Getenv: func(string) string { return "" }})
	}()
	var brokerURL string
	waitUntil(t, 15*time.Second, "the broker's address in its log", func() bool {
		m := regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(brokerLogs.String())
		brokerURL = m
		return m != ""
	}, brokerLogs.String)
	bu, _ := url.Parse(brokerURL)
	front.target.Store(bu)

	// The device: the key daemon and the appliance, one config.
	cred := filepath.Join(dir, "credential")
	if err := os.WriteFile(cred, []byte(devToken), 0o600); err != nil {
		t.Fatal(err)
	}
	sock, keys := filepath.Join(dir, "control.sock"), filepath.Join(dir, "keys.sock")
	wav, _ := filepath.Abs("assets/question.wav")
	devCfg := filepath.Join(dir, "device.toml")
	writeFile(t, devCfg, fmt.Sprintf(`[appliance]
control_socket = %q
keep_warm = true
[board]
kind = "sim"
[audio]
input_file = %q
output_file = %q
[provisioning]
profile = "broker"
mint_url = %q
credential_file = %q
socket = %q
allowed_users = ["%d"]
[rtc]
loopback_candidates = true
interfaces = ["lo"]
allow_ips = ["127.0.0.0/8"]
`, sock, wav, filepath.Join(dir, "out.wav"), front.srv.URL+"/v1/keys?code="+markQuery, cred, keys, os.Getuid()))
	pwCfg := filepath.Join(dir, "password.toml")
	writeFile(t, pwCfg, fmt.Sprintf("[provisioning]\nprofile = \"broker\"\nbroker_url = %q\n", "https://dev1:"+markURLPass+"@keys.example.com/?token="+markQuery))

	ns := newNotifySink(t, filepath.Join(dir, "notify.sock"))
	add("NOTIFY_SOCKET messages", ns.String)
	t.Setenv("NOTIFY_SOCKET", filepath.Join(dir, "notify.sock"))

	runApp(provisiondApp, "check-config (device)", "check-config", "-config", devCfg)
	runApp(app, "edgevoice check-config (device)", "check-config", "-config", devCfg)
	runApp(provisiondApp, "check-config (password in broker_url)", "check-config", "-config", pwCfg)
	runApp(brokerApp, "broker check-config", "check-config", "-config", brokerCfg)

	// 1. Everything echoes: the broker's front rejects the device token, reflecting it
	// and the query secret.
	runApp(provisiondApp, "check (front echoes)", "check", "-config", devCfg)
	provLogs := &runLogBuffer{}
	add("provisiond log", provLogs.String)
	startProv := func() (context.CancelFunc, chan int) {
		pctx, pcancel := context.WithCancel(ctx)
		done := make(chan int, 1)
		go func() {
			done <- provisiondApp.Main(pctx, []string{"provisiond", "-config", devCfg},
				&cli.Env{Stdout: provLogs, Stderr: provLogs, Getenv: func(string) string { return "" }})
		}()
		return pcancel, done
	}
	stopProv := func(c context.CancelFunc, done chan int) {
		c()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("provisiond exit %d\n%s", code, provLogs.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("provisiond did not stop within 10 s")
		}
	}
	pcancel, pdone := startProv()
	waitUntil(t, 15*time.Second, "the key daemon to see the rejection", func() bool {
		return strings.Contains(ns.String(), "STATUS=credential-rejected") || strings.Contains(ns.String(), "STATUS=backoff")
	}, func() string { return ns.String() + "\n" + provLogs.String() })
	runApp(provisiondApp, "keys status (rejected)", "keys", "-socket", keys, "status")
	runApp(provisiondApp, "keys status -json (rejected)", "keys", "-socket", keys, "-json", "status")
	runApp(provisiondApp, "keys get (rejected)", "keys", "-socket", keys, "get")

	// 2. The broker takes the device token; its upstream reflects the upstream key.
	front.echo.Store(false)
	runApp(provisiondApp, "check (upstream echoes)", "check", "-config", devCfg)
	stopProv(pcancel, pdone)

	// 3. Everything works, but the first SDP exchange echoes the minted key.
	back.echo.Store(false)
	pcancel, pdone = startProv()
	runLogs := &runLogBuffer{}
	add("edgevoice run log", runLogs.String)
	runDone := make(chan int, 1)
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	go func() {
		runDone <- Main(rctx, []string{"run", "-config", devCfg}, &cli.Env{Stdout: runLogs, Stderr: runLogs, Getenv: func(string) string { return "" }})
	}()
	waitUntil(t, 20*time.Second, "the appliance's session after the echoed SDP exchange", func() bool {
		if back.sdpPassed.Load() < 1 {
			return false
		}
		sctx, scancel := context.WithTimeout(ctx, time.Second)
		defer scancel()
		s, err := control.Ask(sctx, sock)
		return err == nil && s.Appliance.Key != nil
	}, func() string { return runLogs.String() + "\n" + provLogs.String() })
	runApp(app, "edgevoice status", "status", "-config", devCfg)
	runApp(app, "edgevoice status -json", "status", "-config", devCfg, "-json")
	runApp(provisiondApp, "keys status", "keys", "-socket", keys, "status")
	runApp(provisiondApp, "keys get", "keys", "-socket", keys, "get")
	runApp(provisiondApp, "keys get -json", "keys", "-socket", keys, "-json", "get")
	runApp(provisiondApp, "check (all well)", "check", "-config", devCfg)

	rcancel()
	select {
	case <-runDone:
	case <-time.After(10 * time.Second):
		t.Fatal("edgevoice run did not stop within 10 s")
	}
	stopProv(pcancel, pdone)
	cancel()
	select {
	case <-brokerDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the broker did not stop within 10 s")
	}

	minted := back.keys()
	if len(minted) < 2 {
		t.Fatalf("only %d keys were minted; the flow did not run", len(minted))
	}
	markers := map[string]string{"upstream credential": markUpstream, "device token": devToken, "mint_url query secret": markQuery,
		"SDP URL query secret": markSDPQuery, "broker_url password": markURLPass}
	for i, k := range minted {
		markers[fmt.Sprintf("minted key %d", i)] = k
	}
	// The echoes did happen: the markers were offered to every stage.
	if back.sdpPassed.Load() < 1 || !strings.Contains(ns.String(), "STATUS=") {
		t.Fatalf("the flow did not reach the SDP exchange or systemd notifications")
	}
	leaks := 0
	for _, o := range outs {
		text := o.text()
		for what, mk := range markers {
			if i := strings.Index(text, mk); i >= 0 {
				leaks++
				lo, hi := max(0, i-120), min(len(text), i+len(mk)+40)
				t.Errorf("%s shows the %s: ...%s...", o.name, what, text[lo:hi])
			}
		}
	}
	t.Logf("%d outputs scanned for %d markers (%d minted keys); %d leaks", len(outs), len(markers), len(minted), leaks)
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitUntil polls cond every 20 ms for at most d, failing with what and state().
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool, state func() string) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s\n%s", d, what, state())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
