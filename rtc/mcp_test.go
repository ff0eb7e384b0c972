package rtc

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/internal/backoff"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/edgevoice/edgevoice/tools"
	"github.com/edgevoice/edgevoice/tools/mcp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/pion/transport/v5/test"
)

type mcpAddIn struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
}

type mcpAddOut struct {
	Sum float64 `json:"sum"`
}

func newAddServer() *sdk.Server {
	s := sdk.NewServer(&sdk.Implementation{Name: "lan-server", Version: "1"}, nil)
	sdk.AddTool(s, &sdk.Tool{Name: "add", Description: "adds a and b"},
		func(_ context.Context, _ *sdk.CallToolRequest, in mcpAddIn) (*sdk.CallToolResult, mcpAddOut, error) {
			return nil, mcpAddOut{Sum: in.A + in.B}, nil
		})
	return s
}

// loopMCP serves an MCP server over Streamable HTTP on one loopback address, which
// survives a stop and a start (a server restart).
type loopMCP struct {
	t    *testing.T
	addr string
	srv  *http.Server
	mcp  *sdk.Server
	done chan struct{}
}

func (l *loopMCP) start(s *sdk.Server) {
	l.t.Helper()
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", l.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		l.t.Fatalf("listen %s: %v", l.addr, err)
	}
	l.addr, l.mcp, l.done = ln.Addr().String(), s, make(chan struct{})
	l.srv = &http.Server{Handler: sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil)}
	go func(srv *http.Server, done chan struct{}) {
		defer close(done)
		_ = srv.Serve(ln)
	}(l.srv, l.done)
}

func (l *loopMCP) stop() {
	if l.srv == nil {
		return
	}
	_ = l.srv.Close()
	<-l.done
	for ss := range l.mcp.Sessions() {
		_ = ss.Close()
	}
	l.srv = nil
}

// mcpSession runs an MCP client for the server at url into a new set and a session
// against srv whose tool list follows the set (UpdateTools on every change).
func mcpSession(t *testing.T, srv *emulator.Server, profile, url string) (*Session, *eventRecorder, *tools.Set, func()) {
	t.Helper()
	set := tools.NewSet(nil)
	var mu sync.Mutex
	var sess *Session
	c, err := mcp.New(mcp.Server{Name: "lan", URL: url, Prefix: "ha_"}, set, mcp.Options{
		PingEvery: 50 * time.Millisecond,
		NewBackoff: func() mcp.Backoff {
			return backoff.New(backoff.Policy{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond}, nil)
		},
		OnChange: func() {
			mu.Lock()
			defer mu.Unlock()
			if sess != nil {
				_ = sess.UpdateTools(set.Declarations())
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s, rec := toolSession(t, srv, profile, set)
	mu.Lock()
	sess = s
	mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("the MCP client did not stop")
		}
		s.Close()
	}
	return s, rec, set, stop
}

func toolNames(ts []events.Tool) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

// TestMCPToolThroughATurn: an MCP server's tool reaches the model by a session.update
// (both dialects), the model's call goes to the server and its output back, the
// follow-up answer plays; the server restarts mid-session: its tool leaves the
// session's list and comes back, and a later call works.
func TestMCPToolThroughATurn(t *testing.T) {
	defer test.CheckRoutines(t)()
	for _, profile := range []string{"openai", "azure-preview"} {
		t.Run(profile, func(t *testing.T) {
			call := emulator.ToolTurn{Calls: []emulator.ToolCall{{Name: "ha_add", Arguments: `{"a":2,"b":3}`}}}
			srv := startEmulator(t, emulator.WithToolScript(call, call))
			defer srv.Close()
			lan := &loopMCP{t: t, addr: "127.0.0.1:0"}
			lan.start(newAddServer())
			defer lan.stop()
			s, rec, _, stop := mcpSession(t, srv, profile, "http://"+lan.addr+"/mcp")
			defer stop()
			hasTool := func(c emulator.CallStats) bool { return slices.Contains(toolNames(c.Session.Tools), "ha_add") }
			waitCall(t, srv, "the MCP tool declared by a session.update", hasTool)

			if err := s.Say("what is two and three"); err != nil {
				t.Fatal(err)
			}
			rec.wait(t, 10*time.Second, isKind(EventSpeakingStarted))
			c := waitCall(t, srv, "the follow-up", func(c emulator.CallStats) bool { return c.Tools.FollowUps == 1 })
			if tl := c.Tools; len(tl.Calls) != 1 || tl.Calls[0].Output != `{"sum":5}` || len(tl.Violations) != 0 {
				t.Fatalf("tool stats %+v", tl)
			}
			waitCall(t, srv, "the answer", func(c emulator.CallStats) bool {
				return len(c.Responses) == 2 && c.Responses[1].Status != events.StatusInProgress
			})

			lan.stop()
			waitCall(t, srv, "the tool withdrawn while the server is away", func(c emulator.CallStats) bool { return !hasTool(c) })
			lan.start(newAddServer())
			c = waitCall(t, srv, "the tool back after the restart", hasTool)
			if n := countOf(c.ClientEvents, "session.update"); n < 3 {
				t.Errorf("%d session.update events; want the first, the listing, the withdrawal and the return", n)
			}
			if err := s.Say("and again"); err != nil {
				t.Fatal(err)
			}
			c = waitCall(t, srv, "the second follow-up", func(c emulator.CallStats) bool { return c.Tools.FollowUps == 2 })
			if tl := c.Tools; len(tl.Calls) != 2 || tl.Calls[1].Output != `{"sum":5}` {
				t.Fatalf("after the restart: tool stats %+v", tl)
			}
		})
	}
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// TestMCPToolLatency measures the model's call → output at the emulator for an MCP
// tool on a loopback server (the emulator's data channel both ways, rtc's dispatch,
// the schema check, the MCP round trip over Streamable HTTP, the tool). It reports;
// it asserts only that every call was answered.
func TestMCPToolLatency(t *testing.T) {
	defer test.CheckRoutines(t)()
	const n = 10
	turns := make([]emulator.ToolTurn, n)
	for i := range turns {
		turns[i] = emulator.ToolTurn{Calls: []emulator.ToolCall{{Name: "ha_add", Arguments: `{"a":1,"b":2}`}}}
	}
	srv := startEmulator(t, emulator.WithToolScript(turns...))
	defer srv.Close()
	lan := &loopMCP{t: t, addr: "127.0.0.1:0"}
	lan.start(newAddServer())
	defer lan.stop()
	s, _, _, stop := mcpSession(t, srv, "openai", "http://"+lan.addr+"/mcp")
	defer stop()
	waitCall(t, srv, "the MCP tool declared", func(c emulator.CallStats) bool { return slices.Contains(toolNames(c.Session.Tools), "ha_add") })
	for i := range n {
		if err := s.Say("again"); err != nil {
			t.Fatal(err)
		}
		waitCall(t, srv, "the follow-up", func(c emulator.CallStats) bool { return c.Tools.FollowUps == i+1 })
		waitCall(t, srv, "the answer", func(c emulator.CallStats) bool {
			return len(c.Responses) == 2*(i+1) && c.Responses[2*i+1].Status != events.StatusInProgress
		})
	}
	c, _ := srv.Stats().LastCall()
	var lat []time.Duration
	for _, call := range c.Tools.Calls {
		if !call.Answered || call.Output != `{"sum":3}` {
			t.Fatalf("call %s: answered %v, output %q", call.CallID, call.Answered, call.Output)
		}
		lat = append(lat, call.OutputAt.Sub(call.CalledAt))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("MCP tool (loopback Streamable HTTP) call → output at the emulator over %d calls: median %v, p90 %v, max %v",
		len(lat), lat[len(lat)/2], lat[len(lat)*9/10], lat[len(lat)-1])
}

// TestUpdateToolsBeforeTheChannel: a tool list given before the data channel opens
// goes out in the first session.update (with the rest of the config), and one given
// later replaces it with a session.update of tools only; [] clears them.
func TestUpdateToolsBeforeTheChannel(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := startEmulator(t)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	key, err := srv.MintKey(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(key, testOpts(WithSessionConfig(pttConfig()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.UpdateTools([]events.Tool{{Name: "early", Description: "queued"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c := waitCall(t, srv, "the first session.update with the queued tool", func(c emulator.CallStats) bool {
		return slices.Equal(toolNames(c.Session.Tools), []string{"early"})
	})
	if c.Session.Instructions != "test" || countOf(c.ClientEvents, "session.update") != 1 {
		t.Errorf("the first update lost the config or came twice: %+v, events %q", c.Session, c.ClientEvents)
	}
	if err := s.UpdateTools([]events.Tool{{Name: "later"}}); err != nil {
		t.Fatal(err)
	}
	waitCall(t, srv, "the replaced list", func(c emulator.CallStats) bool { return slices.Equal(toolNames(c.Session.Tools), []string{"later"}) })
	if err := s.UpdateTools(nil); err != nil {
		t.Fatal(err)
	}
	c = waitCall(t, srv, "the cleared list", func(c emulator.CallStats) bool { return c.Session.Tools != nil && len(c.Session.Tools) == 0 })
	if c.Session.Instructions != "test" {
		t.Errorf("a tools-only update changed the instructions: %q", c.Session.Instructions)
	}
	s.Close()
	if err := s.UpdateTools(nil); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}
