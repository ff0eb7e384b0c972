package button

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
)

// Kind is the type of a button event.
type Kind uint8

// Event kinds.
const (
	Press       Kind = iota + 1 // the button went down (stable for the debounce time)
	Release                     // the button went up
	Click                       // a short press and release (no long press)
	DoubleClick                 // two short presses within the double-click window
	LongPress                   // the button has been held for Opts.LongPress[Event.Threshold]
)

var kindNames = [...]string{"invalid", "press", "release", "click", "double-click", "long-press"}

// String returns "press", "release", "click", "double-click" or "long-press".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Event is one thing a button did.
type Event struct {
	Button string    // Opts.Name ("talk", "mute", ...)
	Kind   Kind      //
	Time   time.Time // when the event was decided (after debounce)
	// Held is how long the button was held: the threshold for LongPress, the whole
	// press for Release.
	Held time.Duration
	// Threshold is the index into Opts.LongPress for a LongPress event.
	Threshold int
	// HeldAtStart marks the Press of a button already held when Run started, and its
	// LongPress and Release events.
	HeldAtStart bool
}

// String formats the event for logs ("talk long-press#1 10s").
func (e Event) String() string {
	switch e.Kind {
	case LongPress:
		return fmt.Sprintf("%s %s#%d %s", e.Button, e.Kind, e.Threshold, e.Held)
	case Release:
		return fmt.Sprintf("%s %s after %s", e.Button, e.Kind, e.Held)
	}
	return e.Button + " " + e.Kind.String()
}

// DefaultDebounce is the debounce time used when Opts.Debounce is zero.
const DefaultDebounce = 20 * time.Millisecond

// DefaultPoll bounds every WaitForEdge so Run notices cancellation.
const DefaultPoll = 100 * time.Millisecond

// Opts configures a button.
type Opts struct {
	Name string // reported in Event.Button; "button" when empty
	// ActiveLow: the button pulls the line low when pressed (the usual wiring to
	// ground with a pull-up).
	ActiveLow bool
	// Pull is the bias set on the pin (gpio.PullUp, gpio.PullDown, gpio.Float, or
	// gpio.PullNoChange to keep the board's setting).
	Pull gpio.Pull
	// Debounce is how long a level must be stable to count; 0 means DefaultDebounce.
	Debounce time.Duration
	// LongPress lists hold times that each produce one LongPress event, ascending.
	LongPress []time.Duration
	// DoubleClick is the window after a short press within which a second short
	// press makes a DoubleClick; 0 disables double clicks (Click comes at release).
	DoubleClick time.Duration
	// Poll bounds each WaitForEdge; 0 means DefaultPoll.
	Poll time.Duration
	// Events receives the events; nil makes a channel of 32 (see Dev.Events).
	Events chan Event
	// Clock timestamps the events; nil means the real clock. Tests pass a
	// clockwork.FakeClock that also drives the pin's WaitForEdge timeouts
	// (gpiotest.Pin.Clock, sim.NewPin).
	Clock clockwork.Clock

	Logger *slog.Logger // nil: discard
}

// DefaultOpts is an active-low button with pull-up, 20 ms debounce and long presses
// at 3 s and 10 s.
var DefaultOpts = Opts{
	Name:      "button",
	ActiveLow: true,
	Pull:      gpio.PullUp,
	Debounce:  DefaultDebounce,
	LongPress: []time.Duration{3 * time.Second, 10 * time.Second},
}

// Dev is one debounced button.
type Dev struct {
	pin  gpio.PinIn
	o    Opts
	mu   sync.Mutex
	runs bool
}

// New returns a button on pin. It does not touch the pin until Run.
func New(pin gpio.PinIn, o *Opts) (*Dev, error) {
	if pin == nil {
		return nil, errors.New("hw: button: nil pin")
	}
	if o == nil {
		o = &DefaultOpts
	}
	c := *o
	c.LongPress = slices.Clone(o.LongPress)
	if c.Name == "" {
		c.Name = "button"
	}
	if c.Debounce < 0 || c.DoubleClick < 0 || c.Poll < 0 {
		return nil, fmt.Errorf("hw: button %s: negative debounce, double-click or poll time", c.Name)
	}
	if c.Debounce == 0 {
		c.Debounce = DefaultDebounce
	}
	if c.Poll == 0 {
		c.Poll = DefaultPoll
	}
	for i, d := range c.LongPress {
		if d <= c.Debounce || (i > 0 && d <= c.LongPress[i-1]) {
			return nil, fmt.Errorf("hw: button %s: long-press thresholds %v must be ascending and longer than the debounce time %s", c.Name, c.LongPress, c.Debounce)
		}
	}
	if c.Events == nil {
		c.Events = make(chan Event, 32)
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return &Dev{pin: pin, o: c}, nil
}

// String returns "button talk on GPIO17".
func (d *Dev) String() string { return fmt.Sprintf("button %s on %s", d.o.Name, d.pin) }

// Name returns Opts.Name.
func (d *Dev) Name() string { return d.o.Name }

// Events returns the channel the events go to. It is never closed.
func (d *Dev) Events() <-chan Event { return d.o.Events }

// Halt implements conn.Resource; the input needs no halting.
func (d *Dev) Halt() error { return nil }

// Run configures the pin (pull, both edges) and reports events until ctx is done,
// then returns nil. Sending blocks while the channel is full (events are never
// dropped) but still ends on cancellation.
func (d *Dev) Run(ctx context.Context) error {
	d.mu.Lock()
	if d.runs {
		d.mu.Unlock()
		return fmt.Errorf("hw: %s: Run called twice", d)
	}
	d.runs = true
	d.mu.Unlock()
	defer func() { d.mu.Lock(); d.runs = false; d.mu.Unlock() }()

	if err := d.pin.In(d.o.Pull, gpio.BothEdges); err != nil {
		return fmt.Errorf("hw: %s: In(%s, both edges): %w", d, d.o.Pull, err)
	}
	m := newMachine(&d.o)
	send := func(e Event) {
		d.o.Logger.Debug("button", "event", e.String())
		select {
		case d.o.Events <- e:
		case <-ctx.Done():
		}
	}
	m.start(d.o.Clock.Now(), d.pressed(), send)
	for ctx.Err() == nil {
		wait := m.wait(d.o.Clock.Now())
		if wait <= 0 {
			m.input(d.o.Clock.Now(), false, d.pressed(), send)
			continue
		}
		edge := d.pin.WaitForEdge(wait)
		if ctx.Err() != nil {
			break
		}
		m.input(d.o.Clock.Now(), edge, d.pressed(), send)
	}
	return nil
}

func (d *Dev) pressed() bool { return (d.pin.Read() == gpio.Low) == d.o.ActiveLow }

// machine is the debouncer and gesture recogniser, free of pins and goroutines so it
// can be tested and fuzzed on synthetic timelines.
type machine struct {
	o *Opts

	raw      bool      // last level read
	rawSince time.Time // when raw last changed or bounced
	stable   bool      // debounced level

	pressAt   time.Time // start of the current press
	atStart   bool      // the current press was held when Run started
	nextLong  int       // index of the next long-press threshold
	second    bool      // the current press started within a double-click window
	clickWait bool      // a click is waiting for the double-click window to end
	clickDue  time.Time // end of that window
}

func newMachine(o *Opts) *machine { return &machine{o: o} }

// start sets the initial level: a button held at start is pressed at once.
func (m *machine) start(now time.Time, pressed bool, emit func(Event)) {
	m.raw, m.rawSince, m.stable = pressed, now, pressed
	if pressed {
		m.pressAt, m.atStart, m.nextLong = now, true, 0
		emit(Event{Button: m.o.Name, Kind: Press, Time: now, HeldAtStart: true})
	}
}

// wait returns how long the caller may wait for an edge before input must run
// again; <= 0 means input is due now.
func (m *machine) wait(now time.Time) time.Duration {
	w := m.o.Poll
	due := func(t time.Time) {
		if d := t.Sub(now); d < w {
			w = d
		}
	}
	if m.raw != m.stable {
		due(m.rawSince.Add(m.o.Debounce))
	}
	if m.stable && m.raw && m.nextLong < len(m.o.LongPress) {
		due(m.pressAt.Add(m.o.LongPress[m.nextLong]))
	}
	if m.clickWait && !(m.raw && !m.stable) {
		// (a press still settling decides the click when it settles or is dropped)
		due(m.clickDue)
	}
	return w
}

// input feeds what the loop saw at now: whether an edge woke it and the level read
// after it, then emits every event that is due.
func (m *machine) input(now time.Time, edge, pressed bool, emit func(Event)) {
	if edge || pressed != m.raw {
		// An edge that reads back the same level is a bounce pair: the line is
		// still moving, so the stability timer restarts either way.
		m.raw, m.rawSince = pressed, now
	}
	if m.raw != m.stable && !now.Before(m.rawSince.Add(m.o.Debounce)) {
		m.stable = m.raw
		if m.stable {
			m.press(now, emit)
		} else {
			m.release(now, emit)
		}
	}
	// (no long press while a release is settling: the press was shorter)
	for m.stable && m.raw && m.nextLong < len(m.o.LongPress) && !now.Before(m.pressAt.Add(m.o.LongPress[m.nextLong])) {
		if m.second {
			// The second press of a pair became a long press: the first was a click.
			m.second = false
			emit(Event{Button: m.o.Name, Kind: Click, Time: now})
		}
		emit(Event{Button: m.o.Name, Kind: LongPress, Time: now, Held: m.o.LongPress[m.nextLong], Threshold: m.nextLong, HeldAtStart: m.atStart})
		m.nextLong++
	}
	pressPending := m.raw && !m.stable
	if m.clickWait && !m.stable && !pressPending && !now.Before(m.clickDue) {
		m.clickWait = false
		emit(Event{Button: m.o.Name, Kind: Click, Time: now})
	}
}

func (m *machine) press(now time.Time, emit func(Event)) {
	m.pressAt, m.atStart, m.nextLong = m.rawSince, false, 0
	m.second = m.clickWait && m.rawSince.Before(m.clickDue)
	if m.clickWait && !m.second {
		// The window ended while this press was still bouncing.
		emit(Event{Button: m.o.Name, Kind: Click, Time: now})
	}
	m.clickWait = false
	emit(Event{Button: m.o.Name, Kind: Press, Time: now})
}

func (m *machine) release(now time.Time, emit func(Event)) {
	atStart, long := m.atStart, m.nextLong > 0
	emit(Event{Button: m.o.Name, Kind: Release, Time: now, Held: m.rawSince.Sub(m.pressAt), HeldAtStart: atStart})
	m.atStart = false
	switch {
	case atStart || long:
		m.second = false
	case m.second:
		m.second = false
		emit(Event{Button: m.o.Name, Kind: DoubleClick, Time: now})
	case m.o.DoubleClick == 0:
		emit(Event{Button: m.o.Name, Kind: Click, Time: now})
	default:
		m.clickWait, m.clickDue = true, m.rawSince.Add(m.o.DoubleClick)
	}
}
