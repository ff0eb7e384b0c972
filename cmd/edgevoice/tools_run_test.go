package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/control"
	"github.com/edgevoice/edgevoice/internal/provcmd"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestRunCallsCommandAndHTTPTools is the tool path of `edgevoice run` end to end: keys
// from edgevoice-provisiond (the emulator as the broker), a spoken turn (control say)
// whose answer calls a [[tools.command]] tool and a [[tools.http]] tool in parallel;
// the program reads the arguments on stdin, the HTTP server gets them POSTed, both
// outputs reach the emulator before one response.create, and the follow-up answer
// plays. The info log names the tools but holds no argument or output text.
func TestRunCallsCommandAndHTTPTools(t *testing.T) {
	srv, err := emulator.New(emulator.WithToolScript(emulator.ToolTurn{Calls: []emulator.ToolCall{
		{Name: "echo_args", Arguments: `{"room":"attic"}`},
		{Name: "scene", Arguments: `{"scene":"movie-night"}`},
	}}))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(""); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var hookMu sync.Mutex
	var hookBody string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hookMu.Lock()
		hookBody = string(b)
		hookMu.Unlock()
		w.Write([]byte(`{"scene":"lights-dimmed"}`))
	}))
	defer hook.Close()

	ctx, sock, logs, stop := startRun(t, srv, fmt.Sprintf(`[[tools.command]]
name = "echo_args"
description = "Echo the arguments"
parameters = '{"type":"object","properties":{"room":{"type":"string"}},"required":["room"]}'
argv = ["/bin/cat"]
[[tools.http]]
name = "scene"
url = %q
parameters = '{"type":"object","properties":{"scene":{"type":"string"}}}'
`, hook.URL+"/api/webhook/abc"))
	defer stop()
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = control.Do(sctx, sock, control.Request{Op: "say", Text: "start movie night in the attic"})
	scancel()
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	err = srv.WaitStats(wctx, func(st emulator.Stats) bool {
		c, ok := st.LastCall()
		if !ok || c.Tools.FollowUps != 1 || len(c.Responses) < 2 {
			return false
		}
		last := c.Responses[len(c.Responses)-1]
		return last.Audio && last.PacketsSent > 0 && last.Status.String() != "in_progress"
	})
	c, _ := srv.Stats().LastCall()
	if err != nil {
		t.Fatalf("no played follow-up answer: %v; client events %q, tools %+v\nlogs:\n%s", err, c.ClientEvents, c.Tools, logs.String())
	}
	tl := c.Tools
	if len(tl.Calls) != 2 || len(tl.Violations) != 0 {
		t.Fatalf("tool stats %+v", tl)
	}
	outs := map[string]string{}
	for _, call := range tl.Calls {
		outs[call.Name] = call.Output
	}
	if outs["echo_args"] != `{"room":"attic"}` || outs["scene"] != `{"scene":"lights-dimmed"}` {
		t.Errorf("outputs %q", outs)
	}
	hookMu.Lock()
	if hookBody != `{"scene":"movie-night"}` {
		t.Errorf("the HTTP tool POSTed %q", hookBody)
	}
	hookMu.Unlock()
	text := logs.String()
	for _, secret := range []string{"attic", "movie-night", "lights-dimmed", "webhook/abc"} {
		if strings.Contains(text, secret) {
			t.Errorf("the log holds argument, output or URL text %q:\n%s", secret, text)
		}
	}
	if !strings.Contains(text, "echo_args") || !strings.Contains(text, "scene") {
		t.Errorf("the log does not name the tools:\n%s", text)
	}
}

// startRun runs edgevoice-provisiond and edgevoice run in-process against the
// emulator srv (as the broker) with the [tools] section and toolsTOML added to the
// config, and waits until the appliance is idle with a key. stop ends both and checks
// their exit.
func startRun(t *testing.T, srv *emulator.Server, toolsTOML string) (ctx context.Context, sock string, logs *runLogBuffer, stop func()) {
	t.Helper()
	dir := t.TempDir()
	cred := filepath.Join(dir, "credential")
	if err := os.WriteFile(cred, []byte(srv.DeviceToken()), 0o600); err != nil {
		t.Fatal(err)
	}
	sock = filepath.Join(dir, "control.sock")
	keys := filepath.Join(dir, "keys.sock")
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
[tools]
builtin = []
`, sock, wav, filepath.Join(dir, "out.wav"), srv.URL(), cred, keys, os.Getuid()) + toolsTOML
	cfg := filepath.Join(dir, "device.toml")
	if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs = &runLogBuffer{}
	env := func() *cli.Env {
		return &cli.Env{Stdout: logs, Stderr: logs, Getenv: func(string) string { return "" }}
	}
	provDone, runDone := make(chan int, 1), make(chan int, 1)
	provisiond := &cli.App{Name: "edgevoice-provisiond", Commands: provcmd.Commands()}
	go func() { provDone <- provisiond.Main(ctx, []string{"provisiond", "-config", cfg}, env()) }()
	go func() { runDone <- Main(ctx, []string{"run", "-config", cfg}, env()) }()
	stop = func() {
		cancel()
		for _, ch := range []chan int{runDone, provDone} {
			select {
			case code := <-ch:
				if code != 0 {
					t.Errorf("exit %d\n%s", code, logs.String())
				}
			case <-time.After(10 * time.Second):
				t.Error("a daemon did not stop within 10 s")
			}
		}
	}

	deadline := time.Now().Add(20 * time.Second)
	for {
		sctx, scancel := context.WithTimeout(ctx, time.Second)
		s, err := control.Ask(sctx, sock)
		scancel()
		if err == nil && s.Appliance.StateName == "idle" && s.Appliance.Key != nil {
			break
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("the appliance did not get ready within 20 s (last %v)\nlogs:\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return ctx, sock, logs, stop
}

// TestRunMCPTool: edgevoice run connects to a [[tools.mcp]] server on loopback, the
// session's tool list gains its (prefixed) tool by a session.update, and the model's
// call reaches the server; the follow-up answer plays.
func TestRunMCPTool(t *testing.T) {
	defer noLeaks(t)() // run joins its MCP client, which closes its connections
	s := sdk.NewServer(&sdk.Implementation{Name: "lan", Version: "1"}, nil)
	sdk.AddTool(s, &sdk.Tool{Name: "sum", Description: "adds two numbers"},
		func(_ context.Context, _ *sdk.CallToolRequest, in sumIn) (*sdk.CallToolResult, sumOut, error) {
			return nil, sumOut{in.A + in.B}, nil
		})
	lan := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil))
	defer func() {
		lan.CloseClientConnections()
		lan.Close()
		for ss := range s.Sessions() {
			ss.Close()
		}
	}()
	srv, err := emulator.New(emulator.WithToolScript(emulator.ToolTurn{Calls: []emulator.ToolCall{{Name: "lan_sum", Arguments: `{"a":40,"b":2}`}}}))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(""); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, sock, logs, stop := startRun(t, srv, fmt.Sprintf("[[tools.mcp]]\nname = \"lan\"\nurl = %q\nprefix = \"lan_\"\n", lan.URL+"/mcp"))
	defer stop()
	// the server's tools are listed before the turn (else the call is to an unknown tool)
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(logs.String(), "mcp: tools listed"); {
		if time.Now().After(deadline) {
			t.Fatalf("the MCP server's tools were not listed within 15 s:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = control.Do(sctx, sock, control.Request{Op: "say", Text: "what is forty and two"})
	scancel()
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	err = srv.WaitStats(wctx, func(st emulator.Stats) bool {
		c, ok := st.LastCall()
		if !ok || c.Tools.FollowUps != 1 || len(c.Responses) < 2 {
			return false
		}
		last := c.Responses[len(c.Responses)-1]
		return last.Audio && last.PacketsSent > 0 && last.Status.String() != "in_progress"
	})
	c, _ := srv.Stats().LastCall()
	if err != nil {
		t.Fatalf("no played follow-up answer: %v; client events %q, tools %+v\nlogs:\n%s", err, c.ClientEvents, c.Tools, logs.String())
	}
	if tl := c.Tools; len(tl.Calls) != 1 || tl.Calls[0].Output != `{"sum":42}` {
		t.Errorf("tool stats %+v\nlogs:\n%s", tl, logs.String())
	}
	found := false
	for _, tool := range c.Session.Tools {
		found = found || tool.Name == "lan_sum"
	}
	if !found {
		t.Errorf("the session's tools %+v lack lan_sum", c.Session.Tools)
	}
}
