package sim_test

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/edgevoice/edgevoice/hw/button"
	"github.com/edgevoice/edgevoice/hw/led"
	"github.com/edgevoice/edgevoice/hw/sim"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func start(t *testing.T, b *sim.Board, clk *clockwork.FakeClock) (cancel func()) {
	t.Helper()
	before := runtime.NumGoroutine()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	if !b.WaitReady() {
		t.Fatal("buttons not ready")
	}
	var once sync.Once
	cancel = func() {
		once.Do(func() {
			stop()
			if clk != nil {
				clk.Advance(button.DefaultPoll)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not end")
			}
			deadline := time.Now().Add(2 * time.Second)
			for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > before {
				t.Errorf("goroutines leaked: %d > %d", n, before)
			}
		})
	}
	t.Cleanup(cancel)
	return cancel
}

// waitShown waits until the LEDs show state s with the mic indication mic.
func waitShown(t *testing.T, b *sim.Board, s led.State, mic bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if r := b.Recorder().Last(); r.State == s && r.MicLive == mic {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("LEDs never showed %s (mic %v)", s, mic)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

func next(t *testing.T, ch <-chan button.Event) button.Event {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no button event")
		return button.Event{}
	}
}

// TestProgrammatic drives the simulated board on the fake clock: Press/Release give
// the same debounced events as real pins, and the LED history records each state.
func TestProgrammatic(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	b, err := sim.New(&sim.Opts{Clock: clk, Pixels: 3})
	if err != nil {
		t.Fatal(err)
	}
	cancel := start(t, b, clk)
	// Four button loops and the LED engine wait on the clock.
	step := func(d time.Duration) {
		t.Helper()
		if !sim.Advance(clk, d, time.Millisecond, 5) {
			t.Fatal("the buttons and the LED engine did not wait on the clock again")
		}
	}
	step(0)
	// the engine's first frame (off) is shown before any state is set: on a slow machine
	// (armv7 under qemu) the engine may wait on the clock before it has shown it
	for deadline := time.Now().Add(5 * time.Second); len(b.History()) == 0; time.Sleep(50 * time.Microsecond) {
		if time.Now().After(deadline) {
			t.Fatal("the LED engine never showed its first frame")
		}
	}
	if err := b.Press(sim.Talk); err != nil {
		t.Fatal(err)
	}
	b.Pin(sim.Talk).Settle()
	step(button.DefaultDebounce)
	if e := next(t, b.Buttons().Events()); e.Button != sim.Talk || e.Kind != button.Press || e.Time != t0.Add(button.DefaultDebounce) {
		t.Fatalf("event %+v, want talk press at 20ms", e)
	}
	b.LEDs().SetState(led.Listening)
	b.LEDs().SetMicLive(true)
	waitShown(t, b, led.Listening, true)
	if err := b.Release(sim.Talk); err != nil {
		t.Fatal(err)
	}
	b.Pin(sim.Talk).Settle()
	step(button.DefaultDebounce)
	if e := next(t, b.Buttons().Events()); e.Kind != button.Release {
		t.Fatalf("event %+v, want release", e)
	}
	b.LEDs().SetMicLive(false)
	b.LEDs().SetState(led.Muted)
	waitShown(t, b, led.Muted, false)
	if err := b.Press("nope"); err == nil || !strings.Contains(err.Error(), "talk") {
		t.Errorf("Press(nope) = %v, want an error listing the buttons", err)
	}
	cancel()
	var states []string
	for _, r := range b.History() {
		s := r.State.String()
		if r.MicLive {
			s += "+mic"
		}
		if len(states) == 0 || states[len(states)-1] != s {
			states = append(states, s)
		}
	}
	got := strings.Join(states, ",")
	if !strings.HasPrefix(got, "off,") || !strings.Contains(got, "listening+mic") || !strings.HasSuffix(got, "muted,off") {
		t.Errorf("LED history %s, want off,…,listening+mic,…,muted,off", got)
	}
	last := b.History()[len(b.History())-1]
	for _, p := range last.Pixels {
		if p != (led.Color{}) {
			t.Errorf("LEDs not dark after Run ended: %v", last.Pixels)
		}
	}
}

// TestTerminalScriptedKeys feeds keys through a pipe: t presses and releases talk, m
// taps mute, q quits; the status line shows the LED state.
func TestTerminalScriptedKeys(t *testing.T) {
	b, err := sim.New(&sim.Opts{Pixels: 4})
	if err != nil {
		t.Fatal(err)
	}
	start(t, b, nil)
	pr, pw := io.Pipe()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- b.Terminal(context.Background(), pr, &out, true) }()
	ev := b.Buttons().Events()

	io.WriteString(pw, "t")
	if e := next(t, ev); e.Button != sim.Talk || e.Kind != button.Press {
		t.Fatalf("after t: %v", e)
	}
	b.LEDs().SetLevel(1) // the mic meter: the whole ring bright green
	b.LEDs().SetState(led.Listening)
	b.LEDs().SetMicLive(true)
	io.WriteString(pw, " ")
	if e := next(t, ev); e.Button != sim.Talk || e.Kind != button.Release {
		t.Fatalf("after space: %v", e)
	}
	if e := next(t, ev); e.Kind != button.Click {
		t.Fatalf("after space: %v, want click", e)
	}
	io.WriteString(pw, "m")
	for _, want := range []button.Kind{button.Press, button.Release, button.Click} {
		if e := next(t, ev); e.Button != sim.Mute || e.Kind != want {
			t.Fatalf("after m: %v, want mute %s", e, want)
		}
	}
	b.Note("hello from the appliance")
	io.WriteString(pw, "q")
	pw.Close() // Terminal joins its reader, which a pipe releases only when closed
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Terminal did not end on q")
	}
	s := out.String()
	for _, want := range []string{sim.Help, "LED listening", "MIC LIVE", "\x1b[38;2;0;255;0m●"} {
		if !strings.Contains(s, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, s)
		}
	}
}

// TestTerminalEOF: a script that ends still completes its taps, and the talk toggle
// stays where the script left it.
func TestTerminalEOF(t *testing.T) {
	b, err := sim.New(&sim.Opts{Pixels: 1})
	if err != nil {
		t.Fatal(err)
	}
	start(t, b, nil)
	var out bytes.Buffer
	if err := b.Terminal(context.Background(), strings.NewReader("t+x"), &out, false); err != nil {
		t.Fatal(err)
	}
	got := map[string][]button.Kind{}
	for len(got[sim.VolumeUp]) < 3 || len(got[sim.Talk]) < 1 {
		e := next(t, b.Buttons().Events())
		got[e.Button] = append(got[e.Button], e.Kind)
	}
	if k := got[sim.Talk]; len(k) != 1 || k[0] != button.Press {
		t.Errorf("talk events %v, want one press (still held)", k)
	}
	if !strings.Contains(out.String(), "LED off  [ ]") {
		t.Errorf("status line without colour: %q", out.String())
	}
}

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
