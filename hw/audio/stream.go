package audio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// StallTimeout: a running device that has not called back for this long is treated
	// as failed (default max(1 s, 20 periods)).
	StallTimeout time.Duration
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
	state                     atomic.Int32
	gen                       atomic.Uint64 // generation of the open device; stale stop callbacks are ignored
	stopped                   chan struct{} // capacity 1: a device stopped on its own
	wake                      chan struct{} // closed by Close, wakes blocked Read/Write
	quit                      chan struct{}
	done                      chan struct{}
	closeOnce                 sync.Once
	mu                        sync.Mutex // guards dev and devInfo (supervisor and accessors, never the callback)
	dev                       Device
	devInfo                   DeviceInfo
}

func (c *core) init(dir Direction, o Opts, data func(out, in []byte, frames uint32)) {
	c.dir, c.opts, c.data = dir, o, data
	c.stopped = make(chan struct{}, 1)
	c.wake = make(chan struct{})
	c.quit = make(chan struct{})
	c.done = make(chan struct{})
}

// openDevice opens and starts a device for the current generation.
func (c *core) openDevice() (Device, error) {
	g := c.gen.Add(1)
	stop := func() {
		if c.gen.Load() == g {
			select {
			case c.stopped <- struct{}{}:
			default:
			}
		}
	}
	d, err := c.opts.Driver.Open(c.dir, &c.opts, c.data, stop)
	if err != nil {
		return nil, err
	}
	if c.beforeStart != nil {
		c.beforeStart()
	}
	if err := d.Start(); err != nil {
		c.gen.Add(1)
		d.Close()
		return nil, fmt.Errorf("audio: starting %v device %v: %w", c.dir, d.Info(), err)
	}
	c.mu.Lock()
	c.dev, c.devInfo = d, d.Info()
	c.mu.Unlock()
	return d, nil
}

func (c *core) closeDevice() {
	c.gen.Add(1) // the stop callback of the device being closed is not a failure
	c.mu.Lock()
	d := c.dev
	c.dev = nil
	c.mu.Unlock()
	if d != nil {
		d.Close()
	}
	select { // drop a stop token that raced with the close
	case <-c.stopped:
	default:
	}
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
	go c.supervise()
	return nil
}

// supervise watches the device and reopens it when it stops or stalls.
func (c *core) supervise() {
	defer close(c.done)
	// Reopen delays: MinBackoff doubling to MaxBackoff, without jitter (one local
	// device: there is no fleet to spread out).
	wait := backoff.New(backoff.Policy{Min: c.opts.MinBackoff, Max: c.opts.MaxBackoff}, nil)
	runningSince := time.Now()
	tick := time.NewTicker(c.opts.StallTimeout)
	defer tick.Stop()
	last := c.callbacks.Load()
	for {
		var cause error
		select {
		case <-c.quit:
			c.closeDevice()
			return
		case <-c.stopped:
			cause = ErrDeviceStopped
		case <-tick.C:
			n := c.callbacks.Load()
			if n != last {
				last = n
				continue
			}
			cause = fmt.Errorf("%w: no callback for %v", ErrDeviceStopped, c.opts.StallTimeout)
		}
		// The device failed: close it and reopen with backoff.
		c.deviceErrors.Add(1)
		c.closeDevice()
		if time.Since(runningSince) > 2*c.opts.MaxBackoff {
			wait.Reset() // it ran long enough: this is a new failure, not the same one
		}
		c.setState(StateRecovering, cause)
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
		last = c.callbacks.Load()
		tick.Reset(c.opts.StallTimeout)
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
func (c *core) close() error {
	c.closeOnce.Do(func() {
		close(c.wake)
		close(c.quit)
		<-c.done
		c.setState(StateClosed, nil)
	})
	return nil
}

// State is the current state.
func (c *core) State() State { return State(c.state.Load()) }

// Device describes the device currently (or last) open.
func (c *core) Device() DeviceInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.devInfo
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
