package button_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"

	"github.com/edgevoice/edgevoice/hw/button"
	"github.com/edgevoice/edgevoice/hw/sim"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// rig runs one active-low button on a simulated pin and a fake clock.
type rig struct {
	t     *testing.T
	clk   *clockwork.FakeClock
	pin   *sim.Pin
	dev   *button.Dev
	done  chan error
	stop  context.CancelFunc
	start int
}

func newRig(t *testing.T, o button.Opts, heldAtStart bool) *rig {
	t.Helper()
	r := &rig{t: t, clk: clockwork.NewFakeClockAt(t0), start: runtime.NumGoroutine()}
	r.pin = sim.NewPin("BTN", r.clk)
	if heldAtStart {
		r.pin.Set(gpio.Low)
	}
	o.Clock = r.clk
	o.ActiveLow = true
	o.Pull = gpio.PullUp
	o.Name = "talk"
	var err error
	if r.dev, err = button.New(r.pin, &o); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	r.done = make(chan error, 1)
	go func() { r.done <- r.dev.Run(ctx) }()
	if !sim.Advance(r.clk, 0, 0, 1) {
		t.Fatal("button loop never waited for an edge")
	}
	t.Cleanup(r.close)
	return r
}

// set drives the line and waits until the loop took the edge and waits again.
func (r *rig) set(l gpio.Level) {
	r.t.Helper()
	r.pin.Set(l)
	if !r.pin.Settle() {
		r.t.Fatal("button loop did not take the edge")
	}
}

// advance moves the fake clock forward by d in 1 ms steps, letting the button loop
// react at each.
func (r *rig) advance(d time.Duration) {
	r.t.Helper()
	if !sim.Advance(r.clk, d, time.Millisecond, 1) {
		r.t.Fatal("the button loop did not wait on the clock again")
	}
}

func (r *rig) events() []button.Event {
	var evs []button.Event
	for {
		select {
		case e := <-r.dev.Events():
			evs = append(evs, e)
		default:
			return evs
		}
	}
}

func (r *rig) close() {
	r.stop()
	r.clk.Advance(button.DefaultPoll) // the bounded wait ends and Run sees the cancel
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		r.t.Fatal("Run did not return after cancel")
	}
	checkNoLeak(r.t, r.start)
}

func checkNoLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines leaked: %d > %d\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}

func kinds(evs []button.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Kind.String())
	}
	return strings.Join(s, ",")
}

func TestRunBounceOnePressOneRelease(t *testing.T) {
	r := newRig(t, button.Opts{}, false)
	r.advance(time.Second)
	for i, l := range []gpio.Level{gpio.Low, gpio.High, gpio.Low, gpio.High, gpio.Low} {
		r.set(l)
		if i < 4 {
			r.advance(time.Millisecond)
		}
	}
	settled := r.clk.Now()
	r.advance(19 * time.Millisecond)
	if evs := r.events(); len(evs) != 0 {
		t.Fatalf("events before the debounce time: %s", kinds(evs))
	}
	r.advance(time.Millisecond)
	evs := r.events()
	if kinds(evs) != "press" {
		t.Fatalf("events %s, want press", kinds(evs))
	}
	if lat := evs[0].Time.Sub(settled); lat > button.DefaultDebounce+time.Millisecond {
		t.Errorf("press→event %v > debounce + 1 ms", lat)
	}
	r.advance(500 * time.Millisecond)
	for _, l := range []gpio.Level{gpio.High, gpio.Low, gpio.High} {
		r.set(l)
		r.advance(2 * time.Millisecond)
	}
	r.advance(30 * time.Millisecond)
	if k := kinds(r.events()); k != "release,click" {
		t.Fatalf("events %s, want release,click", k)
	}
}

func TestRunLongPress(t *testing.T) {
	r := newRig(t, button.Opts{LongPress: []time.Duration{3 * time.Second, 10 * time.Second}}, false)
	r.set(gpio.Low)
	for range 12 {
		r.advance(time.Second)
	}
	evs := r.events()
	if kinds(evs) != "press,long-press,long-press" {
		t.Fatalf("events %s", kinds(evs))
	}
	if evs[1].Time.Sub(t0) != 3*time.Second || evs[2].Time.Sub(t0) != 10*time.Second || evs[2].Threshold != 1 {
		t.Errorf("long presses at %v (#%d), %v (#%d)", evs[1].Time.Sub(t0), evs[1].Threshold, evs[2].Time.Sub(t0), evs[2].Threshold)
	}
	r.set(gpio.High)
	r.advance(time.Second)
	if k := kinds(r.events()); k != "release" {
		t.Fatalf("after release: %s", k)
	}
}

func TestRunDoubleClick(t *testing.T) {
	r := newRig(t, button.Opts{DoubleClick: 400 * time.Millisecond}, false)
	r.set(gpio.Low)
	r.advance(100 * time.Millisecond)
	r.set(gpio.High)
	r.advance(100 * time.Millisecond)
	r.set(gpio.Low)
	r.advance(100 * time.Millisecond)
	r.set(gpio.High)
	r.advance(time.Second)
	if k := kinds(r.events()); k != "press,release,press,release,double-click" {
		t.Fatalf("events %s", k)
	}
}

func TestRunHeldAtStart(t *testing.T) {
	r := newRig(t, button.Opts{LongPress: []time.Duration{3 * time.Second}}, true)
	evs := r.events()
	if kinds(evs) != "press" || !evs[0].HeldAtStart {
		t.Fatalf("events %+v, want a press held at start", evs)
	}
	r.advance(4 * time.Second)
	r.set(gpio.High)
	r.advance(time.Second)
	if k := kinds(r.events()); k != "long-press,release" {
		t.Fatalf("events %s, want long-press,release (no click)", k)
	}
}

// TestRunMissedEdge: an edge the driver lost (the level changed, no event) is
// found by the re-read after the bounded wait.
func TestRunMissedEdge(t *testing.T) {
	r := newRig(t, button.Opts{}, false)
	// In() with edge detection off: the level changes without an edge.
	if err := r.pin.In(gpio.PullUp, gpio.NoEdge); err != nil {
		t.Fatal(err)
	}
	r.pin.Set(gpio.Low)
	r.advance(button.DefaultPoll + button.DefaultDebounce)
	if k := kinds(r.events()); k != "press" {
		t.Fatalf("events %s, want press", k)
	}
}

// TestRunCancelEndsGoroutine: cancel ends Run within one poll (real clock) and
// leaves no goroutine behind.
func TestRunCancelEndsGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	pin := sim.NewPin("BTN", nil)
	g := button.NewGroup(0)
	for _, n := range []string{"talk", "mute"} {
		o := button.DefaultOpts
		o.Name = n
		o.Poll = 20 * time.Millisecond
		if _, err := g.Add(pin, &o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := g.Add(pin, &button.Opts{Name: "talk"}); err == nil {
		t.Error("adding a button name twice succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Run took %v to end", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not end after cancel")
	}
	checkNoLeak(t, before)
}

func TestNewRejectsBadOpts(t *testing.T) {
	pin := sim.NewPin("BTN", nil)
	for _, o := range []button.Opts{
		{Debounce: -1},
		{LongPress: []time.Duration{3 * time.Second, time.Second}},
		{Debounce: 50 * time.Millisecond, LongPress: []time.Duration{10 * time.Millisecond}},
	} {
		if _, err := button.New(pin, &o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
	if _, err := button.New(nil, nil); err == nil {
		t.Error("New(nil pin) succeeded")
	}
}
