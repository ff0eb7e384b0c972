package sim

import (
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/pin"
)

// Pin is a simulated GPIO line (gpio.PinIO). Set drives it from outside (a button
// contact); without a drive the level follows the pull set by In. Edges are queued
// like the kernel's line events and consumed by WaitForEdge, whose timeout runs on
// Clock. Out records the level for output use.
type Pin struct {
	name  string
	clock clockwork.Clock

	mu      sync.Mutex
	level   gpio.Level
	driven  bool
	pull    gpio.Pull
	edge    gpio.Edge
	edges   chan gpio.Level
	outs    []gpio.Level
	waiters int    // goroutines inside WaitForEdge
	enters  uint64 // WaitForEdge calls so far
	setAt   uint64 // enters at the last Set
}

// NewPin returns a pin called name; clock nil means the real clock.
func NewPin(name string, clock clockwork.Clock) *Pin {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return &Pin{name: name, clock: clock, edges: make(chan gpio.Level, 64)}
}

// Set drives the line to l (as a pressed or released contact would) and queues an
// edge when edge detection is on and the level changes.
func (p *Pin) Set(l gpio.Level) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.driven = true
	p.setAt = p.enters
	if l == p.level {
		return
	}
	p.level = l
	if p.edge == gpio.NoEdge || (p.edge == gpio.RisingEdge && l == gpio.Low) || (p.edge == gpio.FallingEdge && l == gpio.High) {
		return
	}
	select {
	case p.edges <- l:
	default: // queue full: an edge is lost, as on a real line under load
	}
}

// Settle waits (up to 5 s of real time) until every queued edge was consumed and a
// goroutine waits in WaitForEdge again after the last Set; it reports success.
func (p *Pin) Settle() bool {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		ok := len(p.edges) == 0 && p.waiters > 0 && p.enters > p.setAt
		p.mu.Unlock()
		if ok {
			return true
		}
		time.Sleep(20 * time.Microsecond)
	}
	return false
}

// Waiting reports whether a goroutine waits in WaitForEdge.
func (p *Pin) Waiting() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waiters > 0
}

// Outs returns the levels written with Out, in order (the newest 32768 to 65536).
func (p *Pin) Outs() []gpio.Level {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]gpio.Level(nil), p.outs...)
}

// String implements conn.Resource.
func (p *Pin) String() string { return p.name }

// Halt implements conn.Resource.
func (p *Pin) Halt() error { return nil }

// Name implements pin.Pin.
func (p *Pin) Name() string { return p.name }

// Number implements pin.Pin.
func (p *Pin) Number() int { return -1 }

// Function implements pin.Pin.
func (p *Pin) Function() string { return string(p.Func()) }

// Func implements pin.PinFunc.
func (p *Pin) Func() pin.Func {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.edge != gpio.NoEdge || len(p.outs) == 0 {
		return gpio.IN
	}
	return gpio.OUT
}

// SupportedFuncs implements pin.PinFunc.
func (p *Pin) SupportedFuncs() []pin.Func { return []pin.Func{gpio.IN, gpio.OUT} }

// SetFunc implements pin.PinFunc.
func (p *Pin) SetFunc(f pin.Func) error { return fmt.Errorf("sim: %s: SetFunc not supported", p.name) }

// In implements gpio.PinIn: it sets the pull (which decides the level of an
// undriven line) and edge detection, and flushes queued edges.
func (p *Pin) In(pull gpio.Pull, edge gpio.Edge) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pull, p.edge = pull, edge
	if !p.driven {
		switch pull {
		case gpio.PullUp:
			p.level = gpio.High
		case gpio.PullDown:
			p.level = gpio.Low
		}
	}
	for len(p.edges) > 0 {
		<-p.edges
	}
	return nil
}

// Read implements gpio.PinIn.
func (p *Pin) Read() gpio.Level {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.level
}

// WaitForEdge implements gpio.PinIn; timeout -1 waits forever.
func (p *Pin) WaitForEdge(timeout time.Duration) bool {
	p.mu.Lock()
	p.waiters++
	p.enters++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.waiters--
		p.mu.Unlock()
	}()
	if timeout < 0 {
		<-p.edges
		return true
	}
	t := p.clock.NewTimer(timeout)
	select {
	case <-p.edges:
		t.Stop()
		return true
	case <-t.Chan():
		return false
	}
}

// Pull implements gpio.PinIn.
func (p *Pin) Pull() gpio.Pull {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pull
}

// DefaultPull implements gpio.PinIn.
func (p *Pin) DefaultPull() gpio.Pull { return gpio.Float }

// Out implements gpio.PinOut.
func (p *Pin) Out(l gpio.Level) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.level = l
	if len(p.outs) >= 1<<16 { // keep the newest half: a long PWM run stays bounded
		p.outs = append(p.outs[:0], p.outs[len(p.outs)/2:]...)
	}
	p.outs = append(p.outs, l)
	return nil
}

// PWM implements gpio.PinOut; the simulated line has no hardware PWM.
func (p *Pin) PWM(gpio.Duty, physic.Frequency) error {
	return fmt.Errorf("sim: %s: no hardware PWM", p.name)
}

var _ gpio.PinIO = (*Pin)(nil)
