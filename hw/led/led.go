package led

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/devices/v3/apa102"
)

// State is what the appliance is doing, as shown on the LEDs.
type State uint8

// States.
const (
	Off        State = iota // everything dark
	Idle                    // ready, waiting for the talk button
	Connecting              // session being set up
	Listening               // talk button held, uplink about to flow or flowing
	Thinking                // waiting for the model's answer
	Speaking                // the model's audio is playing
	Muted                   // microphone muted by the user
	Error                   // a fault; SetError gives the blink code
	NoKey                   // not provisioned (no API key)
	Offline                 // no network
	numStates
)

var stateNames = [...]string{"off", "idle", "connecting", "listening", "thinking", "speaking", "muted", "error", "no-key", "offline"}

// String returns the state's name ("listening").
func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Pattern is how a state animates.
type Pattern uint8

// Patterns.
const (
	PatternOff     Pattern = iota // dark
	PatternOn                     // steady colour
	PatternBlink                  // on for Look.On, off for Look.Off
	PatternCode                   // blink code: n flashes then a pause
	PatternPulse                  // breathing with Look.Period
	PatternSpinner                // a lit pixel running round the ring once per Look.Period
	PatternMeter                  // ring lit in proportion to SetLevel
)

var patternNames = [...]string{"off", "on", "blink", "code", "pulse", "spinner", "meter"}

// String returns the pattern's name ("pulse").
func (p Pattern) String() string {
	if int(p) < len(patternNames) {
		return patternNames[p]
	}
	return fmt.Sprintf("Pattern(%d)", uint8(p))
}

// Color is an 8-bit RGB colour.
type Color struct{ R, G, B uint8 }

func (c Color) scale(f float64) Color {
	return Color{uint8(float64(c.R)*f + 0.5), uint8(float64(c.G)*f + 0.5), uint8(float64(c.B)*f + 0.5)}
}

func (c Color) max() uint8 { return max(c.R, c.G, c.B) }

// Look is a pattern with its colour and timing.
type Look struct {
	Pattern Pattern
	Color   Color
	On, Off time.Duration // PatternBlink: on and off times (Off may hold a second flash, see Double)
	Period  time.Duration // PatternPulse, PatternSpinner
	Double  bool          // PatternBlink: two flashes of On separated by On, then Off
}

// String describes the look ("blue blink 250ms/250ms").
func (l Look) String() string {
	switch l.Pattern {
	case PatternBlink:
		d := ""
		if l.Double {
			d = " double"
		}
		return fmt.Sprintf("#%02x%02x%02x%s blink %s/%s", l.Color.R, l.Color.G, l.Color.B, d, l.On, l.Off)
	case PatternPulse, PatternSpinner:
		return fmt.Sprintf("#%02x%02x%02x %s %s", l.Color.R, l.Color.G, l.Color.B, l.Pattern, l.Period)
	case PatternOff:
		return "off"
	}
	return fmt.Sprintf("#%02x%02x%02x %s", l.Color.R, l.Color.G, l.Color.B, l.Pattern)
}

// Kind is the kind of output an engine drives.
type Kind uint8

// Output kinds.
const (
	Single Kind = iota // one LED on one GPIO (brightness only)
	RGB                // an RGB LED on three GPIOs
	Ring               // an addressable ring (APA102), or a custom Output
)

var kindNames = [...]string{"single", "rgb", "ring"}

// String returns "single", "rgb" or "ring".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

var (
	white  = Color{255, 255, 255}
	red    = Color{255, 0, 0}
	green  = Color{0, 255, 0}
	blue   = Color{0, 0, 255}
	cyan   = Color{0, 200, 255}
	amber  = Color{255, 120, 0}
	yellow = Color{255, 220, 0}
	ms     = time.Millisecond
)

// looks is the state → look table per output kind; index numStates is mic live.
var looks = [3][numStates + 1]Look{
	Single: {
		Off:        {Pattern: PatternOff},
		Idle:       {Pattern: PatternOn, Color: white.scale(0.08)},
		Connecting: {Pattern: PatternBlink, Color: white, On: 250 * ms, Off: 250 * ms},
		Listening:  {Pattern: PatternBlink, Color: white, On: 125 * ms, Off: 125 * ms},
		Thinking:   {Pattern: PatternPulse, Color: white, Period: time.Second},
		Speaking:   {Pattern: PatternPulse, Color: white, Period: 2 * time.Second},
		Muted:      {Pattern: PatternOn, Color: white.scale(0.02)},
		Error:      {Pattern: PatternCode, Color: white},
		NoKey:      {Pattern: PatternBlink, Color: white, On: time.Second, Off: time.Second},
		Offline:    {Pattern: PatternBlink, Color: white, On: 100 * ms, Off: 1700 * ms, Double: true},
		numStates:  {Pattern: PatternOn, Color: white},
	},
	RGB: {
		Off:        {Pattern: PatternOff},
		Idle:       {Pattern: PatternOn, Color: white.scale(0.08)},
		Connecting: {Pattern: PatternBlink, Color: blue, On: 250 * ms, Off: 250 * ms},
		Listening:  {Pattern: PatternBlink, Color: white, On: 125 * ms, Off: 125 * ms},
		Thinking:   {Pattern: PatternPulse, Color: cyan, Period: time.Second},
		Speaking:   {Pattern: PatternPulse, Color: blue, Period: 2 * time.Second},
		Muted:      {Pattern: PatternOn, Color: red},
		Error:      {Pattern: PatternCode, Color: red},
		NoKey:      {Pattern: PatternBlink, Color: amber, On: time.Second, Off: time.Second},
		Offline:    {Pattern: PatternBlink, Color: yellow, On: 100 * ms, Off: 1700 * ms, Double: true},
		numStates:  {Pattern: PatternOn, Color: green},
	},
	Ring: {
		Off:        {Pattern: PatternOff},
		Idle:       {Pattern: PatternOn, Color: white.scale(0.08)},
		Connecting: {Pattern: PatternSpinner, Color: blue, Period: time.Second},
		Listening:  {Pattern: PatternSpinner, Color: white, Period: 500 * ms},
		Thinking:   {Pattern: PatternSpinner, Color: cyan, Period: 667 * ms},
		Speaking:   {Pattern: PatternMeter, Color: blue},
		Muted:      {Pattern: PatternOn, Color: red},
		Error:      {Pattern: PatternCode, Color: red},
		NoKey:      {Pattern: PatternPulse, Color: amber, Period: 2 * time.Second},
		Offline:    {Pattern: PatternBlink, Color: yellow, On: 100 * ms, Off: 1700 * ms, Double: true},
		numStates:  {Pattern: PatternMeter, Color: green},
	},
}

// LookFor returns the look the engine shows for a state on an output kind; micLive
// gives the privacy indication that overrides every state.
func LookFor(k Kind, s State, micLive bool) Look {
	if k > Ring || s >= numStates {
		return Look{}
	}
	if micLive {
		return looks[k][numStates]
	}
	return looks[k][s]
}

// fallbackIdle is the Idle look while the device reaches the service over its fallback
// path (SetFallback): a single LED blinks dimly once every 3 s instead of glowing
// steadily, RGB and rings glow dim cyan instead of dim white.
var fallbackIdle = [3]Look{
	Single: {Pattern: PatternBlink, Color: white.scale(0.08), On: 200 * ms, Off: 2800 * ms},
	RGB:    {Pattern: PatternOn, Color: cyan.scale(0.08)},
	Ring:   {Pattern: PatternOn, Color: cyan.scale(0.08)},
}

// lookOf is LookFor with the fallback indication.
func lookOf(k Kind, s State, micLive, fallback bool) Look {
	if fallback && s == Idle && !micLive && k <= Ring {
		return fallbackIdle[k]
	}
	return LookFor(k, s, micLive)
}

// Code blink timing.
const (
	codeOn    = 200 * time.Millisecond
	codeOff   = 300 * time.Millisecond
	codePause = 1500 * time.Millisecond
)

const forever = time.Hour

// render draws look l at el into dst and returns how long the frame stays valid
// (0: it changes continuously).
func (l Look) render(dst []Color, el time.Duration, level float64, code int) time.Duration {
	n := len(dst)
	fill := func(c Color) {
		for i := range dst {
			dst[i] = c
		}
	}
	switch l.Pattern {
	case PatternOn:
		fill(l.Color)
		return forever
	case PatternBlink:
		cycle := l.On + l.Off
		if l.Double {
			cycle += 2 * l.On
		}
		ph := el % cycle
		on := ph < l.On
		end := l.On
		if l.Double && !on {
			switch {
			case ph < 2*l.On:
				end = 2 * l.On
			case ph < 3*l.On:
				on, end = true, 3*l.On
			default:
				end = cycle
			}
		} else if !on {
			end = cycle
		}
		if on {
			fill(l.Color)
		} else {
			fill(Color{})
		}
		return end - ph
	case PatternCode:
		code = max(code, 1)
		cycle := time.Duration(code)*(codeOn+codeOff) + codePause
		ph := el % cycle
		k := ph / (codeOn + codeOff)
		in := ph % (codeOn + codeOff)
		if int(k) < code && in < codeOn {
			fill(l.Color)
			return codeOn - in
		}
		fill(Color{})
		if int(k) < code {
			return codeOn + codeOff - in
		}
		return cycle - ph
	case PatternPulse:
		ph := float64(el%l.Period) / float64(l.Period)
		fill(l.Color.scale((1 - math.Cos(2*math.Pi*ph)) / 2))
		return 0
	case PatternSpinner:
		step := l.Period / time.Duration(n)
		if step <= 0 {
			step = l.Period
		}
		head := int(el/step) % n
		fill(Color{})
		for t, f := range [...]float64{1, 0.35, 0.12} {
			if t < n {
				dst[(head-t+n)%n] = l.Color.scale(f)
			}
		}
		return step - el%step
	case PatternMeter:
		lit := level * float64(n)
		for i := range dst {
			switch f := lit - float64(i); {
			case f >= 1:
				dst[i] = l.Color
			case f > 0:
				dst[i] = l.Color.scale(0.12 + 0.88*f)
			default:
				dst[i] = l.Color.scale(0.12)
			}
		}
		return 0
	}
	fill(Color{})
	return forever
}

// Frame is what a custom Output receives: the pixels and the state they show.
type Frame struct {
	State   State
	Code    int // blink code when State is Error
	MicLive bool
	Look    Look
	Pixels  []Color // valid only during Show
}

// Output is a custom frame output (hw/sim uses one). Show is called from the engine
// goroutine, only when the pixels or the state changed; it must return quickly.
type Output interface {
	Pixels() int
	Show(f Frame) error
	Halt() error
	String() string
}

// Opts configures an engine.
type Opts struct {
	// Brightness scales every colour, 0 < Brightness <= 1; 0 means 1.
	Brightness float64
	// PWMFreq is the software PWM frequency for GPIO LEDs; 0 means 100 Hz.
	PWMFreq float64
	// FrameRate is the animation rate for rings and custom outputs; 0 means 30/s.
	FrameRate float64
	Clock     clockwork.Clock // nil: the real clock; tests pass clockwork.NewFakeClock()
	Logger    *slog.Logger    // nil: discard
}

// output is one of the built-in outputs or a custom one.
type output interface {
	pixels() int
	// set drives channel ch (0 for a single LED; 0,1,2 = R,G,B) of a binary output.
	set(ch int, on bool) error
	show(f Frame) error
	halt() error
	String() string
}

// Dev is an LED pattern engine on one output.
type Dev struct {
	o     Opts
	kind  Kind
	out   output
	clock clockwork.Clock
	log   *slog.Logger
	wake  chan struct{}

	mu       sync.Mutex
	state    State
	code     int
	micLive  bool
	fallback bool // SetFallback
	level    float64
	levelFn  func() float64 // nil: level
	since    time.Time      // when the current look started
	look     Look
	running  bool
	halted   bool

	// engine-owned
	frame, shown []Color
	shownOK      bool
	shownState   Frame
	pwmStart     time.Time
	pwmOff       [3]time.Time
	lineOn       [3]bool
	lineKnown    bool
	newLook      bool
}

func newDev(kind Kind, out output, o *Opts) (*Dev, error) {
	c := Opts{}
	if o != nil {
		c = *o
	}
	if c.Brightness < 0 || c.Brightness > 1 || c.PWMFreq < 0 || c.FrameRate < 0 {
		return nil, errors.New("hw: led: brightness must be in (0, 1], PWM frequency and frame rate positive")
	}
	if c.Brightness == 0 {
		c.Brightness = 1
	}
	if c.PWMFreq == 0 {
		c.PWMFreq = 100
	}
	if c.FrameRate == 0 {
		c.FrameRate = 30
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	n := out.pixels()
	d := &Dev{o: c, kind: kind, out: out, clock: c.Clock, log: c.Logger, wake: make(chan struct{}, 1),
		frame: make([]Color, n), shown: make([]Color, n)}
	d.since = d.clock.Now()
	d.look = LookFor(kind, Off, false)
	return d, nil
}

// NewGPIO returns an engine for a single LED on pin (high = lit; pass an inverting
// wrapper for an LED wired to the supply).
func NewGPIO(pin gpio.PinOut, o *Opts) (*Dev, error) {
	if pin == nil {
		return nil, errors.New("hw: led: nil pin")
	}
	return newDev(Single, &pinsOut{pins: []gpio.PinOut{pin}}, o)
}

// NewRGB returns an engine for an RGB LED on three pins (high = lit).
func NewRGB(r, g, b gpio.PinOut, o *Opts) (*Dev, error) {
	if r == nil || g == nil || b == nil {
		return nil, errors.New("hw: led: RGB needs three pins")
	}
	return newDev(RGB, &pinsOut{pins: []gpio.PinOut{r, g, b}}, o)
}

// NewRing returns an engine for an APA102 ring of n pixels on an SPI port (ReSpeaker
// 2-mic: 3 pixels, 4-mic and 6-mic: 12).
func NewRing(port spi.Port, n int, o *Opts) (*Dev, error) {
	if n <= 0 || n > 1024 {
		return nil, fmt.Errorf("hw: led: ring of %d pixels (use 1..1024)", n)
	}
	b := 1.0
	if o != nil && o.Brightness > 0 {
		b = o.Brightness
	}
	dev, err := apa102.New(port, &apa102.Opts{NumPixels: n, Intensity: uint8(b*255 + 0.5), Temperature: apa102.NeutralTemp, DisableGlobalPWM: true})
	if err != nil {
		return nil, fmt.Errorf("hw: led: apa102.New: %w", err)
	}
	var oo Opts
	if o != nil {
		oo = *o
	}
	oo.Brightness = 1 // the chip applies it
	return newDev(Ring, &ringOut{dev: dev, rgb: make([]byte, 3*n)}, &oo)
}

// New returns an engine for a custom frame output (ring looks; PWM is not needed).
func New(out Output, o *Opts) (*Dev, error) {
	if out == nil || out.Pixels() <= 0 {
		return nil, errors.New("hw: led: output with no pixels")
	}
	k := Ring
	if out.Pixels() == 1 {
		k = RGB
	}
	return newDev(k, customOut{out}, o)
}

// String returns "led ring on SPI0.0".
func (d *Dev) String() string { return fmt.Sprintf("led %s on %s", d.kind, d.out) }

// Kind returns the output kind.
func (d *Dev) Kind() Kind { return d.kind }

// SetState shows s (from now on, restarting its animation when it changes).
func (d *Dev) SetState(s State) {
	if s >= numStates {
		panic(fmt.Sprintf("BUG: led.SetState(%d)", s))
	}
	d.mu.Lock()
	changed := d.state != s
	d.state = s
	d.halted = false
	d.mu.Unlock()
	if changed {
		d.poke()
	}
}

// SetError shows Error with blink code code (1..9).
func (d *Dev) SetError(code int) {
	code = min(max(code, 1), 9)
	d.mu.Lock()
	changed := d.state != Error || d.code != code
	d.state, d.code = Error, code
	d.halted = false
	d.mu.Unlock()
	if changed {
		d.poke()
	}
}

// SetFallback says the device reaches the service over its fallback path (the
// WebSocket transport where WebRTC could not connect): Idle then looks different
// (fallbackIdle); every other state is unchanged.
func (d *Dev) SetFallback(on bool) {
	d.mu.Lock()
	changed := d.fallback != on
	d.fallback = on
	d.mu.Unlock()
	if changed {
		d.poke()
	}
}

// SetMicLive sets the privacy indication; call it with true exactly while uplink
// audio flows. The engine shows a change at once.
func (d *Dev) SetMicLive(live bool) {
	d.mu.Lock()
	changed := d.micLive != live
	d.micLive = live
	d.mu.Unlock()
	if changed {
		d.poke()
	}
}

// SetLevel feeds the level meter a fixed value (0..1, a fraction of full scale); a
// level function set with SetLevelFunc takes precedence.
func (d *Dev) SetLevel(v float64) {
	d.mu.Lock()
	d.level = clampLevel(v)
	d.mu.Unlock()
}

// SetLevelFunc makes the level meter read f (0..1) each time it draws, at the engine's
// frame rate while a meter look is shown; nil goes back to SetLevel's value. f is called
// with the engine's lock held: it must be cheap and never block (an atomic load, such as
// appliance.Appliance.Level, which the audio path feeds).
func (d *Dev) SetLevelFunc(f func() float64) {
	d.mu.Lock()
	d.levelFn = f
	d.mu.Unlock()
}

func clampLevel(v float64) float64 {
	if !(v >= 0) { // NaN too
		return 0
	}
	return min(v, 1)
}

// State returns the state being shown, the blink code and the mic-live flag.
func (d *Dev) State() (State, int, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state, d.code, d.micLive
}

func (d *Dev) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Halt turns every LED off now and shows Off until the next SetState/SetError.
func (d *Dev) Halt() error {
	d.mu.Lock()
	d.state, d.micLive, d.halted = Off, false, true
	err := d.out.halt()
	d.lineOn, d.lineKnown, d.shownOK = [3]bool{}, true, false
	d.mu.Unlock()
	d.poke()
	if err != nil {
		return fmt.Errorf("hw: %s: halt: %w", d, err)
	}
	return nil
}

// Run drives the outputs until ctx is done, then turns them off and returns nil.
func (d *Dev) Run(ctx context.Context) error {
	d.mu.Lock()
	if d.running {
		d.mu.Unlock()
		return fmt.Errorf("hw: %s: Run called twice", d)
	}
	d.running = true
	d.newLook = true
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.running = false
		d.mu.Unlock()
	}()
	// the timer is made from the first Step's wait, so a fake clock counts the engine as
	// waiting only once its first frame is shown
	t := d.clock.NewTimer(d.Step(d.clock.Now()))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			t.Stop()
			return d.Halt()
		case <-d.wake:
		case <-t.Chan():
		}
		t.Reset(d.Step(d.clock.Now()))
	}
}

// Step renders the engine at now, drives the outputs, and returns how long until it
// must run again. Run calls it; it is exported for benchmarks of the engine's cost.
func (d *Dev) Step(now time.Time) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	look := lookOf(d.kind, d.state, d.micLive, d.fallback)
	if look != d.look || d.newLook {
		d.look, d.since, d.newLook = look, now, false
		d.pwmStart = time.Time{}
	}
	level := d.level
	if d.levelFn != nil && look.Pattern == PatternMeter {
		level = clampLevel(d.levelFn())
	}
	until := look.render(d.frame, now.Sub(d.since), level, d.code)
	// The mic-live indication on a GPIO LED stays at full brightness: steady full-on
	// is reserved for it (a ring dims in the chip for every look alike).
	if d.o.Brightness != 1 && !(d.micLive && d.kind != Ring) {
		for i := range d.frame {
			d.frame[i] = d.frame[i].scale(d.o.Brightness)
		}
	}
	if d.kind == Ring {
		return d.stepFrame(now, until)
	}
	return d.stepPWM(now, until)
}

func (d *Dev) stepFrame(now time.Time, until time.Duration) time.Duration {
	f := Frame{State: d.state, Code: d.code, MicLive: d.micLive, Look: d.look, Pixels: d.frame}
	same := d.shownOK && f.State == d.shownState.State && f.Code == d.shownState.Code && f.MicLive == d.shownState.MicLive
	for i := 0; same && i < len(d.frame); i++ {
		same = d.frame[i] == d.shown[i]
	}
	if !same {
		if err := d.out.show(f); err != nil {
			d.log.Warn("led: show failed", "output", d.out.String(), "err", err)
		} else {
			copy(d.shown, d.frame)
			d.shownState, d.shownOK = f, true
			d.shownState.Pixels = nil
		}
	}
	interval := time.Duration(float64(time.Second) / d.o.FrameRate)
	if until == 0 || until > interval && d.look.Pattern == PatternMeter {
		return interval
	}
	return until
}

// stepPWM drives the GPIO lines. Within each PWM period every channel with a
// fractional duty is on from the period start until its duty has elapsed.
func (d *Dev) stepPWM(now time.Time, until time.Duration) time.Duration {
	period := time.Duration(float64(time.Second) / d.o.PWMFreq)
	nch := d.out.pixels()
	var duty [3]float64
	px := d.frame[0]
	if d.kind == Single {
		duty[0] = gamma(px.max())
	} else {
		duty[0], duty[1], duty[2] = gamma(px.R), gamma(px.G), gamma(px.B)
	}
	fractional := false
	for ch := range nch {
		fractional = fractional || (duty[ch] > 0 && duty[ch] < 1)
	}
	newPeriod := d.pwmStart.IsZero() || now.Sub(d.pwmStart) >= period || !fractional
	if newPeriod {
		d.pwmStart = now
	}
	var next time.Time
	if fractional {
		next = d.pwmStart.Add(period)
	} else if until > 0 {
		next = now.Add(until)
	} else {
		next = now.Add(period)
	}
	for ch := range nch {
		on := duty[ch] >= 1
		if duty[ch] > 0 && duty[ch] < 1 {
			if newPeriod {
				d.pwmOff[ch] = d.pwmStart.Add(max(time.Duration(duty[ch]*float64(period)), 50*time.Microsecond))
			}
			on = now.Before(d.pwmOff[ch])
			if on && d.pwmOff[ch].Before(next) {
				next = d.pwmOff[ch]
			}
		}
		if !d.lineKnown || d.lineOn[ch] != on {
			if err := d.out.set(ch, on); err != nil {
				d.log.Warn("led: set failed", "output", d.out.String(), "err", err)
				continue
			}
			d.lineOn[ch] = on
		}
	}
	d.lineKnown = true
	return max(next.Sub(now), 0)
}

// gamma maps an 8-bit brightness to a PWM duty that looks linear to the eye.
func gamma(v uint8) float64 {
	f := float64(v) / 255
	return f * f
}

type pinsOut struct{ pins []gpio.PinOut }

func (p *pinsOut) pixels() int { return len(p.pins) }
func (p *pinsOut) set(ch int, on bool) error {
	return p.pins[ch].Out(gpio.Level(on))
}
func (p *pinsOut) show(Frame) error { return nil }
func (p *pinsOut) halt() error {
	var errs []error
	for _, pin := range p.pins {
		if err := pin.Out(gpio.Low); err != nil {
			errs = append(errs, fmt.Errorf("%s.Out(Low): %w", pin, err))
		}
	}
	return errors.Join(errs...)
}
func (p *pinsOut) String() string {
	s := ""
	for i, pin := range p.pins {
		if i > 0 {
			s += ","
		}
		s += pin.String()
	}
	return s
}

type ringOut struct {
	dev *apa102.Dev
	rgb []byte
}

func (r *ringOut) pixels() int         { return len(r.rgb) / 3 }
func (r *ringOut) set(int, bool) error { return nil }
func (r *ringOut) show(f Frame) error {
	for i, c := range f.Pixels {
		r.rgb[3*i], r.rgb[3*i+1], r.rgb[3*i+2] = c.R, c.G, c.B
	}
	_, err := r.dev.Write(r.rgb)
	return err
}
func (r *ringOut) halt() error    { return r.dev.Halt() }
func (r *ringOut) String() string { return r.dev.String() }

type customOut struct{ o Output }

func (c customOut) pixels() int         { return c.o.Pixels() }
func (c customOut) set(int, bool) error { return nil }
func (c customOut) show(f Frame) error  { return c.o.Show(f) }
func (c customOut) halt() error         { return c.o.Halt() }
func (c customOut) String() string      { return c.o.String() }

// Inverted returns pin with its levels inverted, for an LED wired to the supply that
// lights when the pin is low. Halt and Off then drive the pin high.
func Inverted(pin gpio.PinOut) gpio.PinOut { return inverted{pin} }

type inverted struct{ gpio.PinOut }

func (i inverted) Out(l gpio.Level) error { return i.PinOut.Out(!l) }
func (i inverted) PWM(d gpio.Duty, f physic.Frequency) error {
	return i.PinOut.PWM(gpio.DutyMax-d, f)
}
func (i inverted) String() string { return i.PinOut.String() + "(inverted)" }
