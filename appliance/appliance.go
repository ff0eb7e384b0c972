package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/edgevoice/edgevoice/dsp/meter"
	"github.com/edgevoice/edgevoice/dsp/ring"
	"github.com/edgevoice/edgevoice/hw/button"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/rtc"
)

// Button names (the keys of the [board] buttons and the names hw/sim uses).
const (
	ButtonTalk       = "talk"
	ButtonMute       = "mute"
	ButtonVolumeUp   = "volume_up"
	ButtonVolumeDown = "volume_down"
)

// Session is what the appliance needs of a realtime session (*rtc.Session).
type Session interface {
	Start(ctx context.Context) error
	Close() error
	Press()
	Release()
	Cancel()
	WriteMic(pcm []float32)
	ReadSpeaker(dst []float32) int
	Events() <-chan rtc.Event
	Stats() rtc.Stats
}

// SessionFactory makes a session for a key; keys supplies fresh keys on reconnect.
type SessionFactory func(key realtime.Key, keys rtc.KeySource) (Session, error)

// Indicator shows the state (hw/led through a small adapter, or a recorder in tests).
// Calls come from the Run goroutine and must not block.
type Indicator interface {
	SetState(State)
	SetMicLive(bool)
	// SetLevelFunc gives the level meter its source, called once when Run starts with
	// Appliance.Level (the mic level while listening, the speaker level while
	// speaking). The indicator calls it whenever it draws the meter; it never blocks.
	SetLevelFunc(func() float64)
	Halt() error // all LEDs off (shutdown)
}

// TransportIndicator is an Indicator that can also show which transport the session
// uses (rtc: WebRTC, or WebSocket when it is the only way through); optional.
type TransportIndicator interface {
	SetFallback(websocket bool)
}

// Config is the behaviour of the appliance (from the [appliance] section).
type Config struct {
	TalkMode    TalkMode
	IdleTimeout time.Duration // close the session this long after the last turn (0: at once)
	KeepWarm    bool          // keep a session open all the time
	Volume      float64       // initial speaker volume 0..1
	VolumeStep  float64
	// ServiceAction for a very long press: "restart" or "none".
	ServiceAction string
	// RecheckEvery retries the key while the state is no-key or offline (default 30 s).
	RecheckEvery time.Duration
	// RecheckMin is the first retry after the network or the key daemon went away
	// (default 1 s); it doubles on each failure up to RecheckEvery, so a key daemon that
	// starts a moment after the appliance is found within a second or two.
	RecheckMin time.Duration
	// KeyMinValid is how long a key must still be valid to open a session (default 30 s).
	KeyMinValid time.Duration
	// WatchdogEvery calls Deps.Watchdog from the main loop at this interval (0: never).
	WatchdogEvery time.Duration
	// VAD: the session's turn detection is server or semantic VAD. Talk (held, or
	// toggled on) opens the mic and the service ends each turn while it is open; the
	// release or the stop tap closes the mic (speech the service has not committed yet
	// is committed) and starts the idle timer.
	VAD bool
	// KeyPoll is how often a key source with KeyReady is asked while offline for want of
	// a key (default 500 ms).
	KeyPoll time.Duration
	// Echo is the uplink's echo cancellation / half-duplex gate, noise suppression and
	// gain control (the zero value: none).
	Echo EchoConfig
	// SetupStatusFile is the first-boot setup's status file (setup.go;
	// DefaultSetupStatusFile on the image; "": none).
	SetupStatusFile string
}

// Deps are the parts the appliance drives.
type Deps struct {
	Keys       rtc.KeySource
	NewSession SessionFactory
	LED        Indicator           // nil: no LEDs
	Buttons    <-chan button.Event // nil: no buttons (Press/Release methods only)
	Logger     *slog.Logger        // nil: discard
	// OnTransition, if set, is called on the Run goroutine for every state change; it
	// must not block.
	OnTransition func(Transition)
	// OnEvent, if set, is called on the Run goroutine for every session event.
	OnEvent func(rtc.Event)
	// Service runs the service action's device part (reopen audio); nil: nothing.
	Service func(ctx context.Context) error
	// Watchdog is called every Config.WatchdogEvery from the main loop (sd_notify
	// WATCHDOG=1): a stuck loop stops the pings and systemd restarts the appliance.
	Watchdog func()
	// Clock drives every timer of the state machine (idle close, re-check backoff,
	// watchdog, pre-roll hand-over); nil means the real clock. Tests pass
	// clockwork.NewFakeClock().
	Clock clockwork.Clock
}

// Transition is one state change with its cause.
type Transition struct {
	At       time.Time
	From, To State
	Reason   string
}

// Appliance is the state machine. Make one with New and run it with Run.
type Appliance struct {
	cfg Config
	d   Deps
	log *slog.Logger

	sess    atomic.Pointer[sessionBox] // read by the audio pumps
	muted   atomic.Bool
	volBits atomic.Uint64 // float64 bits

	// Levels for the LED meter: written by the audio path (one goroutine each),
	// published through atomics; shown is the state on the LEDs (set by the loop).
	micMeter, spkMeter *meter.Meter
	shown              atomic.Int32
	// flush tells the speaker pump that a barge-in dropped the answer (capacity 1).
	flush chan struct{}
	// echo is the uplink's echo/noise processing between the pumps (nil: none).
	echo *echoPath

	// Pre-roll before the session exists (key fetch, session setup): the mic pump keeps
	// what is said in pre and hands it to the session first, so no speech is lost. pre and
	// drain are touched only by the WriteMic goroutine; preMode is set by the loop.
	pre     *ring.Ring[float32]
	drain   []float32
	preMode atomic.Int32 // preOff, preRecord, preHold

	clock clockwork.Clock

	// results carries what the loop's own goroutines (re-check, service action) hand
	// back. It is unbuffered and every send is selected against the end of Run, so a
	// result is never dropped while the loop runs (a lost re-check result would leave
	// the loop believing a check is still running, and stop re-checks for good).
	results chan func(*loop)
	conns   chan connResult // connect goroutine results (same rule)

	// Audio faults come from the device goroutines, which must never block: AudioFault
	// records the latest report per device in faults and pokes faultSig (capacity 1);
	// the loop applies everything recorded. Reports coalesce, none is lost.
	faultMu  sync.Mutex
	faults   map[string]error
	faultSig chan struct{}

	jitter func() float64 // tests: pins the re-check jitter (nil: random)
	subs   *hub           // subscriptions (remote.go)

	firstCheck     chan struct{} // closed when the first key check (or connect) has an outcome
	firstCheckOnce sync.Once
	configured     chan struct{} // closed when a key check shows the key daemon is set up
	configuredOnce sync.Once

	mu     sync.Mutex // guards status
	status Status
	start  time.Time
}

type sessionBox struct{ s Session }

// Pre-roll modes.
const (
	preOff    int32 = iota // no turn is waiting for a session: discard
	preRecord              // talk is down and the session is being set up: keep the mic
	preHold                // talk was released before the session came up: keep, add nothing
)

// preRollSamples is how much mic audio is kept before the session exists (2 s at 48 kHz).
const preRollSamples = 2 * 48000

type connResult struct {
	s   Session
	key realtime.Key
	err error
	gen int // connect generation; stale results are closed
}

// New checks cfg and deps and returns an appliance that is not running yet.
func New(cfg Config, d Deps) (*Appliance, error) {
	if d.Keys == nil || d.NewSession == nil {
		return nil, errors.New("appliance: BUG: Deps.Keys and Deps.NewSession are required")
	}
	if cfg.Volume == 0 {
		cfg.Volume = 0.8
	}
	if cfg.VolumeStep == 0 {
		cfg.VolumeStep = 0.1
	}
	if cfg.RecheckEvery == 0 {
		cfg.RecheckEvery = 30 * time.Second
	}
	if cfg.RecheckMin == 0 {
		cfg.RecheckMin = time.Second
	}
	cfg.RecheckMin = min(cfg.RecheckMin, cfg.RecheckEvery)
	if cfg.KeyPoll == 0 {
		cfg.KeyPoll = defaultKeyPoll
	}
	if cfg.KeyMinValid == 0 {
		cfg.KeyMinValid = 30 * time.Second
	}
	if cfg.Volume < 0 || cfg.Volume > 1 {
		return nil, fmt.Errorf("appliance: volume %g out of 0..1", cfg.Volume)
	}
	a := &Appliance{cfg: cfg, d: d, log: d.Logger, clock: d.Clock,
		results: make(chan func(*loop)), conns: make(chan connResult),
		faults: map[string]error{}, faultSig: make(chan struct{}, 1),
		micMeter: newMeter(), spkMeter: newMeter(), flush: make(chan struct{}, 1),
		pre: ring.NewKeepLast[float32](preRollSamples), drain: make([]float32, 4800), firstCheck: make(chan struct{}),
		configured: make(chan struct{})}
	if a.clock == nil {
		a.clock = clockwork.NewRealClock()
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	echo, err := newEchoPath(cfg.Echo)
	if err != nil {
		return nil, err
	}
	a.echo = echo
	a.volBits.Store(math.Float64bits(cfg.Volume))
	a.hookSubscribers(&a.d)
	a.status = Status{State: Off, TalkMode: cfg.TalkMode.String(), Volume: cfg.Volume}
	return a, nil
}

// FirstCheck is closed once the first key check after Run started has an outcome
// (a key, or no-key/offline): the moment to tell systemd the service is ready.
func (a *Appliance) FirstCheck() <-chan struct{} { return a.firstCheck }

func (a *Appliance) firstCheckDone() { a.firstCheckOnce.Do(func() { close(a.firstCheck) }) }

// What Status.Setup says when the key daemon is not set up.
const (
	SetupNoCredential  = "no-credential"  // the key daemon has no credential
	SetupNotConfigured = "not-configured" // the key daemon has no [provisioning] profile
)

// Configured is closed once a key check shows that the key daemon is set up: it handed
// out a key, or it has a credential that the backend refused or cannot check now. Until
// then (no credential, no profile, no key daemon answering) the device is not set up,
// and the caller keeps the audio devices closed; the state machine re-checks (RecheckMin
// doubling to RecheckEvery, or at once on a long press), so a credential put in place
// later is found without a restart.
func (a *Appliance) Configured() <-chan struct{} { return a.configured }

func (a *Appliance) configuredDone() { a.configuredOnce.Do(func() { close(a.configured) }) }

// WriteMic forwards mono 48 kHz mic audio to the current session, unless muted. Call it
// from one goroutine (the capture pump).
func (a *Appliance) WriteMic(pcm []float32) {
	if a.muted.Load() {
		return
	}
	a.micMeter.Write(pcm)
	b := a.sess.Load()
	if b == nil {
		switch a.preMode.Load() {
		case preRecord:
			a.pre.Write(pcm)
		case preOff:
			if a.pre.Len() > 0 {
				a.pre.Reset()
			}
		}
		return
	}
	for a.pre.Len() > 0 { // what was said while the session was being set up, first
		n := a.pre.Read(a.drain)
		b.s.WriteMic(a.drain[:n])
	}
	b.s.WriteMic(pcm)
}

// ReadSpeaker fills dst with mono 48 kHz speaker audio at the current volume and returns
// how many samples are real audio (the rest is silence). Call it from one goroutine (the
// playback pump).
func (a *Appliance) ReadSpeaker(dst []float32) int {
	b := a.sess.Load()
	if b == nil {
		clear(dst)
		a.spkMeter.Write(dst)
		return 0
	}
	n := b.s.ReadSpeaker(dst)
	v := float32(math.Float64frombits(a.volBits.Load()))
	if v != 1 {
		for i := range dst {
			dst[i] *= v
		}
	}
	a.spkMeter.Write(dst)
	return n
}

// Volume returns the current speaker volume.
func (a *Appliance) Volume() float64 { return math.Float64frombits(a.volBits.Load()) }

// AudioFault reports the health of an audio device (from hw/audio's OnState): a non-nil
// err shows Error until a nil report. It never blocks; reports for one device that
// arrive faster than the loop takes them coalesce to the latest.
func (a *Appliance) AudioFault(device string, err error) {
	a.faultMu.Lock()
	a.faults[device] = err
	a.faultMu.Unlock()
	select {
	case a.faultSig <- struct{}{}:
	default: // a poke is already pending; the loop will see this report too
	}
}

// takeFaults returns the audio reports recorded since the last call.
func (a *Appliance) takeFaults() map[string]error {
	a.faultMu.Lock()
	defer a.faultMu.Unlock()
	if len(a.faults) == 0 {
		return nil
	}
	f := a.faults
	a.faults = map[string]error{}
	return f
}

// Run runs the state machine until ctx ends, then shuts down: LEDs off, session closed,
// goroutines joined. It returns nil on cancellation.
func (a *Appliance) Run(ctx context.Context) error {
	l := &loop{a: a, state: Off}
	a.mu.Lock()
	a.start = a.clock.Now()
	a.mu.Unlock()
	defer l.shutdown()
	return l.run(ctx)
}
