// These tests drive the button through periph's own fake, gpiotest.Pin (edges through
// EdgesChan, time through its clockwork Clock). They run in `make test` with the rest.

package button_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/edgevoice/edgevoice/hw/button"
)

func runGpiotest(t *testing.T, p *gpiotest.Pin, fc *clockwork.FakeClock, o button.Opts) (*button.Dev, func()) {
	t.Helper()
	before := runtime.NumGoroutine()
	d, err := button.New(p, &o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	return d, func() {
		cancel()
		deadline := time.After(5 * time.Second)
	wait:
		for {
			select {
			case err := <-done:
				if err != nil {
					t.Error(err)
				}
				break wait
			case <-time.After(10 * time.Millisecond):
				if fc != nil {
					fc.Advance(button.DefaultPoll) // end the bounded wait
				}
			case <-deadline:
				t.Fatal("Run did not end after cancel")
			}
		}
		checkNoLeak(t, before)
	}
}

// TestGpiotestLatencyFakeClock: on gpiotest's fake clock the Press comes exactly one
// debounce time after the edge.
func TestGpiotestLatencyFakeClock(t *testing.T) {
	ctx := context.Background()
	fc := clockwork.NewFakeClockAt(t0)
	p := &gpiotest.Pin{N: "GPIO17", EdgesChan: make(chan gpio.Level), Clock: fc}
	d, stop := runGpiotest(t, p, fc, button.Opts{Name: "talk", ActiveLow: true, Pull: gpio.PullUp, Clock: fc})
	defer stop()
	if err := fc.BlockUntilContext(ctx, 1); err != nil { // the first bounded wait
		t.Fatal(err)
	}
	p.EdgesChan <- gpio.Low
	// The stale 100 ms wait of the first call plus the new debounce wait.
	if err := fc.BlockUntilContext(ctx, 2); err != nil {
		t.Fatal(err)
	}
	fc.Advance(button.DefaultDebounce - time.Millisecond)
	select {
	case e := <-d.Events():
		t.Fatalf("event %v before the debounce time", e)
	case <-time.After(20 * time.Millisecond):
	}
	fc.Advance(time.Millisecond)
	select {
	case e := <-d.Events():
		if e.Kind != button.Press || e.Time.Sub(t0) != button.DefaultDebounce {
			t.Fatalf("event %v at %v, want press at %v", e, e.Time.Sub(t0), button.DefaultDebounce)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no press")
	}
}

// TestGpiotestBounces: bursts of edges through EdgesChan give one Press and one
// Release (real clock, 5 ms debounce).
func TestGpiotestBounces(t *testing.T) {
	p := &gpiotest.Pin{N: "GPIO17", EdgesChan: make(chan gpio.Level), Clock: clockwork.NewRealClock()}
	d, stop := runGpiotest(t, p, nil, button.Opts{Name: "talk", ActiveLow: true, Pull: gpio.PullUp, Debounce: 5 * time.Millisecond})
	defer stop()
	burst := func(levels ...gpio.Level) {
		for _, l := range levels {
			p.EdgesChan <- l
		}
	}
	burst(gpio.Low, gpio.High, gpio.Low, gpio.High, gpio.Low)
	time.Sleep(50 * time.Millisecond)
	burst(gpio.High, gpio.Low, gpio.High)
	time.Sleep(50 * time.Millisecond)
	var got []string
	for len(got) < 3 {
		select {
		case e := <-d.Events():
			got = append(got, e.Kind.String())
		case <-time.After(2 * time.Second):
			t.Fatalf("events %v, want press, release, click", got)
		}
	}
	if got[0] != "press" || got[1] != "release" || got[2] != "click" {
		t.Fatalf("events %v", got)
	}
	select {
	case e := <-d.Events():
		t.Fatalf("extra event %v", e)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestGpiotestHeldAtStart: a line already low (no pull) is a press held at start.
func TestGpiotestHeldAtStart(t *testing.T) {
	p := &gpiotest.Pin{N: "GPIO17", EdgesChan: make(chan gpio.Level), L: gpio.Low, Clock: clockwork.NewRealClock()}
	d, stop := runGpiotest(t, p, nil, button.Opts{Name: "talk", ActiveLow: true, Pull: gpio.Float})
	defer stop()
	select {
	case e := <-d.Events():
		if e.Kind != button.Press || !e.HeldAtStart {
			t.Fatalf("event %+v, want a press held at start", e)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no press for a button held at start")
	}
}
