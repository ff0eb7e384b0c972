package led_test

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/edgevoice/edgevoice/hw/led"
)

// nopPin is an output line that costs nothing, so the benchmarks measure the engine.
type nopPin struct{ gpio.PinOut }

func (nopPin) Out(gpio.Level) error { return nil }
func (nopPin) String() string       { return "nop" }

// BenchmarkStepPWM measures the engine's work per second of pattern time for a
// pulsing LED under 100 Hz software PWM (Step only, on a simulated timeline):
// %core = CPU time of the steps / pattern time covered.
func BenchmarkStepPWM(b *testing.B) {
	for _, s := range []led.State{led.Idle, led.Thinking} {
		b.Run(s.String(), func(b *testing.B) {
			d, err := led.NewGPIO(nopPin{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			d.SetState(s)
			now, steps := t0, 0
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(d.Step(now))
				steps++
			}
			sec := now.Sub(t0).Seconds()
			b.ReportMetric(float64(steps)/sec, "wakeups/s")
			b.ReportMetric(b.Elapsed().Seconds()/sec*100, "%core")
		})
	}
}

// cpuPercent returns the process CPU time (user + system) per wall time while run
// sleeps through b.Loop in 100 ms steps.
func cpuPercent(b *testing.B) float64 {
	var r0, r1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	start := time.Now()
	for b.Loop() {
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	wall := time.Since(start)
	cpu := time.Duration(r1.Utime.Nano()-r0.Utime.Nano()) + time.Duration(r1.Stime.Nano()-r0.Stime.Nano())
	return float64(cpu) / float64(wall) * 100
}

// BenchmarkTimerBaseline is the floor any timer-driven software PWM pays here: a bare
// Go timer firing 200 times a second (two line changes per 100 Hz period), with no
// work at all, and an idle process for reference.
func BenchmarkTimerBaseline(b *testing.B) {
	for _, rate := range []int{0, 200} {
		name := "idle"
		if rate > 0 {
			name = "timer-200Hz"
		}
		b.Run(name, func(b *testing.B) {
			stop := make(chan struct{})
			var wg sync.WaitGroup
			if rate > 0 {
				wg.Go(func() {
					t := time.NewTimer(time.Second / time.Duration(rate))
					defer t.Stop()
					for {
						select {
						case <-stop:
							return
						case <-t.C:
							t.Reset(time.Second / time.Duration(rate))
						}
					}
				})
			}
			b.ReportMetric(cpuPercent(b), "%core")
			close(stop)
			wg.Wait()
		})
	}
}

// BenchmarkEngineCPU runs the real engine (real clock and timers, goroutine wakeups
// included) and reports the process CPU time (getrusage) per wall time while it
// shows a state: the software-PWM cost on this machine.
func BenchmarkEngineCPU(b *testing.B) {
	for _, s := range []led.State{led.Idle, led.Thinking} {
		b.Run(s.String(), func(b *testing.B) {
			d, err := led.NewGPIO(nopPin{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { _ = d.Run(ctx) })
			d.SetState(s)
			time.Sleep(50 * time.Millisecond)
			pct := cpuPercent(b)
			cancel()
			wg.Wait()
			b.ReportMetric(pct, "%core")
		})
	}
}
