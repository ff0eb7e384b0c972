package sim

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/errgroup"
	"periph.io/x/conn/v3/gpio"

	"github.com/edgevoice/edgevoice/hw/button"
	"github.com/edgevoice/edgevoice/hw/led"
)

// Button names of the simulated board (the same as the [board] config keys).
const (
	Talk       = "talk"
	Mute       = "mute"
	VolumeUp   = "volume_up"
	VolumeDown = "volume_down"
)

// Record is one frame the simulated LEDs showed.
type Record struct {
	Time    time.Time
	State   led.State
	Code    int
	MicLive bool
	Look    led.Look
	Pixels  []led.Color
}

// Recorder is a led.Output that keeps every frame (up to Max, then the newest).
type Recorder struct {
	N   int // pixels
	Max int // 0: 10000

	clock   clockwork.Clock
	mu      sync.Mutex
	history []Record
	notify  chan struct{}
}

// NewRecorder returns a recording output of n pixels timestamped by clock.
func NewRecorder(n int, clock clockwork.Clock) *Recorder {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return &Recorder{N: n, clock: clock, notify: make(chan struct{}, 1)}
}

// Pixels implements led.Output.
func (r *Recorder) Pixels() int { return r.N }

// Show implements led.Output.
func (r *Recorder) Show(f led.Frame) error {
	rec := Record{Time: r.clock.Now(), State: f.State, Code: f.Code, MicLive: f.MicLive, Look: f.Look, Pixels: slices.Clone(f.Pixels)}
	r.mu.Lock()
	max := r.Max
	if max <= 0 {
		max = 10000
	}
	if len(r.history) >= max {
		r.history = slices.Delete(r.history, 0, len(r.history)-max+1)
	}
	r.history = append(r.history, rec)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	return nil
}

// Halt implements led.Output: it records an all-dark frame.
func (r *Recorder) Halt() error {
	return r.Show(led.Frame{State: led.Off, Pixels: make([]led.Color, r.N)})
}

// String implements led.Output.
func (r *Recorder) String() string { return "simulated LEDs" }

// History returns a copy of the recorded frames.
func (r *Recorder) History() []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.history)
}

// Last returns the newest frame (zero Record when none).
func (r *Recorder) Last() Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.history) == 0 {
		return Record{}
	}
	return r.history[len(r.history)-1]
}

// Changed receives a token after a frame was recorded.
func (r *Recorder) Changed() <-chan struct{} { return r.notify }

// Opts configures a simulated board.
type Opts struct {
	// Buttons are the buttons to simulate, by name (Talk, Mute, VolumeUp,
	// VolumeDown); nil means all four with button.DefaultOpts. Pull and ActiveLow
	// are taken from each entry.
	Buttons []button.Opts
	// Pixels is the number of simulated LED pixels; 0 means 12 (a ReSpeaker ring).
	Pixels int
	// LED configures the LED engine (its Clock is replaced by Clock).
	LED led.Opts
	// Clock drives buttons and LEDs; nil means the real clock.
	Clock  clockwork.Clock
	Logger *slog.Logger
}

// Board is a simulated board: button pins, the button group, the LED engine and its
// recording output.
type Board struct {
	clock   clockwork.Clock
	pins    map[string]*Pin
	opts    map[string]button.Opts
	group   *button.Group
	leds    *led.Dev
	rec     *Recorder
	talkMu  sync.Mutex
	talkOn  bool
	tapWait time.Duration
	notes   chan string
}

// New returns a simulated board.
func New(o *Opts) (*Board, error) {
	if o == nil {
		o = &Opts{}
	}
	clock := o.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	bs := o.Buttons
	if bs == nil {
		for _, n := range []string{Talk, Mute, VolumeUp, VolumeDown} {
			b := button.DefaultOpts
			b.Name = n
			bs = append(bs, b)
		}
	}
	b := &Board{clock: clock, pins: map[string]*Pin{}, opts: map[string]button.Opts{}, group: button.NewGroup(0), notes: make(chan string, 64)}
	for _, bo := range bs {
		p := NewPin(bo.Name, clock)
		bo.Clock = clock
		bo.Logger = o.Logger
		if _, err := b.group.Add(p, &bo); err != nil {
			return nil, err
		}
		b.pins[bo.Name] = p
		b.opts[bo.Name] = bo
		deb := bo.Debounce
		if deb == 0 {
			deb = button.DefaultDebounce
		}
		b.tapWait = max(b.tapWait, 3*deb)
	}
	n := o.Pixels
	if n == 0 {
		n = 12
	}
	b.rec = NewRecorder(n, clock)
	lo := o.LED
	lo.Clock = clock
	if lo.Logger == nil {
		lo.Logger = o.Logger
	}
	var err error
	if b.leds, err = led.New(b.rec, &lo); err != nil {
		return nil, err
	}
	return b, nil
}

// Buttons returns the button group (same type as on real hardware).
func (b *Board) Buttons() *button.Group { return b.group }

// LEDs returns the LED engine (same type as on real hardware).
func (b *Board) LEDs() *led.Dev { return b.leds }

// Recorder returns the recording LED output.
func (b *Board) Recorder() *Recorder { return b.rec }

// History returns every LED frame shown so far.
func (b *Board) History() []Record { return b.rec.History() }

// Pin returns the simulated pin of a button, or nil.
func (b *Board) Pin(name string) *Pin { return b.pins[name] }

// Run runs the buttons and the LED engine until ctx is done and joins them.
func (b *Board) Run(ctx context.Context) error {
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error { return b.group.Run(ctx) })
	eg.Go(func() error { return b.leds.Run(ctx) })
	return eg.Wait()
}

func (b *Board) set(name string, pressed bool) error {
	p, ok := b.pins[name]
	if !ok {
		return fmt.Errorf("sim: no button %q (have %v)", name, slices.Sorted(maps.Keys(b.pins)))
	}
	lvl := gpio.Level(pressed)
	if b.opts[name].ActiveLow {
		lvl = !lvl
	}
	p.Set(lvl)
	return nil
}

// WaitReady waits (up to 5 s of real time) until every button loop waits for edges,
// so a following Press is a press and not a button held at start.
func (b *Board) WaitReady() bool {
	deadline := time.Now().Add(5 * time.Second)
	for _, p := range b.pins {
		for !p.Waiting() {
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
	return true
}

// Press closes the button's contact (the line goes to its active level).
func (b *Board) Press(name string) error { return b.set(name, true) }

// Release opens the button's contact.
func (b *Board) Release(name string) error { return b.set(name, false) }

// ToggleTalk presses the talk button if it is up and releases it if it is down, and
// returns whether it is now pressed.
func (b *Board) ToggleTalk() (bool, error) {
	b.talkMu.Lock()
	defer b.talkMu.Unlock()
	if err := b.set(Talk, !b.talkOn); err != nil {
		return b.talkOn, err
	}
	b.talkOn = !b.talkOn
	return b.talkOn, nil
}
