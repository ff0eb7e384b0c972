package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/internal/backoff"
	"github.com/edgevoice/edgevoice/tools"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/pion/transport/v5/test"
)

// stdioEnv makes the test binary an MCP server on stdin/stdout (TestStdio).
const stdioEnv = "EDGEVOICE_MCP_TEST_STDIO"

func TestMain(m *testing.M) {
	if os.Getenv(stdioEnv) == "1" {
		s := testServer()
		s.AddTool(&sdk.Tool{Name: "env", InputSchema: json.RawMessage(`{"type":"object"}`)},
			func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
				b, _ := json.Marshal(os.Environ())
				return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: string(b)}}}, nil
			})
		s.AddTool(&sdk.Tool{Name: "pid", InputSchema: json.RawMessage(`{"type":"object"}`)},
			func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
				return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: fmt.Sprint(os.Getpid())}}}, nil
			})
		s.AddTool(&sdk.Tool{Name: "exit", InputSchema: json.RawMessage(`{"type":"object"}`)},
			func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
				os.Exit(0) // the server goes away mid-session
				return nil, nil
			})
		if err := s.Run(context.Background(), &sdk.StdioTransport{}); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type addIn struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
}

type addOut struct {
	Sum float64 `json:"sum"`
}

var objSchema = json.RawMessage(`{"type":"object"}`)

func textResult(s string) *sdk.CallToolResult {
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: s}}}
}

// testServer is an MCP server with a typed tool (add), a failing one, a text one, one
// the allow-lists leave out and one whose name is too long for a prefix.
func testServer() *sdk.Server {
	s := sdk.NewServer(&sdk.Implementation{Name: "test-server", Version: "1"}, nil)
	sdk.AddTool(s, &sdk.Tool{Name: "add", Description: "adds a and b"},
		func(_ context.Context, _ *sdk.CallToolRequest, in addIn) (*sdk.CallToolResult, addOut, error) {
			return nil, addOut{Sum: in.A + in.B}, nil
		})
	s.AddTool(&sdk.Tool{Name: "fail", Description: "always fails", InputSchema: objSchema},
		func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			return &sdk.CallToolResult{IsError: true, Content: []sdk.Content{&sdk.TextContent{Text: "the lights are offline"}}}, nil
		})
	s.AddTool(&sdk.Tool{Name: "text", InputSchema: objSchema},
		func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			return textResult("hello there"), nil
		})
	s.AddTool(&sdk.Tool{Name: "hidden", InputSchema: objSchema},
		func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			return textResult("secret"), nil
		})
	s.AddTool(&sdk.Tool{Name: strings.Repeat("n", 60), InputSchema: objSchema},
		func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			return textResult("long"), nil
		})
	return s
}

// httpServer serves an MCP server over Streamable HTTP on a loopback address that
// stays the same across stop and start (a server restart).
type httpServer struct {
	t    *testing.T
	mcp  *sdk.Server
	addr string
	wrap func(http.Handler) http.Handler
	mu   sync.Mutex
	srv  *http.Server
	done chan struct{}
}

func startHTTP(t *testing.T, s *sdk.Server, wrap func(http.Handler) http.Handler) *httpServer {
	h := &httpServer{t: t, addr: "127.0.0.1:0", wrap: wrap}
	h.start(s)
	return h
}

func (h *httpServer) start(s *sdk.Server) {
	h.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the old socket may linger a moment after a stop
		if ln, err = net.Listen("tcp", h.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		h.t.Fatalf("listen %s: %v", h.addr, err)
	}
	h.addr = ln.Addr().String()
	var handler http.Handler = sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil)
	if h.wrap != nil {
		handler = h.wrap(handler)
	}
	srv := &http.Server{Handler: handler}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	h.mu.Lock()
	h.srv, h.done, h.mcp = srv, done, s
	h.mu.Unlock()
}

// stop closes the listener and every connection (the server goes away).
func (h *httpServer) stop() {
	h.mu.Lock()
	srv, done, s := h.srv, h.done, h.mcp
	h.srv = nil
	h.mu.Unlock()
	if srv == nil {
		return
	}
	_ = srv.Close()
	<-done
	for ss := range s.Sessions() {
		_ = ss.Close()
	}
}

func (h *httpServer) url() string { return "http://" + h.addr + "/mcp" }

// fastOptions reconnect and ping quickly (the real clock; waits are bounded by
// deadlines, not asserted).
func fastOptions(log *slog.Logger, onChange func()) Options {
	return Options{
		Log: log, PingEvery: 50 * time.Millisecond, OnChange: onChange, Version: "test",
		NewBackoff: func() Backoff {
			return backoff.New(backoff.Policy{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond}, nil)
		},
	}
}

// waitNames waits until cond holds for the set's names.
func waitNames(t *testing.T, set *tools.Set, what string, cond func([]string) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond(set.Names()) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the set has %q", what, set.Names())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func has(names ...string) func([]string) bool {
	return func(got []string) bool {
		for _, n := range names {
			if !slices.Contains(got, n) {
				return false
			}
		}
		return true
	}
}

func hasNone(names ...string) func([]string) bool {
	return func(got []string) bool {
		for _, n := range names {
			if slices.Contains(got, n) {
				return false
			}
		}
		return true
	}
}

// runClient runs c until the test ends, then checks that Run returned.
func runClient(t *testing.T, c *Client) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Error("Run did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestListAllowPrefixAndCall(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := startHTTP(t, testServer(), nil)
	defer srv.stop()
	var logBuf bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&logBuf, &logMu}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	set := tools.NewSet(nil)
	long := strings.Repeat("n", 60)
	c, err := New(Server{Name: "home", URL: srv.url(), Prefix: "home_", Allow: []string{"add", "fail", "text", long, "missing"}}, set, fastOptions(log, nil))
	if err != nil {
		t.Fatal(err)
	}
	stop := runClient(t, c)
	waitNames(t, set, "the allowed tools, prefixed", has("home_add", "home_fail", "home_text"))
	if got := set.Names(); len(got) != 3 {
		t.Errorf("names %q: want only the allowed tools whose prefixed names fit in 64", got)
	}
	if set.Group("home_add") != "home" {
		t.Errorf("home_add is in group %q", set.Group("home_add"))
	}
	var params string
	for _, d := range set.Declarations() {
		if d.Name == "home_add" {
			params = string(d.Parameters)
			if d.Description != "adds a and b" {
				t.Errorf("description %q", d.Description)
			}
		}
	}
	if !strings.Contains(params, `"a"`) || !strings.Contains(params, `"number"`) {
		t.Errorf("home_add's parameters %s do not carry the server's schema", params)
	}
	ctx := context.Background()
	if out, err := set.RunTool(ctx, "home_add", `{"a":1.5,"b":2}`); err != nil || out != `{"sum":3.5}` {
		t.Errorf("home_add: %q, %v; want {\"sum\":3.5}", out, err)
	}
	if _, err := set.RunTool(ctx, "home_add", `{"a":"one"}`); !errors.Is(err, tools.ErrInvalidArguments) {
		t.Errorf("home_add with a string: %v; want the schema to reject it", err)
	}
	if _, err := set.RunTool(ctx, "home_fail", `{}`); err == nil || !strings.Contains(err.Error(), "the lights are offline") {
		t.Errorf("home_fail: %v; want the server's error text", err)
	}
	if out, err := set.RunTool(ctx, "home_text", `{}`); err != nil || out != `"hello there"` {
		t.Errorf("home_text: %q, %v", out, err)
	}
	if _, err := set.RunTool(ctx, "hidden", `{}`); !errors.Is(err, tools.ErrUnknownTool) {
		t.Errorf("hidden (not allowed): %v", err)
	}
	stop()
	if got := set.Names(); len(got) != 0 {
		t.Errorf("after Run: %q; want the group withdrawn", got)
	}
	logMu.Lock()
	text := logBuf.String()
	logMu.Unlock()
	for _, w := range []string{long, "missing", "tools listed"} {
		if !strings.Contains(text, w) {
			t.Errorf("the log does not mention %q:\n%s", w, text)
		}
	}
	if strings.Contains(text, "3.5") || strings.Contains(text, "hello there") {
		t.Errorf("the info log holds call text:\n%s", text)
	}
}

// TestListChangedAndRestart: a tool added on the server appears (list_changed); the
// server goes away: the group is withdrawn and calls get "server unavailable"; it
// comes back on the same address: so do the tools.
func TestListChangedAndRestart(t *testing.T) {
	defer test.CheckRoutines(t)()
	s := testServer()
	srv := startHTTP(t, s, nil)
	defer srv.stop()
	set := tools.NewSet(nil)
	var changes atomic.Int32
	c, err := New(Server{Name: "ha", URL: srv.url(), Allow: []string{"add", "later"}}, set, fastOptions(nil, func() { changes.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	defer runClient(t, c)()
	waitNames(t, set, "the first listing", has("add"))
	s.AddTool(&sdk.Tool{Name: "later", InputSchema: objSchema},
		func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			return textResult("late"), nil
		})
	waitNames(t, set, "the tool added on the server (list_changed)", has("add", "later"))

	srv.stop()
	waitNames(t, set, "the group withdrawn while the server is away", hasNone("add", "later"))
	if _, err := set.RunTool(context.Background(), "add", `{"a":1,"b":1}`); !errors.Is(err, tools.ErrUnavailable) || !strings.Contains(err.Error(), "server unavailable") {
		t.Errorf("a call while the server is away: %v; want server unavailable", err)
	}
	before := changes.Load()
	srv.start(testServer())
	waitNames(t, set, "the tools back after the restart", has("add"))
	if out, err := set.RunTool(context.Background(), "add", `{"a":1,"b":1}`); err != nil || out != `{"sum":2}` {
		t.Errorf("add after the restart: %q, %v", out, err)
	}
	if changes.Load() <= before || before < 3 {
		t.Errorf("OnChange: %d calls before the restart, %d after; want each listing and the withdrawal reported", before, changes.Load())
	}
}

// TestStdio: a stdio server (this test binary) gets the minimal environment; when it
// exits mid-session its tools are withdrawn and come back with a new process.
func TestStdio(t *testing.T) {
	defer test.CheckRoutines(t)()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	set := tools.NewSet(nil)
	c, err := New(Server{Name: "local", Command: []string{exe, "-test.run=^$"}, Env: []string{stdioEnv + "=1"}, Prefix: "dev_"}, set, fastOptions(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer runClient(t, c)()
	waitNames(t, set, "the stdio server's tools", has("dev_add", "dev_env", "dev_pid", "dev_exit"))
	ctx := context.Background()
	out, err := set.RunTool(ctx, "dev_env", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	if err := json.Unmarshal([]byte(out), &env); err != nil {
		t.Fatalf("env output %q: %v", out, err)
	}
	slices.Sort(env)
	want := []string{"EDGEVOICE_MCP_SERVER=local", "EDGEVOICE_MCP_TEST_STDIO=1", "LANG=C.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin"}
	if !slices.Equal(env, want) {
		t.Errorf("the server's environment %q, want %q", env, want)
	}
	pid1, err := set.RunTool(ctx, "dev_pid", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = set.RunTool(ctx, "dev_exit", `{}`) // the process exits before it answers
	waitNames(t, set, "the group withdrawn after the server exited", hasNone("dev_add"))
	waitNames(t, set, "the tools back with a new process", has("dev_add", "dev_pid"))
	pid2, err := set.RunTool(ctx, "dev_pid", `{}`)
	if err != nil || pid2 == pid1 {
		t.Errorf("after the restart: pid %s (was %s), %v", pid2, pid1, err)
	}
}

// TestBearerToken: the token from the file is sent with every request and never
// appears in a log (debug included) or an error; a wrong token fails the connection.
func TestBearerToken(t *testing.T) {
	defer test.CheckRoutines(t)()
	const token = "tok-5e3c4e7-never-log-me"
	var seen, denied atomic.Int32
	srv := startHTTP(t, testServer(), func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+token {
				denied.Add(1)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			seen.Add(1)
			next.ServeHTTP(w, r)
		})
	})
	defer srv.stop()
	dir := t.TempDir()
	good := filepath.Join(dir, "token")
	bad := filepath.Join(dir, "wrong")
	if err := os.WriteFile(good, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("not-"+token), 0o600); err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&logBuf, &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	set := tools.NewSet(log)
	c, err := New(Server{Name: "ha", URL: srv.url(), TokenFile: good}, set, fastOptions(log, nil))
	if err != nil {
		t.Fatal(err)
	}
	closeFn, err := c.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if out, err := set.RunTool(context.Background(), "add", `{"a":2,"b":2}`); err != nil || out != `{"sum":4}` {
		t.Errorf("add: %q, %v", out, err)
	}
	closeFn()
	if seen.Load() < 2 || denied.Load() != 0 {
		t.Errorf("requests with the token: %d, without: %d", seen.Load(), denied.Load())
	}
	c2, err := New(Server{Name: "ha2", URL: srv.url(), TokenFile: bad}, tools.NewSet(log), fastOptions(log, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Open(context.Background()); err == nil {
		t.Error("a wrong token connected")
	} else if strings.Contains(err.Error(), token) {
		t.Errorf("the error holds the token: %v", err)
	}
	if denied.Load() == 0 {
		t.Error("the server never saw the wrong token")
	}
	logMu.Lock()
	text := logBuf.String()
	logMu.Unlock()
	if strings.Contains(text, token) {
		t.Errorf("the log holds the token:\n%s", text)
	}
}

func TestValidateServer(t *testing.T) {
	ok := []Server{
		{Name: "ha", URL: "https://ha.lan:8123/mcp_server/sse"},
		{Name: "ha", URL: "http://127.0.0.1:9000/mcp", Prefix: "ha_"},
		{Name: "ha", URL: "http://[::1]:9000/mcp"},
		{Name: "local", Command: []string{"/usr/bin/mcp-server", "--stdio"}, Env: []string{"A=b"}},
	}
	for _, s := range ok {
		if err := ValidateServer(s); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	bad := map[string]Server{
		"name":         {Name: "has space", URL: "https://x/"},
		"neither":      {Name: "a"},
		"both":         {Name: "a", URL: "https://x/", Command: []string{"/bin/x"}},
		"plain http":   {Name: "a", URL: "http://ha.lan/mcp"},
		"relative":     {Name: "a", Command: []string{"mcp-server"}},
		"token stdio":  {Name: "a", Command: []string{"/bin/x"}, TokenFile: "/t"},
		"prefix":       {Name: "a", URL: "https://x/", Prefix: "a.b"},
		"long prefix":  {Name: "a", URL: "https://x/", Prefix: strings.Repeat("p", 49)},
		"env":          {Name: "a", Command: []string{"/bin/x"}, Env: []string{"novalue"}},
		"not absolute": {Name: "a", URL: "/mcp"},
	}
	for what, s := range bad {
		if err := ValidateServer(s); err == nil {
			t.Errorf("%s: %+v accepted", what, s)
		}
	}
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
