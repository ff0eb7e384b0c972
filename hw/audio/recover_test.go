package audio

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeDriver is a device layer whose devices fail on command. Its devices call back
// from their own goroutine every millisecond, with a ramp, until closed.
type fakeDriver struct {
	mu        sync.Mutex
	opens     []time.Time // every open attempt
	failOpens int         // the next this many opens fail
	cur       *fakeDevice
	tick      time.Duration // between callbacks (default 1 ms)
	// blockClose, if set, is given to the devices opened from now on: their Close waits
	// until it is closed, before stopping their callbacks (a close stuck in the driver).
	blockClose chan struct{}
	// lat is what the devices opened from now on report they negotiated.
	lat Latency
}

var errFakeOpen = errors.New("fake: device unplugged")

func (f *fakeDriver) Open(dir Direction, o *Opts, data func(out, in []byte, frames uint32), stop func()) (Device, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opens = append(f.opens, time.Now())
	if f.failOpens > 0 {
		f.failOpens--
		return nil, errFakeOpen
	}
	tick := f.tick
	if tick == 0 {
		tick = time.Millisecond
	}
	d := &fakeDevice{tick: tick, data: data, stop: stop, frames: o.PeriodFrames, fb: o.Format.FrameBytes(), quit: make(chan struct{}), done: make(chan struct{}), block: f.blockClose, lat: f.lat}
	f.cur = d
	return d, nil
}

func (f *fakeDriver) Devices(Backend) ([]DeviceInfo, error) {
	return []DeviceInfo{{Name: "fake", ID: "fake"}}, nil
}

func (f *fakeDriver) attempts() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.opens...)
}

func (f *fakeDriver) device() *fakeDevice {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur
}

type fakeDevice struct {
	data       func(out, in []byte, frames uint32)
	stop       func()
	frames, fb int
	tick       time.Duration
	quit, done chan struct{}
	fail       chan struct{} // closed: report a driver error (stop callback, no more data)
	hang       chan struct{} // closed: stop calling back without a stop callback
	once       sync.Once
	block      chan struct{} // see fakeDriver.blockClose
	lat        Latency
}

func (d *fakeDevice) Start() error {
	d.fail = make(chan struct{})
	d.hang = make(chan struct{})
	go func() {
		defer close(d.done)
		buf := make([]byte, d.frames*d.fb)
		tick := time.NewTicker(d.tick)
		defer tick.Stop()
		for {
			select {
			case <-d.quit:
				return
			case <-d.fail:
				d.stop()
				<-d.quit
				return
			case <-d.hang:
				<-d.quit
				return
			case <-tick.C:
				d.data(nil, buf, uint32(d.frames))
			}
		}
	}()
	return nil
}

func (d *fakeDevice) Close() {
	if d.block != nil {
		<-d.block
	}
	d.once.Do(func() { close(d.quit) })
	<-d.done
}

func (d *fakeDevice) Info() DeviceInfo { return DeviceInfo{Name: "fake", ID: "fake"} }

func (d *fakeDevice) Latency() Latency { return d.lat }

func TestReopenWithBackoff(t *testing.T) {
	checkGoroutines(t)
	drv := &fakeDriver{}
	log := newStateLog()
	o := Opts{Format: Format{Rate: 48000, Channels: 2, Sample: S16}, MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, OnState: log.on, Driver: drv}
	c, err := OpenCapture[float32](o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	log.waitFor(t, StateRunning)

	// The device fails, and the next 4 opens fail too (still unplugged).
	drv.mu.Lock()
	drv.failOpens = 4
	drv.mu.Unlock()
	close(drv.device().fail)
	log.waitFor(t, StateRecovering)
	log.waitFor(t, StateRunning)

	at := drv.attempts()
	if len(at) != 6 { // first open + 4 failures + success
		t.Fatalf("%d open attempts, want 6", len(at))
	}
	// Backoff doubles from 10 ms and stops at 40 ms: the reopen attempts at[1..5] come
	// 10, 20, 40, 40, 40 ms after the previous one (timers never fire early).
	for i, min := range []time.Duration{20, 40, 40, 40} {
		if gap := at[i+2].Sub(at[i+1]); gap < min*time.Millisecond {
			t.Errorf("gap before attempt %d = %v, want >= %v ms", i+2, gap, min)
		}
	}
	st := c.Stats()
	if st.DeviceErrors != 5 || st.Reopens != 1 {
		t.Errorf("stats = %+v, want 5 device errors (1 stop + 4 failed opens) and 1 reopen", st)
	}
	log.mu.Lock()
	var sawOpenErr bool
	for _, e := range log.errs {
		sawOpenErr = sawOpenErr || errors.Is(e, errFakeOpen)
	}
	log.mu.Unlock()
	if !sawOpenErr {
		t.Errorf("the failed reopen was not reported through OnState")
	}

	// Data flows from the new device.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := c.Read(ctx, make([]float32, 960)); err != nil {
		t.Fatal(err)
	}
}

// A device that stops calling back without saying so is detected by the stall watchdog.
func TestReopenOnStall(t *testing.T) {
	checkGoroutines(t)
	drv := &fakeDriver{}
	log := newStateLog()
	o := Opts{Format: Format{Rate: 48000, Channels: 1, Sample: S32}, MinBackoff: 5 * time.Millisecond, StallTimeout: 50 * time.Millisecond, OnState: log.on, Driver: drv}
	p, err := OpenPlayback[int32](o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	log.waitFor(t, StateRunning)
	old := drv.device()
	close(old.hang)
	log.waitFor(t, StateRecovering)
	log.waitFor(t, StateRunning)
	if drv.device() == old {
		t.Fatal("the stalled device was not replaced")
	}
	if st := p.Stats(); st.Reopens != 1 || st.DeviceErrors != 1 {
		t.Errorf("stats = %+v", st)
	}
}

// Close while the supervisor waits in backoff returns promptly and leaks nothing.
func TestCloseDuringBackoff(t *testing.T) {
	checkGoroutines(t)
	drv := &fakeDriver{}
	log := newStateLog()
	o := Opts{MinBackoff: time.Hour, OnState: log.on, Driver: drv}
	c, err := OpenCapture[int16](o)
	if err != nil {
		t.Fatal(err)
	}
	close(drv.device().fail)
	log.waitFor(t, StateRecovering)
	done := make(chan struct{})
	go func() {
		c.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close blocked while the device was in backoff")
	}
}

func TestOpenErrorIsReturned(t *testing.T) {
	checkGoroutines(t)
	drv := &fakeDriver{failOpens: 1}
	if _, err := OpenCapture[float32](Opts{Driver: drv}); !errors.Is(err, errFakeOpen) {
		t.Fatalf("err = %v, want the open error", err)
	}
}

// Flush (barge-in) drops the queued answer at once; what is written after it plays.
func TestPlaybackFlush(t *testing.T) {
	checkGoroutines(t)
	drv := &fakeDriver{tick: 10 * time.Millisecond} // 480 frames per 10 ms: real time
	o := Opts{Format: Format{Rate: 48000, Channels: 1, Sample: S16}, RingFrames: 8192, Driver: drv}
	p, err := OpenPlayback[int16](o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	old := make([]int16, 8000) // 167 ms at the fake's real-time pace
	for i := range old {
		old[i] = 1000
	}
	p.Write(ctx, old)
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := p.Ring().Len(); n != 0 {
		t.Fatalf("%d samples still queued after Flush", n)
	}
	st := p.Stats()
	played := st.Frames - st.SilenceFrames
	if played >= 8000 {
		t.Fatalf("all %d frames played before the flush: the test proves nothing", played)
	}
	// The silence after a flush is not an underrun.
	time.Sleep(20 * time.Millisecond)
	if st2 := p.Stats(); st2.Underruns > st.Underruns {
		t.Errorf("silence after Flush counted as underruns: %+v", st2)
	}
}
