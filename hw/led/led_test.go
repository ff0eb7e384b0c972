package led_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"runtime"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/spi/spitest"

	"github.com/edgevoice/edgevoice/hw/led"
	"github.com/edgevoice/edgevoice/hw/sim"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestStrings(t *testing.T) {
	for s, want := range map[led.State]string{led.Off: "off", led.Idle: "idle", led.Connecting: "connecting", led.Listening: "listening",
		led.Thinking: "thinking", led.Speaking: "speaking", led.Muted: "muted", led.Error: "error", led.NoKey: "no-key", led.Offline: "offline", 42: "State(42)"} {
		if got := s.String(); got != want {
			t.Errorf("State(%d) = %q, want %q", s, got, want)
		}
	}
	for p, want := range map[led.Pattern]string{led.PatternOff: "off", led.PatternOn: "on", led.PatternBlink: "blink", led.PatternCode: "code",
		led.PatternPulse: "pulse", led.PatternSpinner: "spinner", led.PatternMeter: "meter", 99: "Pattern(99)"} {
		if got := p.String(); got != want {
			t.Errorf("Pattern(%d) = %q, want %q", p, got, want)
		}
	}
	for k, want := range map[led.Kind]string{led.Single: "single", led.RGB: "rgb", led.Ring: "ring"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d) = %q, want %q", k, got, want)
		}
	}
}

// TestPrivacyIndicationReserved: the mic-live look (steady full-on on a single LED,
// green on RGB and rings) is used by no state, so it cannot be mistaken.
func TestPrivacyIndicationReserved(t *testing.T) {
	for s := led.Off; s <= led.Offline; s++ {
		if l := led.LookFor(led.Single, s, false); l.Pattern == led.PatternOn && l.Color == (led.Color{R: 255, G: 255, B: 255}) {
			t.Errorf("single LED: state %s uses steady full-on, reserved for mic live", s)
		}
		for _, k := range []led.Kind{led.RGB, led.Ring} {
			if l := led.LookFor(k, s, false); l.Pattern != led.PatternOff && l.Color.G > l.Color.R && l.Color.G > l.Color.B {
				t.Errorf("%s: state %s is green (%s), reserved for mic live", k, s, l)
			}
		}
		for _, k := range []led.Kind{led.Single, led.RGB, led.Ring} {
			if live := led.LookFor(k, s, true); live != led.LookFor(k, led.Off, true) {
				t.Errorf("%s: mic live in state %s shows %s, not the mic-live look", k, s, live)
			}
		}
	}
}

// apaFrame is the APA102 wire format for pixels given as RGB: a 32-bit zero start
// frame, per LED 0xFF (full global brightness) then blue, green, red, and 0xFF end
// bytes (one per 16 LEDs, at least one).
func apaFrame(px ...[3]byte) []byte {
	b := []byte{0, 0, 0, 0}
	for _, p := range px {
		b = append(b, 0xFF, p[2], p[1], p[0])
	}
	return append(b, bytes.Repeat([]byte{0xFF}, len(px)/16+1)...)
}

func TestRingFrames(t *testing.T) {
	blue, red, yellow, green := byte(255), [3]byte{255, 0, 0}, [3]byte{255, 220, 0}, byte(255)
	cases := []struct {
		name  string
		set   func(d *led.Dev)
		at    time.Duration
		want  []byte
		after time.Duration // the frame stays valid this long
	}{
		{"muted", func(d *led.Dev) { d.SetState(led.Muted) }, 0, apaFrame(red, red, red, red), time.Hour},
		{"idle", func(d *led.Dev) { d.SetState(led.Idle) }, 0, apaFrame([3]byte{20, 20, 20}, [3]byte{20, 20, 20}, [3]byte{20, 20, 20}, [3]byte{20, 20, 20}), time.Hour},
		{"connecting spinner head at 0", func(d *led.Dev) { d.SetState(led.Connecting) }, 0,
			apaFrame([3]byte{0, 0, blue}, [3]byte{}, [3]byte{0, 0, 31}, [3]byte{0, 0, 89}), 250 * time.Millisecond},
		{"connecting spinner head at 2", func(d *led.Dev) { d.SetState(led.Connecting) }, 600 * time.Millisecond,
			apaFrame([3]byte{0, 0, 31}, [3]byte{0, 0, 89}, [3]byte{0, 0, blue}, [3]byte{}), 150 * time.Millisecond},
		{"error 2 second flash", func(d *led.Dev) { d.SetError(2) }, 550 * time.Millisecond, apaFrame(red, red, red, red), 150 * time.Millisecond},
		{"error 2 pause", func(d *led.Dev) { d.SetError(2) }, 1200 * time.Millisecond, apaFrame([3]byte{}, [3]byte{}, [3]byte{}, [3]byte{}), 1300 * time.Millisecond},
		{"offline second flash", func(d *led.Dev) { d.SetState(led.Offline) }, 250 * time.Millisecond, apaFrame(yellow, yellow, yellow, yellow), 50 * time.Millisecond},
		{"mic live meter half", func(d *led.Dev) { d.SetState(led.Speaking); d.SetMicLive(true); d.SetLevel(0.5) }, 0,
			apaFrame([3]byte{0, green, 0}, [3]byte{0, green, 0}, [3]byte{0, 31, 0}, [3]byte{0, 31, 0}), time.Second / 30},
		{"speaking meter three quarters", func(d *led.Dev) { d.SetState(led.Speaking); d.SetLevel(0.75) }, 0,
			apaFrame([3]byte{0, 0, blue}, [3]byte{0, 0, blue}, [3]byte{0, 0, blue}, [3]byte{0, 0, 31}), time.Second / 30},
		{"speaking meter from the level func, not SetLevel", func(d *led.Dev) {
			d.SetState(led.Speaking)
			d.SetLevel(0.25)
			d.SetLevelFunc(func() float64 { return 0.75 })
		}, 0, apaFrame([3]byte{0, 0, blue}, [3]byte{0, 0, blue}, [3]byte{0, 0, blue}, [3]byte{0, 0, 31}), time.Second / 30},
		{"level func clamped", func(d *led.Dev) { d.SetState(led.Speaking); d.SetLevelFunc(func() float64 { return 7 }) }, 0,
			apaFrame([3]byte{0, 0, blue}, [3]byte{0, 0, blue}, [3]byte{0, 0, blue}, [3]byte{0, 0, blue}), time.Second / 30},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			d, err := led.NewRing(spitest.NewRecordRaw(&buf), 4, &led.Opts{Clock: clockwork.NewFakeClockAt(t0)})
			if err != nil {
				t.Fatal(err)
			}
			c.set(d)
			next := d.Step(t0) // the look starts here
			if c.at > 0 {
				next = d.Step(t0.Add(c.at))
			}
			// Unchanged frames are not sent again: the LEDs show the last one sent.
			got := buf.Bytes()
			if len(got) >= len(c.want) {
				got = got[len(got)-len(c.want):]
			}
			if !bytes.Equal(got, c.want) {
				t.Fatalf("frame\n got %s\nwant %s", hex.EncodeToString(got), hex.EncodeToString(c.want))
			}
			if next != c.after {
				t.Errorf("next step in %v, want %v", next, c.after)
			}
		})
	}
}

func TestRingHaltAndUnchangedFrames(t *testing.T) {
	var buf bytes.Buffer
	d, err := led.NewRing(spitest.NewRecordRaw(&buf), 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.SetState(led.Muted)
	d.Step(t0)
	buf.Reset()
	d.Step(t0.Add(time.Second))
	if buf.Len() != 0 {
		t.Errorf("an unchanged frame was sent again: %x", buf.Bytes())
	}
	if err := d.Halt(); err != nil {
		t.Fatal(err)
	}
	// apa102 Halt: every LED at the lowest global brightness, colour zero.
	want := []byte{0, 0, 0, 0, 0xE1, 0, 0, 0, 0xE1, 0, 0, 0, 0xFF}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("after Halt: %x, want %x", buf.Bytes(), want)
	}
	if s, _, mic := d.State(); s != led.Off || mic {
		t.Errorf("after Halt: state %s mic %v", s, mic)
	}
}

// engine runs an engine on the fake clock.
type engine struct {
	t    *testing.T
	clk  *clockwork.FakeClock
	dev  *led.Dev
	stop context.CancelFunc
	done chan error
}

func runEngine(t *testing.T, clk *clockwork.FakeClock, d *led.Dev) *engine {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	e := &engine{t: t, clk: clk, dev: d, stop: cancel, done: make(chan error, 1)}
	go func() { e.done <- d.Run(ctx) }()
	wctx, cancelWait := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelWait()
	if err := clk.BlockUntilContext(wctx, 1); err != nil {
		t.Fatal("engine never armed its timer")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-e.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			t.Errorf("goroutines leaked: %d > %d", n, before)
		}
	})
	return e
}

// stepper drives an engine's Step on a test timeline exactly as Run does on a clock:
// Step at start, at every deadline Step returns, and at once after a change (Run's
// wake-up). It needs no goroutine, so the timing tests are exact.
type stepper struct {
	d         *led.Dev
	now, next time.Time
}

func newStepper(d *led.Dev) *stepper {
	s := &stepper{d: d, now: t0}
	s.step()
	return s
}

func (s *stepper) step() {
	w := s.d.Step(s.now)
	if w <= 0 { // Run's timer would fire at once
		w = time.Nanosecond
	}
	s.next = s.now.Add(w)
}

// set applies f and wakes the engine, as SetState and friends wake Run.
func (s *stepper) set(f func()) { f(); s.step() }

// advance moves the timeline by dt, stepping at every deadline on the way.
func (s *stepper) advance(dt time.Duration) {
	end := s.now.Add(dt)
	for !s.next.After(end) {
		s.now = s.next
		s.step()
	}
	s.now = end
}

func (s *stepper) elapsed() time.Duration { return s.now.Sub(t0) }

func waitLevel(t *testing.T, p *sim.Pin, l gpio.Level) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for p.Read() != l {
		if time.Now().After(deadline) {
			t.Fatalf("%s never went %s", p, l)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

func TestBlinkTiming(t *testing.T) {
	pin := sim.NewPin("LED", nil)
	d, err := led.NewGPIO(pin, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newStepper(d)
	s.set(func() { d.SetState(led.Connecting) }) // blink 250 ms on / 250 ms off
	for i, want := range []gpio.Level{gpio.High, gpio.Low, gpio.Low, gpio.High, gpio.High, gpio.Low} {
		// samples at 249, 250, 499, 500, 749, 750 ms
		step := []time.Duration{249, 1, 249, 1, 249, 1}[i] * time.Millisecond
		s.advance(step)
		if got := pin.Read(); got != want {
			t.Fatalf("at %v: LED %s, want %s", s.elapsed(), got, want)
		}
	}
}

// TestSoftwarePWM: a dim glow is a 100 Hz software PWM whose on-time matches the
// gamma-corrected duty.
func TestSoftwarePWM(t *testing.T) {
	pin := sim.NewPin("LED", nil)
	d, err := led.NewGPIO(pin, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newStepper(d)
	s.set(func() { d.SetState(led.Idle) }) // white at 8 %: 20/255 → duty (20/255)² = 0.62 %
	start := len(pin.Outs())
	for range 1000 { // 1000 periods of 10 ms
		start := s.elapsed()
		s.advance(20 * time.Microsecond) // the off time (50 µs minimum pulse) is later
		if pin.Read() != gpio.High {
			t.Fatalf("LED off 20 µs into a PWM period at %v", start)
		}
		s.advance(80 * time.Microsecond)
		if pin.Read() != gpio.Low {
			t.Fatalf("LED still on 100 µs into a PWM period at %v", start)
		}
		s.advance(10*time.Millisecond - 100*time.Microsecond)
	}
	outs := pin.Outs()[start:]
	rises := 0
	for _, l := range outs {
		if l == gpio.High {
			rises++
		}
	}
	if rises != 1000 {
		t.Errorf("%d PWM pulses in 10 s, want 1000 (100 Hz)", rises)
	}
}

func TestPulseDuty(t *testing.T) {
	pin := sim.NewPin("LED", nil)
	d, err := led.NewGPIO(pin, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newStepper(d)
	s.set(func() { d.SetState(led.Thinking) }) // pulse, 1 s: brightness (1-cos)/2
	s.advance(250 * time.Millisecond)          // brightness 0.5 → duty ≈ 0.25
	high := 0
	for range 100 { // 10 PWM periods sampled every 0.1 ms
		s.advance(100 * time.Microsecond)
		if pin.Read() == gpio.High {
			high++
		}
	}
	if high < 20 || high > 32 {
		t.Errorf("on %d%% of the time at half brightness, want about 25%%", high)
	}
	s.advance(250 * time.Millisecond) // peak: duty 1, steady on
	high = 0
	for range 20 {
		s.advance(100 * time.Microsecond)
		if pin.Read() == gpio.High {
			high++
		}
	}
	if high != 20 {
		t.Errorf("on %d of 20 samples at the peak, want all", high)
	}
}

// TestMicLiveAndHalt: mic live is steady on at once, whatever the state; Halt and
// the end of Run leave every line off.
func TestMicLiveAndHalt(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	r, g, b := sim.NewPin("R", clk), sim.NewPin("G", clk), sim.NewPin("B", clk)
	d, err := led.NewRGB(r, g, b, &led.Opts{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	e := runEngine(t, clk, d)
	d.SetState(led.Muted)
	waitLevel(t, r, gpio.High) // the engine woke up: no clock needed
	d.SetMicLive(true)
	waitLevel(t, g, gpio.High)
	waitLevel(t, r, gpio.Low)
	for range 10 {
		if !sim.Advance(clk, 100*time.Millisecond, 100*time.Millisecond, 1) {
			t.Fatal("the engine did not wait on the clock again")
		}
		if g.Read() != gpio.High || r.Read() != gpio.Low || b.Read() != gpio.Low {
			t.Fatalf("mic live not steady green at %v", clk.Now().Sub(t0))
		}
	}
	d.SetMicLive(false)
	waitLevel(t, g, gpio.Low)
	waitLevel(t, r, gpio.High)
	if err := d.Halt(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*sim.Pin{r, g, b} {
		if p.Read() != gpio.Low {
			t.Errorf("%s on after Halt", p)
		}
	}
	d.SetState(led.Muted)
	waitLevel(t, r, gpio.High)
	e.stop()
	if err := <-e.done; err != nil {
		t.Fatal(err)
	}
	e.done <- nil // for the cleanup
	for _, p := range []*sim.Pin{r, g, b} {
		if p.Read() != gpio.Low {
			t.Errorf("%s on after Run ended", p)
		}
	}
}

func TestInvertedLED(t *testing.T) {
	pin := sim.NewPin("LED", nil)
	d, err := led.NewGPIO(led.Inverted(pin), nil)
	if err != nil {
		t.Fatal(err)
	}
	d.SetMicLive(true)
	d.Step(t0)
	if pin.Read() != gpio.Low {
		t.Error("inverted LED: lit should drive the pin low")
	}
	if err := d.Halt(); err != nil {
		t.Fatal(err)
	}
	if pin.Read() != gpio.High {
		t.Error("inverted LED: Halt should drive the pin high (dark)")
	}
}

// TestMicLiveFullBrightness: with the LEDs dimmed, the mic-live indication of a
// single LED is still steady full-on (no PWM), unlike every state.
func TestMicLiveFullBrightness(t *testing.T) {
	pin := sim.NewPin("LED", nil)
	d, err := led.NewGPIO(pin, &led.Opts{Brightness: 0.3, Clock: clockwork.NewFakeClockAt(t0)})
	if err != nil {
		t.Fatal(err)
	}
	d.SetState(led.Speaking)
	d.SetMicLive(true)
	for i := range 50 {
		now := t0.Add(time.Duration(i) * 700 * time.Microsecond)
		if next := d.Step(now); next < time.Second {
			t.Fatalf("mic live steps again after %v: it is being PWMed", next)
		}
		if pin.Read() != gpio.High {
			t.Fatalf("mic live LED off at %v", now.Sub(t0))
		}
	}
}
