package rtc

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/edgevoice/edgevoice/tools"
	"github.com/pion/transport/v5/test"
)

// mcpConfig is pttConfig with a server-side MCP tool "docs" (require_approval approval).
func mcpConfig(approval string) events.Session {
	c := pttConfig()
	c.Tools = []events.Tool{{MCP: &events.MCPTool{ServerLabel: "docs", ServerURL: "https://mcp.example.com/mcp", RequireApproval: approval}}}
	return c
}

// infoLog is a logger at level into a buffer, and a way to read it.
func infoLog(level slog.Level) (*slog.Logger, func() string) {
	var buf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&buf, &mu}, &slog.HandlerOptions{Level: level}))
	return log, func() string {
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
}

func isTranscript(text string) func(Event) bool {
	return func(e Event) bool { return e.Kind == EventTranscriptDone && e.Text == text }
}

func isErrorWith(s string) func(Event) bool {
	return func(e Event) bool { return e.Kind == EventError && e.Err != nil && strings.Contains(e.Err.Error(), s) }
}

// TestMCPApprovalAnswered: the service asks to run two tools of the server-side MCP
// server "docs" (require_approval "always"); the device approves "search" (in its
// list) and denies "delete" (not in it) with a reason the model says, at once and
// without a response.create (the service continues). Both transports; no argument
// text in the info log, which names each decision.
func TestMCPApprovalAnswered(t *testing.T) {
	defer test.CheckRoutines(t)()
	for _, tr := range []Transport{TransportWebRTC, TransportWebSocket} {
		t.Run(tr.String(), func(t *testing.T) {
			srv := startEmulator(t, emulator.WithMCPScript(
				emulator.MCPCall{ServerLabel: "docs", Name: "search", Arguments: `{"q":"secret-query-7"}`, Output: "found it"},
				emulator.MCPCall{ServerLabel: "docs", Name: "delete", Arguments: `{"page":"secret-page-9"}`, Output: "deleted"},
			))
			defer srv.Close()
			log, logText := infoLog(slog.LevelInfo)
			s, rec := toolSession(t, srv, "openai", tools.NewSet(nil), WithSessionConfig(mcpConfig("always")),
				WithMCPApprovals(map[string][]string{"docs": {"search"}, "other": {"delete"}}), WithLogger(log), WithTransport(tr))
			defer s.Close()
			sp := startSpeaker(s) // plays the answers out (a WebSocket answer ends when it has played)
			defer sp.close()
			if err := s.Say("search the docs"); err != nil {
				t.Fatal(err)
			}
			rec.wait(t, 10*time.Second, isTranscript("The MCP tool search answered: found it"))
			rec.wait(t, 10*time.Second, isKind(EventSpeakingStopped))
			if err := s.Say("delete the page"); err != nil {
				t.Fatal(err)
			}
			rec.wait(t, 10*time.Second, isTranscript("The MCP tool delete was denied: "+mcpDenyReason("delete")))
			c := waitCall(t, srv, "the denial", func(c emulator.CallStats) bool { return c.MCP.Denied == 1 })
			m := c.MCP
			if len(m.Requests) != 2 || !m.Requests[0].Answered || !m.Requests[0].Approved || !m.Requests[1].Answered || m.Requests[1].Approved ||
				m.Requests[1].Reason != "this device does not approve delete; ask the user to do it another way" || m.Calls != 1 || len(m.Violations) != 0 {
				t.Errorf("emulator MCP stats %+v", m)
			}
			want := []string{"session.update", "conversation.item.create", "response.create", "conversation.item.create",
				"conversation.item.create", "response.create", "conversation.item.create"}
			if !slices.Equal(c.ClientEvents, want) {
				t.Errorf("client events %q, want %q", c.ClientEvents, want)
			}
			text := logText()
			for _, w := range []string{"mcp approval: server docs tool search approved", "mcp approval: server docs tool delete denied"} {
				if !strings.Contains(text, w) {
					t.Errorf("the info log lacks %q:\n%s", w, text)
				}
			}
			for _, secret := range []string{"secret-query-7", "secret-page-9"} {
				if strings.Contains(text, secret) {
					t.Errorf("the info log holds argument text %q:\n%s", secret, text)
				}
			}
		})
	}
}

// TestMCPApprovalMalformed: an approval request without server_label and name is a
// logged error and denied (it has an id, so the service is not left waiting); the
// session lives on and answers the next request.
func TestMCPApprovalMalformed(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := startEmulator(t, emulator.WithMCPScript(
		emulator.MCPCall{ServerLabel: "docs", Name: "search", Arguments: `{}`, Malformed: true},
		emulator.MCPCall{ServerLabel: "docs", Name: "search", Arguments: `{}`, Output: "found it"},
	))
	defer srv.Close()
	log, logText := infoLog(slog.LevelInfo)
	s, rec := toolSession(t, srv, "openai", tools.NewSet(nil), WithSessionConfig(mcpConfig("always")),
		WithMCPApprovals(map[string][]string{"docs": {"search"}}), WithLogger(log))
	defer s.Close()
	if err := s.Say("search the docs"); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, 10*time.Second, isErrorWith("malformed mcp_approval_request"))
	rec.wait(t, 10*time.Second, isTranscript("The MCP tool search was denied: "+mcpDenyReason("this tool")))
	rec.wait(t, 10*time.Second, isKind(EventSpeakingStopped))
	if err := s.Say("search again"); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, 10*time.Second, isTranscript("The MCP tool search answered: found it"))
	c := waitCall(t, srv, "the second answer", func(c emulator.CallStats) bool { return c.MCP.Calls == 1 })
	if len(c.MCP.Requests) != 2 || c.MCP.Requests[0].Approved || !c.MCP.Requests[1].Approved || len(c.MCP.Violations) != 0 {
		t.Errorf("emulator MCP stats %+v", c.MCP)
	}
	if st := s.State(); st != StateConnected {
		t.Errorf("state %v after the malformed request", st)
	}
	if text := logText(); !strings.Contains(text, "level=ERROR") || !strings.Contains(text, "malformed mcp_approval_request") {
		t.Errorf("the malformed request is not an error in the log:\n%s", text)
	}
}

// TestMCPFailuresReported: a failed server-side MCP call and a failed tool listing are
// logged and reported as errors, naming the tool and the error type only.
func TestMCPFailuresReported(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := startEmulator(t, emulator.WithMCPScript(
		emulator.MCPCall{ServerLabel: "docs", Name: "search", FailCall: true},
		emulator.MCPCall{ServerLabel: "docs", Name: "search", FailList: true},
	))
	defer srv.Close()
	log, logText := infoLog(slog.LevelInfo)
	s, rec := toolSession(t, srv, "openai", tools.NewSet(nil), WithSessionConfig(mcpConfig("never")), WithLogger(log))
	defer s.Close()
	if err := s.Say("search the docs"); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, 10*time.Second, isErrorWith(`MCP call of tool "search" on server "docs" failed (tool_execution_error)`))
	rec.wait(t, 10*time.Second, isTranscript("The MCP tool search failed."))
	rec.wait(t, 10*time.Second, isKind(EventSpeakingStopped))
	if err := s.Say("search again"); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, 10*time.Second, isErrorWith("could not list the tools"))
	text := logText()
	for _, w := range []string{"level=WARN", "failed (tool_execution_error)", "could not list the tools"} {
		if !strings.Contains(text, w) {
			t.Errorf("the log lacks %q:\n%s", w, text)
		}
	}
}

// TestMCPApprovalSources: a request is answered from conversation.item.done alone (as
// the Agents SDK reads it), once even when response.output_item.done and response.done
// carry it again; a server without an approve list gets a denial; a request without
// an id is logged and not answered; a client event is all that is sent.
func TestMCPApprovalSources(t *testing.T) {
	log, logText := infoLog(slog.LevelDebug)
	s, err := New(testKey(), WithMCPApprovals(map[string][]string{"docs": {"search"}}), WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := &conn{s: s, dialect: events.GA, done: make(chan struct{})}
	var u turn
	in := func(raw string) {
		t.Helper()
		if err := s.handleServer(c, &u, []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	req := `{"id":"mcpr_1","object":"realtime.item","type":"mcp_approval_request","server_label":"docs","name":"search","arguments":"{\"q\":\"secret-q\"}"}`
	in(`{"type":"conversation.item.done","event_id":"e1","previous_item_id":"item_0","item":` + req + `}`)
	if len(c.pending) != 1 {
		t.Fatalf("%d client events after conversation.item.done, want its answer", len(c.pending))
	}
	in(`{"type":"response.output_item.done","event_id":"e2","response_id":"r1","output_index":0,"item":` + req + `}`)
	in(`{"type":"response.done","event_id":"e3","response":{"id":"r1","status":"completed","output":[` + req + `]}}`)
	in(`{"type":"response.output_item.done","response_id":"r2","item":{"id":"mcpr_2","type":"mcp_approval_request","server_label":"wiki","name":"search","arguments":"{}"}}`)
	in(`{"type":"response.output_item.done","response_id":"r3","item":{"type":"mcp_approval_request","server_label":"docs","name":"search","arguments":"{}"}}`)
	var got []events.MCPApprovalResponse
	for _, b := range c.pending {
		ev, err := events.Decode(b)
		if err != nil {
			t.Fatalf("client event %s: %v", b, err)
		}
		a, ok := ev.(events.MCPApprovalResponse)
		if !ok {
			t.Fatalf("client event %s is not an mcp_approval_response", b)
		}
		a.EventID = ""
		got = append(got, a)
	}
	want := []events.MCPApprovalResponse{
		{ApprovalRequestID: "mcpr_1", Approve: true},
		{ApprovalRequestID: "mcpr_2", Reason: "this device does not approve search; ask the user to do it another way"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("answers %+v, want %+v", got, want)
	}
	text := logText()
	if !strings.Contains(text, "malformed mcp_approval_request") || !strings.Contains(text, "level=DEBUG") || !strings.Contains(text, "secret-q") {
		t.Errorf("log:\n%s", text)
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "secret-q") && !strings.Contains(line, "level=DEBUG") {
			t.Errorf("argument text above debug level: %s", line)
		}
	}
}
