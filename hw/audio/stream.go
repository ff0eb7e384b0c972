package audio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgevoice/edgevoice/internal/backoff"
)

// State is the health of a device stream, for the Error LED and the logs.
type State int32

// States.
const (
	StateOpening    State = iota // first open in progress
	StateRunning                 // the device is calling back
	StateRecovering              // the device failed; reopening with backoff
	StateClosed                  // Close was called
)

var stateNames = [...]string{"opening", "running", "recovering", "closed"}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("State(%d)", int32(s))
	}
	return stateNames[s]
}

// Opts configures a capture or playback device stream. Zero fields take the defaults
// noted on each.
type Opts struct {
	// Backend to open the device through; BackendAuto (PulseAudio/PipeWire when a server
	// answers, else ALSA) by default.
	Backend Backend
	// Device is a name substring ("ReSpeaker"), an exact name, or a backend id such as the
	// ALSA PCMs "hw:2,0", "plughw:CARD=Array,DEV=0" or "default". Empty: the default device.
	Device string
	// Format the device runs at: rate (48000), channels 1-8 (1) and sample format (S16).
	// The backend converts when the hardware cannot do it natively (ALSA plug devices).
	Format Format
	// PeriodFrames is the number of frames per callback (default: 10 ms at Format.Rate).
	PeriodFrames int
	// Periods is the number of periods in the device buffer (default 3, minimum 2).
	Periods int
	// RingFrames is the capacity, in frames, of the ring between the callback and the
	// caller (rounded up to a power of two in samples). Default: capture 500 ms,
	// playback 4 periods. Playback latency is about RingFrames + Periods*PeriodFrames.
	RingFrames int
	// MinBackoff and MaxBackoff bound the delay between reopen attempts after a device
	// failure (defaults 100 ms and 5 s; the delay doubles after every failed attempt).
	MinBackoff, MaxBackoff time.Duration
	// StallTimeout: a running device (capture or playback) that has not called back for
	// this long is treated as failed (default max(1 s, 20 periods)). It is checked every
	// StallTimeout/4, so a stall is found within 1.25 StallTimeout.
	StallTimeout time.Duration
	// CloseTimeout bounds how long closing a device may take (default 1 s). A driver
	// whose close does not return by then (a device whose card went away, stuck in the
	// kernel) is left behind: its callbacks are fenced off from the stream first, the
	// stream goes on (reopens, or Close returns), and Stats.StuckCloses counts it.
	CloseTimeout time.Duration
	// Group, if set, ties this stream to the others of the same audio path (a USB card's
	// mic and speaker): when one of them fails, all are closed and reopened by name.
	Group *Group
	// OnState, if set, is called on every state change (from the supervisor goroutine,
	// never from the audio thread) with the error that caused it. It must not block.
	OnState func(State, error)
	// Logger receives recovery events; nil discards.
	Logger *slog.Logger

	// Driver opens the device; nil means the registered one (hw/audio/malgo).
	Driver Driver
}

func (o *Opts) setDefaults(dir Direction) error {
	if o.Format.Rate == 0 {
		o.Format.Rate = 48000
	}
	if o.Format.Channels == 0 {
		o.Format.Channels = 1
	}
	if o.Format.Sample == FormatUnknown {
		o.Format.Sample = S16
	}
	if err := o.Format.Validate(); err != nil {
		return err
	}
	if o.PeriodFrames <= 0 {
		o.PeriodFrames = o.Format.Rate / 100
	}
	if o.Periods <= 0 {
		o.Periods = 3
	}
	if o.Periods < 2 {
		return fmt.Errorf("audio: %d periods is too few (minimum 2)", o.Periods)
	}
	if o.RingFrames <= 0 {
		if dir == DirCapture {
			o.RingFrames = o.Format.Rate / 2
		} else {
			o.RingFrames = 4 * o.PeriodFrames
		}
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(5*time.Second, o.MinBackoff)
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = max(time.Second, 20*o.period())
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Driver == nil {
		d, err := registeredDriver()
		if err != nil {
			return err
		}
		o.Driver = d
	}
	return nil
}

func (o *Opts) period() time.Duration {
	return time.Duration(o.PeriodFrames) * time.Second / time.Duration(o.Format.Rate)
}

// Stats are the counters of a device stream. They only grow (except State).
type Stats struct {
	State          State
	Callbacks      uint64 // data callbacks
	Frames         uint64 // frames the device delivered (capture) or asked for (playback)
	MaxBlock       uint64 // the most frames one callback moved: capture reaches the ring at most this late
	Overruns       uint64 // capture: callbacks that found the ring too full
	OverrunFrames  uint64 // capture: frames dropped because the ring was full
	Underruns      uint64 // playback: callbacks whose data ran out while playing
	UnderrunFrames uint64 // playback: frames of silence played in those callbacks
	SilenceFrames  uint64 // playback: all frames of silence played (idle included); Frames-SilenceFrames were data
	DeviceErrors   uint64 // device stops, stalls and failed reopen attempts
	Reopens        uint64 // successful reopens after a failure
	GroupRestarts  uint64 // closes and reopens because another device of the Group failed
	StuckCloses    uint64 // device closes that did not return within CloseTimeout (left behind)
}

// Driver is a device layer: hw/audio/malgo (miniaudio: ALSA, PulseAudio/PipeWire, null)
// in the product, fakes in tests. It is the only part of a device stream that uses cgo.
type Driver interface {
	// Open opens (but does not start) the device o names for dir, running at o.Format
	// with o.PeriodFrames x o.Periods. The device calls data from its own thread for
	// every period (out for playback, in for capture; the slices are valid only during
	// the call) and stop when it stops on its own. Unknown names fail with an error
	// wrapping ErrNoDevice that lists the devices that exist.
	Open(dir Direction, o *Opts, data func(out, in []byte, frames uint32), stop func()) (Device, error)
	// Devices lists the capture and playback devices of backend b (BackendAuto: the
	// backend Open would use), probing each for its native formats.
	Devices(b Backend) ([]DeviceInfo, error)
}

// Device is one device opened by a Driver.
type Device interface {
	Start() error
	Close() // stops and releases; the callbacks are not called after it returns
	Info() DeviceInfo
}

var registered struct {
	mu sync.Mutex
	d  Driver
}

// RegisterDriver makes d the driver of Opts without one and of ListDevices. The
// hw/audio/malgo package registers itself when imported (import it for its side effect
// in a main that opens devices); a later call replaces the driver.
func RegisterDriver(d Driver) {
	registered.mu.Lock()
	registered.d = d
	registered.mu.Unlock()
}

func registeredDriver() (Driver, error) {
	registered.mu.Lock()
	defer registered.mu.Unlock()
	if registered.d == nil {
		return nil, ErrNoDriver
	}
	return registered.d, nil
}

// ListDevices returns the capture and playback devices of backend b (BackendAuto: the
// backend that would be used) through the registered driver, probing each for its
// native formats.
func ListDevices(b Backend) ([]DeviceInfo, error) {
	d, err := registeredDriver()
	if err != nil {
		return nil, err
	}
	return d.Devices(b)
}

// core is the part of a device stream that is not generic: the supervisor, the
// counters and the state.
type core struct {
	dir  Direction
	opts Opts
	data func(out, in []byte, frames uint32) // the stream's callback, a method value made once
	// beforeStart, if set, runs after a device is opened and before it starts (no
	// callback can run then: the consumer side of a playback ring is free).
	beforeStart func()

	callbacks, frames         atomic.Uint64
	overruns, overrunFrames   atomic.Uint64
	underruns, underrunFrames atomic.Uint64
	silenceFrames             atomic.Uint64
	maxBlock                  atomic.Uint64 // written by the audio thread only
	deviceErrors, reopens     atomic.Uint64
	groupRestarts             atomic.Uint64
	stuckCloses               atomic.Uint64
	state                     atomic.Int32
	gen                       atomic.Uint64 // generation of the open device; stale stop callbacks are ignored
	stopped                   chan struct{} // capacity 1: a device stopped on its own
	kick                      chan struct{} // capacity 1: another device of the Group failed
	openEpoch                 uint64        // the Group's failure count before the open device was opened (supervisor only)
	gate                      *gate         // the open device's callback gate (supervisor only)
	closers                   sync.WaitGroup
	wake                      chan struct{} // closed by Close, wakes blocked Read/Write
	quit                      chan struct{}
	done                      chan struct{}
	closeOnce                 sync.Once
	mu                        sync.Mutex // guards dev, devInfo and lat (supervisor and accessors, never the callback)
	dev                       Device
	devInfo                   DeviceInfo
	lat                       Latency // what the open device negotiated
}

func (c *core) init(dir Direction, o Opts, data func(out, in []byte, frames uint32)) {
	c.dir, c.opts, c.data = dir, o, data
	c.stopped = make(chan struct{}, 1)
	c.kick = make(chan struct{}, 1)
	c.wake = make(chan struct{})
	c.quit = make(chan struct{})
	c.done = make(chan struct{})
}

// gate lets one device's callbacks into the stream until it is fenced. A device whose
// close is left behind (CloseTimeout) may still call back from its own thread; the fence
// makes sure those calls never touch the rings again (each ring has one producer and one
// consumer). The callback side is two atomic operations: no lock, no allocation.
type gate struct{ s atomic.Int32 } // 0 open, 1 a callback is running, 2 fenced

// enter reports whether the callback may run; leave must follow a true enter.
func (g *gate) enter() bool { return g.s.CompareAndSwap(0, 1) }
func (g *gate) leave()      { g.s.CompareAndSwap(1, 0) }

// fence waits for a running callback to return (callbacks never block, so this is
// short) and lets no later one in.
func (g *gate) fence() {
	for !g.s.CompareAndSwap(0, 2) {
		if g.s.Load() == 2 {
			return
		}
		runtime.Gosched()
	}
}

// openDevice opens and starts a device for the current generation.
func (c *core) openDevice() (Device, error) {
	g := c.gen.Add(1)
	var epoch uint64
	if c.opts.Group != nil {
		epoch = c.opts.Group.epoch.Load() // before the open: a failure during it restarts this device too
	}
	stop := func() {
		if c.gen.Load() == g {
			select {
			case c.stopped <- struct{}{}:
			default:
			}
		}
	}
	gt := &gate{}
	data := func(out, in []byte, frames uint32) {
		if !gt.enter() {
			clear(out) // a device left behind: play silence, take nothing
			return
		}
		c.data(out, in, frames)
		gt.leave()
	}
	d, err := c.opts.Driver.Open(c.dir, &c.opts, data, stop)
	if err != nil {
		return nil, err
	}
	if c.beforeStart != nil {
		c.beforeStart()
	}
	if err := d.Start(); err != nil {
		c.gen.Add(1)
		c.finishClose(d, gt)
		return nil, fmt.Errorf("audio: starting %v device %v: %w", c.dir, d.Info(), err)
	}
	c.mu.Lock()
	c.dev, c.devInfo, c.lat = d, d.Info(), deviceLatency(d)
	c.mu.Unlock()
	c.gate, c.openEpoch = gt, epoch
	return d, nil
}

func (c *core) closeDevice() {
	c.gen.Add(1) // the stop callback of the device being closed is not a failure
	c.mu.Lock()
	d := c.dev
	c.dev = nil
	c.mu.Unlock()
	if d != nil {
		c.finishClose(d, c.gate)
		c.gate = nil
	}
	select { // drop a stop token that raced with the close
	case <-c.stopped:
	default:
	}
}

// finishClose closes d, waiting at most CloseTimeout. A close that does not return by
// then is left to finish in its own goroutine: it is blocked in the driver (a C call
// into a PCM whose card is gone) and nothing in Go can interrupt or join it then. It is
// bounded instead: gt is fenced so the device can no longer reach the stream, the
// goroutine is counted in c.closers, and Close waits for it at most CloseTimeout more.
// When the driver call finally returns the goroutine ends.
func (c *core) finishClose(d Device, gt *gate) {
	done := make(chan struct{})
	c.closers.Add(1)
	go func() {
		defer c.closers.Done()
		defer close(done)
		d.Close()
	}()
	t := time.NewTimer(c.opts.CloseTimeout)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	gt.fence()
	c.stuckCloses.Add(1)
	c.opts.Logger.Error("audio device close did not return; left behind", "dir", c.dir.String(), "device", c.opts.Device,
		"timeout", c.opts.CloseTimeout, "stuck_closes", c.stuckCloses.Load())
}

func (c *core) setState(s State, err error) {
	if State(c.state.Swap(int32(s))) == s && err == nil {
		return
	}
	if err != nil {
		c.opts.Logger.Warn("audio device", "dir", c.dir.String(), "device", c.opts.Device, "state", s.String(), "err", err)
	} else {
		c.opts.Logger.Info("audio device", "dir", c.dir.String(), "device", c.opts.Device, "state", s.String())
	}
	if c.opts.OnState != nil {
		c.opts.OnState(s, err)
	}
}

// start opens the device once (errors such as an unknown name are returned at once)
// and starts the supervisor.
func (c *core) start() error {
	c.state.Store(int32(StateOpening))
	if _, err := c.openDevice(); err != nil {
		return err
	}
	c.setState(StateRunning, nil)
	if c.opts.Group != nil {
		c.opts.Group.add(c)
	}
	go c.supervise()
	return nil
}

// supervise watches the device and reopens it when it stops or stalls, or when another
// device of its Group failed.
func (c *core) supervise() {
	defer close(c.done)
	// Reopen delays: MinBackoff doubling to MaxBackoff, without jitter (one local
	// device: there is no fleet to spread out).
	wait := backoff.New(backoff.Policy{Min: c.opts.MinBackoff, Max: c.opts.MaxBackoff}, nil)
	runningSince := time.Now()
	check := c.opts.StallTimeout / 4
	tick := time.NewTicker(check)
	defer tick.Stop()
	last, lastProgress := c.callbacks.Load(), time.Now()
	for {
		var cause error
		ownFailure := true
		select {
		case <-c.quit:
			c.closeDevice()
			return
		case <-c.stopped:
			cause = ErrDeviceStopped
		case <-c.kick:
			if c.opts.Group.epoch.Load() <= c.openEpoch {
				continue // the failure came before this device was opened
			}
			cause, ownFailure = fmt.Errorf("%w: another device of its audio path failed; reopening both", ErrDeviceStopped), false
			c.groupRestarts.Add(1)
		case now := <-tick.C:
			if n := c.callbacks.Load(); n != last {
				last, lastProgress = n, now
				continue
			}
			if now.Sub(lastProgress) < c.opts.StallTimeout {
				continue
			}
			cause = fmt.Errorf("%w: no %v callback for %v", ErrDeviceStopped, c.dir, c.opts.StallTimeout)
		}
		// The device failed: say so, tell the Group, close it and reopen with backoff.
		// (The state is reported before the close: a close stuck in the driver must not
		// hide the failure.)
		if ownFailure {
			c.deviceErrors.Add(1)
			if c.opts.Group != nil {
				c.opts.Group.failed(c)
			}
		}
		if time.Since(runningSince) > 2*c.opts.MaxBackoff {
			wait.Reset() // it ran long enough: this is a new failure, not the same one
		}
		c.setState(StateRecovering, cause)
		c.closeDevice()
		for {
			t := time.NewTimer(wait.Next())
			select {
			case <-c.quit:
				t.Stop()
				return
			case <-t.C:
			}
			if _, err := c.openDevice(); err != nil {
				c.deviceErrors.Add(1)
				c.setState(StateRecovering, err)
				continue
			}
			break
		}
		c.reopens.Add(1)
		runningSince = time.Now()
		last, lastProgress = c.callbacks.Load(), time.Now()
		tick.Reset(check)
		c.setState(StateRunning, nil)
	}
}

// block records a callback of n frames (audio thread only: no compare-and-swap needed).
func (c *core) block(n int) {
	c.frames.Add(uint64(n))
	if uint64(n) > c.maxBlock.Load() {
		c.maxBlock.Store(uint64(n))
	}
}

// close stops the supervisor and the device and waits for both.
//
// It returns within about 2 CloseTimeout even when the driver's close blocks: the
// supervisor's close of the device is bounded by CloseTimeout (finishClose), and closes
// left behind are waited for at most CloseTimeout more; then Close returns an error
// wrapping ErrCloseStuck and those goroutines end when the driver returns (they own no
// stream state: their device is fenced off).
func (c *core) close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.wake)
		close(c.quit)
		<-c.done
		if c.opts.Group != nil {
			c.opts.Group.remove(c)
		}
		joined := make(chan struct{})
		go func() { c.closers.Wait(); close(joined) }()
		t := time.NewTimer(c.opts.CloseTimeout)
		select {
		case <-joined:
		case <-t.C:
			err = fmt.Errorf("%w: %d %v device close(s) still blocked in the driver", ErrCloseStuck, c.stuckCloses.Load(), c.dir)
		}
		t.Stop()
		c.setState(StateClosed, nil)
	})
	return err
}

// State is the current state.
func (c *core) State() State { return State(c.state.Load()) }

// Device describes the device currently (or last) open.
func (c *core) Device() DeviceInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.devInfo
}

// Latency is the buffering the device currently (or last) open negotiated. A reopened
// device (after a failure, or a Group restart) may report another one: read it again
// when Opts.OnState reports StateRunning.
func (c *core) Latency() Latency {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lat
}

// Stats returns a snapshot of the counters.
func (c *core) Stats() Stats {
	return Stats{
		State:          c.State(),
		Callbacks:      c.callbacks.Load(),
		Frames:         c.frames.Load(),
		MaxBlock:       c.maxBlock.Load(),
		Overruns:       c.overruns.Load(),
		OverrunFrames:  c.overrunFrames.Load(),
		Underruns:      c.underruns.Load(),
		UnderrunFrames: c.underrunFrames.Load(),
		SilenceFrames:  c.silenceFrames.Load(),
		DeviceErrors:   c.deviceErrors.Load(),
		Reopens:        c.reopens.Load(),
		GroupRestarts:  c.groupRestarts.Load(),
		StuckCloses:    c.stuckCloses.Load(),
	}
}

// isClosed reports whether Close was called.
func (c *core) isClosed() bool {
	select {
	case <-c.wake:
		return true
	default:
		return false
	}
}

// waitCtx waits for ch, ctx or Close.
func waitCtx[E any](c *core, ctx context.Context, ch <-chan E) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.wake:
		return ErrClosed
	}
}

var errShortBuffer = errors.New("audio: buffer shorter than one frame")

// Group ties the device streams of one audio path, such as a USB card's mic and
// speaker: when one of them fails (stops on its own or stalls), the others are closed
// and reopened by name too, so none of them keeps a device of a card that went away and
// came back (on a dead card one direction may fail silently). Put the same Group in the
// Opts of each stream; a stream leaves it when closed.
type Group struct {
	epoch   atomic.Uint64 // failures of members so far
	mu      sync.Mutex
	members []*core
}

// NewGroup returns an empty Group.
func NewGroup() *Group { return &Group{} }

func (g *Group) add(c *core) {
	g.mu.Lock()
	g.members = append(g.members, c)
	g.mu.Unlock()
}

func (g *Group) remove(c *core) {
	g.mu.Lock()
	g.members = slices.DeleteFunc(g.members, func(m *core) bool { return m == c })
	g.mu.Unlock()
}

// failed records a failure of from and tells the other members (never blocks).
func (g *Group) failed(from *core) {
	g.epoch.Add(1)
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, m := range g.members {
		if m != from {
			select {
			case m.kick <- struct{}{}:
			default:
			}
		}
	}
}
