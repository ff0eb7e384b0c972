package rtc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/edgevoice/edgevoice/tools"
	"github.com/pion/transport/v5/test"
)

// volDevice is a tools.Device with only a volume (the rest is not called here).
type volDevice struct {
	mu  sync.Mutex
	vol float64
}

func (d *volDevice) Volume() float64 { d.mu.Lock(); defer d.mu.Unlock(); return d.vol }
func (d *volDevice) SetVolume(_ context.Context, v float64) (float64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.vol = v
	return v, nil
}
func (d *volDevice) SetMuted(context.Context, bool) error { return nil }
func (d *volDevice) Stop(context.Context) error           { return nil }
func (d *volDevice) Status() tools.DeviceStatus           { return tools.DeviceStatus{State: "test"} }

// barrierRunner runs tools through set, but only once n calls are running at the same
// time (or its deadline passed): parallel calls must run concurrently.
type barrierRunner struct {
	set      *tools.Set
	n        int
	mu       sync.Mutex
	running  int
	all      chan struct{}
	maxConc  int
	timedOut bool
}

func (b *barrierRunner) RunTool(ctx context.Context, name, args string) (string, error) {
	b.mu.Lock()
	b.running++
	b.maxConc = max(b.maxConc, b.running)
	if b.running == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
	case <-time.After(5 * time.Second):
		b.mu.Lock()
		b.timedOut = true
		b.mu.Unlock()
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return b.set.RunTool(ctx, name, args)
}

// toolSession starts a session with runner against srv with key profile, and waits
// for it to be connected and configured. The caller closes it (before the routine
// check).
func toolSession(t *testing.T, srv *emulator.Server, profile string, runner ToolRunner, extra ...Option) (*Session, *eventRecorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	key, err := srv.MintKey(ctx, profile)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(key, testOpts(append([]Option{WithSessionConfig(pttConfig()), WithTools(runner, 3*time.Second)}, extra...)...)...)
	if err != nil {
		t.Fatal(err)
	}
	rec := recordEvents(s)
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, 5*time.Second, isState(StateConnected))
	waitSessionUpdated(ctx, t, srv, key.Dialect)
	return s, rec
}

// waitCall waits until the emulator's last call satisfies cond.
func waitCall(t *testing.T, srv *emulator.Server, what string, cond func(emulator.CallStats) bool) emulator.CallStats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.WaitStats(ctx, func(st emulator.Stats) bool {
		c, ok := st.LastCall()
		return ok && cond(c)
	}); err != nil {
		c, _ := srv.Stats().LastCall()
		t.Fatalf("%s: %v; emulator: client events %q, tools %+v", what, err, c.ClientEvents, c.Tools)
	}
	c, _ := srv.Stats().LastCall()
	return c
}

// TestToolCallBothDialects: the model calls set_volume and get_time in parallel; both
// run at the same time, the volume changes, both outputs reach the emulator before the
// one response.create, and the follow-up answer plays. No argument or output text is
// in the info log. GA names the tool in arguments.done; preview only in the item.
func TestToolCallBothDialects(t *testing.T) {
	defer test.CheckRoutines(t)()
	for _, profile := range []string{"openai", "azure-preview"} {
		t.Run(profile, func(t *testing.T) {
			srv := startEmulator(t, emulator.WithToolScript(emulator.ToolTurn{Calls: []emulator.ToolCall{
				{Name: "set_volume", Arguments: `{"level":0.37}`},
				{Name: "get_time", Arguments: `{}`},
			}, After: 20 * time.Millisecond}))
			defer srv.Close()
			dev := &volDevice{vol: 0.8}
			set := tools.NewSet(nil)
			if err := tools.Builtins(set, dev, []string{"set_volume", "get_time"}, tools.BuiltinOpts{}); err != nil {
				t.Fatal(err)
			}
			runner := &barrierRunner{set: set, n: 2, all: make(chan struct{})}
			var logBuf bytes.Buffer
			var logMu sync.Mutex
			log := slog.New(slog.NewTextHandler(lockedWriter{&logBuf, &logMu}, &slog.HandlerOptions{Level: slog.LevelInfo}))
			s, rec := toolSession(t, srv, profile, runner, WithLogger(log))
			defer s.Close()
			if err := s.Say("make it quieter and tell me the time"); err != nil {
				t.Fatal(err)
			}
			rec.wait(t, 10*time.Second, isKind(EventSpeakingStarted)) // the follow-up answer
			rec.wait(t, 10*time.Second, isKind(EventSpeakingStopped))
			c := waitCall(t, srv, "the follow-up", func(c emulator.CallStats) bool { return c.Tools.FollowUps == 1 })
			if got := dev.Volume(); got != 0.37 {
				t.Errorf("volume %v, want 0.37", got)
			}
			runner.mu.Lock()
			if runner.maxConc != 2 || runner.timedOut {
				t.Errorf("the two calls did not run concurrently (max %d at once, timed out %v)", runner.maxConc, runner.timedOut)
			}
			runner.mu.Unlock()
			tl := c.Tools
			if len(tl.Calls) != 2 || !tl.Calls[0].Answered || !tl.Calls[1].Answered || len(tl.Violations) != 0 {
				t.Fatalf("tool stats %+v", tl)
			}
			if tl.Calls[0].Output != `{"volume":0.37}` || !strings.Contains(tl.Calls[1].Output, `"time_zone"`) {
				t.Errorf("outputs %q, %q", tl.Calls[0].Output, tl.Calls[1].Output)
			}
			// client events: say's item, its response.create, two outputs, one response.create
			want := []string{"session.update", "conversation.item.create", "response.create", "conversation.item.create", "conversation.item.create", "response.create"}
			if !slices.Equal(c.ClientEvents, want) {
				t.Errorf("client events %q, want %q", c.ClientEvents, want)
			}
			last := c.Responses[len(c.Responses)-1]
			if !last.Audio || last.PacketsSent == 0 {
				t.Errorf("the follow-up answer had no audio: %+v", last)
			}
			if st := s.Stats(); st.ToolCalls != 2 || st.ToolsCancelled != 0 || st.PacketsReceived == 0 {
				t.Errorf("stats: %d tool calls, %d cancelled, %d packets received", st.ToolCalls, st.ToolsCancelled, st.PacketsReceived)
			}
			logMu.Lock()
			text := logBuf.String()
			logMu.Unlock()
			for _, secret := range []string{"0.37", "time_zone", "utc_offset"} {
				if strings.Contains(text, secret) {
					t.Errorf("the info log holds argument or output text %q:\n%s", secret, text)
				}
			}
			if !strings.Contains(text, "tool=set_volume") || !strings.Contains(text, "bytes=15") {
				t.Errorf("the info log does not name the tool and its result size:\n%s", text)
			}
		})
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

// slowRunner blocks every call until its context ends.
type slowRunner struct {
	started chan string
	ended   chan error
}

func (r *slowRunner) RunTool(ctx context.Context, name, _ string) (string, error) {
	r.started <- name
	<-ctx.Done()
	r.ended <- ctx.Err()
	return `{"late":true}`, nil // a result after the cancel must not be sent
}

// TestToolBargeIn: a press while a slow tool runs cancels it; nothing of it is sent
// (no output, no response.create), and the next turn works.
func TestToolBargeIn(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := startEmulator(t, emulator.WithToolScript(emulator.ToolTurn{Calls: []emulator.ToolCall{{Name: "slow_lookup", Arguments: `{}`}}}))
	defer srv.Close()
	r := &slowRunner{started: make(chan string, 1), ended: make(chan error, 1)}
	s, rec := toolSession(t, srv, "openai", r)
	defer s.Close()
	if err := s.Say("look it up"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the tool did not start")
	}
	rec.wait(t, 5*time.Second, isKind(EventThinking))
	s.Press() // barge-in
	select {
	case err := <-r.ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the tool's context ended with %v, want cancelled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the press did not cancel the running tool")
	}
	s.Release()
	// A new turn (a text prompt) goes through: the emulator sees it after anything
	// the cancelled call could have sent.
	if err := s.Say("never mind"); err != nil {
		t.Fatal(err)
	}
	c := waitCall(t, srv, "the next turn", func(c emulator.CallStats) bool { return c.Tools.Abandoned == 1 && len(c.Responses) >= 2 })
	if c.Tools.Calls[0].Answered || c.Tools.FollowUps != 0 || len(c.Tools.Violations) != 0 {
		t.Errorf("a cancelled call was answered: %+v", c.Tools)
	}
	if n := strings.Count(strings.Join(c.ClientEvents, " "), "response.create"); n != 2 {
		t.Errorf("%d response.create (want 2: one per text prompt, none for the cancelled call): %q", n, c.ClientEvents)
	}
	if st := s.Stats(); st.ToolsCancelled != 1 || st.ToolCalls != 0 {
		t.Errorf("stats: %d cancelled, %d outputs; want 1, 0", st.ToolsCancelled, st.ToolCalls)
	}
}

// errRunner fails on purpose: unknown tools, invalid arguments (through a real Set's
// schema), and a tool that outlives the session's tool timeout.
type errRunner struct{ set *tools.Set }

func (r errRunner) RunTool(ctx context.Context, name, args string) (string, error) {
	if name == "hang" {
		<-ctx.Done()
		return "", ctx.Err()
	}
	return r.set.RunTool(ctx, name, args)
}

// TestToolErrors: an unknown tool, arguments the schema rejects and a timeout each give
// the model an error output; the response.create still follows, and the device is
// untouched.
func TestToolErrors(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := startEmulator(t, emulator.WithToolScript(emulator.ToolTurn{Calls: []emulator.ToolCall{
		{Name: "launch_rockets", Arguments: `{}`},
		{Name: "set_volume", Arguments: `{"level":5}`},
		{Name: "set_volume", Arguments: `{"level":`},
		{Name: "hang", Arguments: `{}`},
	}}))
	defer srv.Close()
	dev := &volDevice{vol: 0.5}
	set := tools.NewSet(nil)
	if err := tools.Builtins(set, dev, []string{"set_volume"}, tools.BuiltinOpts{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	key, err := srv.MintKey(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(key, testOpts(WithSessionConfig(pttConfig()), WithTools(errRunner{set}, 300*time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := recordEvents(s)
	s.Start(ctx)
	rec.wait(t, 5*time.Second, isState(StateConnected))
	waitSessionUpdated(ctx, t, srv, key.Dialect)
	if err := s.Say("do impossible things"); err != nil {
		t.Fatal(err)
	}
	c := waitCall(t, srv, "the follow-up", func(c emulator.CallStats) bool { return c.Tools.FollowUps == 1 })
	wants := []string{`unknown tool \"launch_rockets\"`, "invalid arguments for set_volume: /level: maximum", "invalid arguments: not JSON", "did not answer within 300ms"}
	var outs []string
	for i, call := range c.Tools.Calls {
		var o struct{ Error string }
		if err := json.Unmarshal([]byte(call.Output), &o); err != nil || o.Error == "" {
			t.Errorf("call %d output %q is not an error output", i, call.Output)
		}
		outs = append(outs, call.Output)
	}
	for i, w := range wants {
		if i >= len(outs) || !strings.Contains(outs[i], w) {
			t.Errorf("output %d: %q, want it to mention %q", i, outs, w)
		}
	}
	if dev.Volume() != 0.5 || len(c.Tools.Violations) != 0 {
		t.Errorf("volume %v, violations %q", dev.Volume(), c.Tools.Violations)
	}
}

// TestToolWithoutRunner: a session without WithTools answers a call with an error
// output (the model is not left waiting).
func TestToolWithoutRunner(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := startEmulator(t, emulator.WithToolScript(emulator.ToolTurn{Calls: []emulator.ToolCall{{Name: "x", Arguments: `{}`}}}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	key, err := srv.MintKey(ctx, "azure-preview")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(key, testOpts(WithSessionConfig(pttConfig()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := recordEvents(s)
	s.Start(ctx)
	rec.wait(t, 5*time.Second, isState(StateConnected))
	waitSessionUpdated(ctx, t, srv, key.Dialect)
	s.Say("hi")
	c := waitCall(t, srv, "the follow-up", func(c emulator.CallStats) bool { return c.Tools.FollowUps == 1 })
	if !strings.Contains(c.Tools.Calls[0].Output, "this device runs no tools") {
		t.Errorf("output %q", c.Tools.Calls[0].Output)
	}
}

// TestToolLatency measures the model's call → output sent for a built-in, as the
// emulator sees it (output_item.done written → function_call_output received: the
// data channel both ways, the session's dispatch, the schema check and the tool), over
// repeated turns. It reports the figures; it fails only if a call goes unanswered.
func TestToolLatency(t *testing.T) {
	defer test.CheckRoutines(t)()
	const n = 10
	turns := make([]emulator.ToolTurn, n)
	for i := range turns {
		turns[i] = emulator.ToolTurn{Calls: []emulator.ToolCall{{Name: "set_volume", Arguments: `{"level":0.5}`}}}
	}
	srv := startEmulator(t, emulator.WithToolScript(turns...))
	defer srv.Close()
	dev := &volDevice{}
	set := tools.NewSet(nil)
	if err := tools.Builtins(set, dev, []string{"set_volume"}, tools.BuiltinOpts{}); err != nil {
		t.Fatal(err)
	}
	runner := &timedRunner{set: set}
	s, _ := toolSession(t, srv, "openai", runner)
	defer s.Close()
	for i := range n {
		s.Say("again")
		waitCall(t, srv, "the follow-up", func(c emulator.CallStats) bool { return c.Tools.FollowUps == i+1 })
		waitCall(t, srv, "the answer", func(c emulator.CallStats) bool {
			return len(c.Responses) == 2*(i+1) && c.Responses[2*i+1].Status != events.StatusInProgress
		})
	}
	c, _ := srv.Stats().LastCall()
	var lat []time.Duration
	for _, call := range c.Tools.Calls {
		if !call.Answered {
			t.Fatalf("call %s unanswered", call.CallID)
		}
		lat = append(lat, call.OutputAt.Sub(call.CalledAt))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	runner.mu.Lock()
	own := slices.Clone(runner.took)
	runner.mu.Unlock()
	sort.Slice(own, func(i, j int) bool { return own[i] < own[j] })
	t.Logf("set_volume call → output at the emulator over %d calls: median %v, p90 %v, max %v (the tool itself: median %v, max %v)",
		len(lat), lat[len(lat)/2], lat[len(lat)*9/10], lat[len(lat)-1], own[len(own)/2], own[len(own)-1])
}

type timedRunner struct {
	set  *tools.Set
	mu   sync.Mutex
	took []time.Duration
}

func (r *timedRunner) RunTool(ctx context.Context, name, args string) (string, error) {
	start := time.Now()
	out, err := r.set.RunTool(ctx, name, args)
	r.mu.Lock()
	r.took = append(r.took, time.Since(start))
	r.mu.Unlock()
	return out, err
}
