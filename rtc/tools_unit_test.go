package rtc

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
)

// countRunner counts calls per tool; "slow" blocks until its context ends.
type countRunner struct {
	mu    sync.Mutex
	calls map[string]int
}

func (r *countRunner) RunTool(ctx context.Context, name, args string) (string, error) {
	r.mu.Lock()
	r.calls[name]++
	r.mu.Unlock()
	if name == "slow" {
		<-ctx.Done()
		return "", ctx.Err()
	}
	if name == "huge" {
		return `"` + strings.Repeat("x", MaxToolOutput) + `"`, nil
	}
	return `{"ok":true}`, nil
}

func (r *countRunner) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[name]
}

// loopRig drives the call loop of a session directly: server events in, the client
// events queued on a connection whose data channel is not open (c.pending) out.
type loopRig struct {
	t *testing.T
	s *Session
	c *conn
	u turn
}

func newLoopRig(t *testing.T, r ToolRunner) *loopRig {
	t.Helper()
	s, err := New(testKey(), WithTools(r, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &loopRig{t: t, s: s, c: &conn{s: s, dialect: realtime.DialectGA, done: make(chan struct{})}}
}

func (g *loopRig) server(ev events.Event) {
	g.t.Helper()
	b, err := events.Marshal(realtime.DialectGA, ev)
	if err != nil {
		g.t.Fatal(err)
	}
	if err := g.s.handleServer(g.c, &g.u, b); err != nil {
		g.t.Fatal(err)
	}
}

// finish takes one finished call from the inbox and hands it to the loop.
func (g *loopRig) finish() {
	g.t.Helper()
	select {
	case m := <-g.s.inbox:
		if m.kind != msgToolDone {
			g.t.Fatalf("inbox: %v, want a tool result", m.kind)
		}
		g.s.toolDone(g.c, &g.u, m.tool)
	case <-time.After(5 * time.Second):
		g.t.Fatal("no tool result within 5 s")
	}
}

// sent returns the client events queued so far by type name, and the outputs' call ids.
func (g *loopRig) sent() (names []string, calls []string) {
	for _, b := range g.c.pending {
		ev, err := events.Decode(b)
		if err != nil {
			g.t.Fatal(err)
		}
		names = append(names, ev.Type().Name(realtime.DialectGA))
		if o, ok := ev.(events.FunctionCallOutput); ok {
			calls = append(calls, o.CallID)
		}
	}
	return names, calls
}

func (g *loopRig) stop() {
	g.s.cancelTools(g.c, "test end")
	close(g.c.done)
	g.c.wg.Wait()
}

func callItem(resp, call, name string) events.OutputItemDone {
	return events.OutputItemDone{ResponseID: resp, Item: events.OutputItem{ID: "item_" + call, Type: "function_call", Status: "completed", CallID: call, Name: name, Arguments: "{}"}}
}

// TestCallLoopOrder: a call announced by arguments.done and by output_item.done runs
// once; its output goes out at once; the response.create waits for response.done and
// comes once, even if response.done lists the call again.
func TestCallLoopOrder(t *testing.T) {
	r := &countRunner{calls: map[string]int{}}
	g := newLoopRig(t, r)
	defer g.stop()
	g.server(events.ResponseCreated{Response: events.Response{ID: "r1", Status: events.StatusInProgress}})
	g.server(events.FunctionCallArgumentsDone{ResponseID: "r1", ItemID: "item_c1", CallID: "c1", Name: "fast", Arguments: "{}"})
	g.server(callItem("r1", "c1", "fast"))
	g.finish()
	names, calls := g.sent()
	if strings.Join(names, " ") != "conversation.item.create" || calls[0] != "c1" {
		t.Fatalf("before response.done: sent %v %v, want only c1's output", names, calls)
	}
	done := events.ResponseDone{Response: events.Response{ID: "r1", Status: events.StatusCompleted, Output: []events.OutputItem{callItem("r1", "c1", "fast").Item}}}
	g.server(done)
	g.server(done) // a duplicate changes nothing
	names, _ = g.sent()
	if strings.Join(names, " ") != "conversation.item.create response.create" || r.count("fast") != 1 {
		t.Errorf("sent %v, %d runs; want one output, one response.create, one run", names, r.count("fast"))
	}
}

// TestCallLoopCancelledStaysCancelled: after a barge-in cancels a running call, the
// response's late events (its item, its response.done listing the call) do not start
// it again, and nothing is sent for it.
func TestCallLoopCancelledStaysCancelled(t *testing.T) {
	r := &countRunner{calls: map[string]int{}}
	g := newLoopRig(t, r)
	defer g.stop()
	g.server(events.FunctionCallArgumentsDone{ResponseID: "r1", ItemID: "item_c1", CallID: "c1", Name: "slow", Arguments: "{}"})
	deadline := time.Now().Add(5 * time.Second)
	for r.count("slow") == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	g.s.bargeIn(g.c, &g.u)
	g.server(callItem("r1", "c1", "slow"))
	g.server(events.ResponseDone{Response: events.Response{ID: "r1", Status: events.StatusCompleted, Output: []events.OutputItem{callItem("r1", "c1", "slow").Item}}})
	g.c.wg.Wait() // the cancelled call has returned
	if n := r.count("slow"); n != 1 {
		t.Errorf("the cancelled call ran %d times", n)
	}
	select {
	case m := <-g.s.inbox:
		t.Errorf("a cancelled call posted %+v", m)
	default:
	}
	if names, _ := g.sent(); len(names) != 0 {
		t.Errorf("sent %v for a cancelled call", names)
	}
	if st := g.s.Stats(); st.ToolsCancelled != 1 {
		t.Errorf("ToolsCancelled %d", st.ToolsCancelled)
	}
	// the next response's calls run as usual
	g.server(callItem("r2", "c2", "fast"))
	g.finish()
	if _, calls := g.sent(); len(calls) != 1 || calls[0] != "c2" {
		t.Errorf("outputs %v, want c2's", calls)
	}
}

// TestCallLoopOutputCap: an output larger than MaxToolOutput becomes an error output.
func TestCallLoopOutputCap(t *testing.T) {
	g := newLoopRig(t, &countRunner{calls: map[string]int{}})
	defer g.stop()
	g.server(callItem("r1", "c1", "huge"))
	g.finish()
	ev, err := events.Decode(g.c.pending[0])
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := ev.(events.FunctionCallOutput); !ok || len(o.Output) > 200 || !strings.Contains(o.Output, "larger than 32768") {
		t.Errorf("output %.200v", ev)
	}
}
