package malgo

import (
	"context"
	"errors"
	"github.com/edgevoice/edgevoice/hw/audio"
	"math"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

// checkGoroutines fails the test if, after it, more goroutines run than before it.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, n, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func nullOpts(ch int) audio.Opts {
	return audio.Opts{Backend: audio.BackendNull, Format: audio.Format{Rate: 48000, Channels: ch, Sample: audio.S32}, PeriodFrames: 480}
}

// N seconds of paced capture deliver N x rate frames, within one period.
func TestNullCapturePaced(t *testing.T) {
	checkGoroutines(t)
	seconds := 1.0
	if os.Getenv("EDGEVOICE_SLOW") != "" {
		seconds = 10
	}
	c, err := audio.OpenCapture[float32](nullOpts(4))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The device-side frame counter is sampled every 10 ms for N seconds and the rate
	// is the least-squares slope of frames over time: it must be 48000/s within 1 %
	// (480 frames per second, one period). Two samples alone are not enough on a
	// loaded machine: a device thread (or test) descheduled at either instant moves the
	// count by whole periods although the device keeps pace over time.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { // a consumer that keeps up
		defer close(done)
		buf := make([]float32, 4*480)
		for {
			if _, err := c.Read(ctx, buf); err != nil {
				return
			}
		}
	}()
	defer func() { cancel(); <-done }()
	time.Sleep(100 * time.Millisecond) // let the device settle
	var rate float64
	var span time.Duration
	for attempt := 0; attempt < 3; attempt++ {
		rate, span = measureRate(c, time.Duration(seconds*float64(time.Second)))
		if math.Abs(rate-48000) <= 480 {
			break
		}
		t.Logf("attempt %d: %.0f frames/s over %v, want 48000 ± 480", attempt+1, rate, span)
	}
	if math.Abs(rate-48000) > 480 {
		t.Errorf("capture ran at %.0f frames/s over %v, want 48000 ± 480 (one period per second)", rate, span)
	}
	frames, want := int(rate*span.Seconds()), int(48000*span.Seconds())
	st := c.Stats()
	t.Logf("%v: %d frames (expected %d), %.0f frames per callback, stats %+v", span, frames, want, float64(st.Frames)/float64(st.Callbacks), st)
	if st.Overruns != 0 {
		t.Errorf("%d overruns with a consumer that keeps up", st.Overruns)
	}
	// Capture-to-ring latency: no callback holds more than one period.
	if st.MaxBlock == 0 || st.MaxBlock > 480 {
		t.Errorf("largest callback block = %d frames, want 1..480 (one period)", st.MaxBlock)
	}
}

// measureRate samples the capture frame counter every 10 ms for d and returns the
// least-squares slope in frames per second.
func measureRate[T audio.Sample](c *audio.Capture[T], d time.Duration) (rate float64, span time.Duration) {
	var ts, fs []float64
	start := time.Now()
	tk := time.NewTicker(10 * time.Millisecond)
	defer tk.Stop()
	for {
		f, now := c.Stats().Frames, time.Now()
		ts, fs = append(ts, now.Sub(start).Seconds()), append(fs, float64(f))
		if now.Sub(start) >= d {
			span = now.Sub(start)
			break
		}
		<-tk.C
	}
	var mt, mf float64
	for i := range ts {
		mt += ts[i]
		mf += fs[i]
	}
	mt, mf = mt/float64(len(ts)), mf/float64(len(ts))
	var num, den float64
	for i := range ts {
		num += (ts[i] - mt) * (fs[i] - mf)
		den += (ts[i] - mt) * (ts[i] - mt)
	}
	return num / den, span
}

// A consumer that stalls makes the callback drop and count frames; it never blocks it.
func TestNullCaptureStalledConsumer(t *testing.T) {
	checkGoroutines(t)
	o := nullOpts(2)
	o.RingFrames = 4 * 480
	c, err := audio.OpenCapture[int32](o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The consumer "stalls" (reads nothing) until the ring is full and frames are dropped.
	// On a loaded machine the device thread may not run for a while: wait for it.
	deadline := time.Now().Add(5 * time.Second)
	for c.Stats().Overruns == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no overrun within 5 s of a stall: %+v", c.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A callback that blocked on the full ring would stop here; one that drops goes on.
	first := c.Stats()
	for st := first; st.Callbacks < first.Callbacks+10 || st.Overruns < first.Overruns+10; st = c.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("callbacks stopped with the ring full: %+v, then %+v: the callback is blocked", first, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Reading resumes with the data the ring kept.
	buf := make([]int32, 4096)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := c.Read(ctx, buf)
	if err != nil || n == 0 {
		t.Fatalf("Read after stall = %d, %v", n, err)
	}
	if n != c.Ring().Cap() {
		t.Errorf("first Read after the stall got %d samples, want the full ring's %d", n, c.Ring().Cap())
	}
	// Every frame the device delivered was read, is still in the ring, or was dropped.
	// Counted after Close, when no callback runs between the counters.
	c.Close()
	st := c.Stats()
	if kept := st.Frames - st.OverrunFrames; kept != uint64(n+c.Ring().Len())/2 {
		t.Errorf("%d frames delivered, %d dropped: %d kept, want %d read + %d in the ring", st.Frames, st.OverrunFrames, kept, n/2, c.Ring().Len()/2)
	}
}

// stateLog records OnState calls.
type stateLog struct {
	mu     sync.Mutex
	states []audio.State
	errs   []error
	ch     chan audio.State
}

func newStateLog() *stateLog { return &stateLog{ch: make(chan audio.State, 100)} }

func (l *stateLog) on(s audio.State, err error) {
	l.mu.Lock()
	l.states = append(l.states, s)
	l.errs = append(l.errs, err)
	l.mu.Unlock()
	select {
	case l.ch <- s:
	default:
	}
}

func (l *stateLog) waitFor(t *testing.T, want audio.State) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case s := <-l.ch:
			if s == want {
				return
			}
		case <-timeout:
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("state %v never reported; got %v (errors %v)", want, l.states, l.errs)
		}
	}
}

// recordingDriver is the malgo Driver, keeping the device it opened last.
type recordingDriver struct {
	Driver
	mu  sync.Mutex
	dev *malgoDevice
}

func (r *recordingDriver) Open(dir audio.Direction, o *audio.Opts, data func(out, in []byte, frames uint32), stop func()) (audio.Device, error) {
	d, err := r.Driver.Open(dir, o, data, stop)
	if err == nil {
		r.mu.Lock()
		r.dev = d.(*malgoDevice)
		r.mu.Unlock()
	}
	return d, err
}

func (r *recordingDriver) last() *malgoDevice {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dev
}

// A null device that stops (as on a driver error) is closed and reopened.
func TestNullDeviceStopReopens(t *testing.T) {
	checkGoroutines(t)
	log := newStateLog()
	o := nullOpts(1)
	o.MinBackoff = 20 * time.Millisecond
	o.OnState = log.on
	rec := &recordingDriver{}
	o.Driver = rec
	c, err := audio.OpenCapture[float32](o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := rec.last().stopForTest(); err != nil {
		t.Fatal(err)
	}
	log.waitFor(t, audio.StateRecovering)
	log.waitFor(t, audio.StateRunning)
	st := c.Stats()
	if st.Reopens != 1 || st.DeviceErrors != 1 {
		t.Errorf("stats after one stop: %+v, want 1 reopen, 1 device error", st)
	}
	before := st.Frames
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	buf := make([]float32, 480)
	for c.Stats().Frames == before {
		if _, err := c.Read(ctx, buf); err != nil {
			t.Fatalf("no audio after the reopen: %v", err)
		}
	}
	log.mu.Lock()
	for i, s := range log.states {
		if s == audio.StateRecovering && !errors.Is(log.errs[i], audio.ErrDeviceStopped) {
			t.Errorf("recovering reported with %v, want ErrDeviceStopped", log.errs[i])
		}
	}
	log.mu.Unlock()
	// Close with frames waiting in the ring: Read must not hand them out after Close
	// (it did when the device had delivered more than the last Read took).
	for c.Ring().Len() == 0 {
		if ctx.Err() != nil {
			t.Fatal("no frames buffered within 2 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.Close()
	if s := c.State(); s != audio.StateClosed {
		t.Errorf("state after Close = %v", s)
	}
	if _, err := c.Read(ctx, buf); !errors.Is(err, audio.ErrClosed) {
		t.Errorf("Read after Close = %v, want ErrClosed", err)
	}
}

func TestNullPlaybackPaced(t *testing.T) {
	checkGoroutines(t)
	o := nullOpts(2)
	o.Format.Sample = audio.S16
	o.PeriodFrames, o.Periods, o.RingFrames = 240, 2, 480 // 2 periods of 5 ms
	p, err := audio.OpenPlayback[float32](o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	buf := make([]float32, 2*4800) // 100 ms
	for i := range buf {
		buf[i] = 0.25
	}
	start := time.Now()
	for range 3 {
		if _, err := p.Write(ctx, buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	// 300 ms of audio through a 10 ms buffer: Write is paced by the device.
	if el < 250*time.Millisecond {
		t.Errorf("300 ms of audio played in %v: not paced", el)
	}
	st := p.Stats()
	if data := st.Frames - st.SilenceFrames; data != 3*4800 {
		t.Errorf("frames of data played = %d, want %d", data, 3*4800)
	}
	t.Logf("played 300 ms in %v; stats %+v", el, st)
	p.Close()
	if n, err := p.Write(ctx, buf[:2]); n != 0 || !errors.Is(err, audio.ErrClosed) { // the ring has room
		t.Errorf("Write after Close = %d, %v, want 0, ErrClosed", n, err)
	}
}
