package rtc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgevoice/edgevoice/dsp/ring"
	"github.com/edgevoice/edgevoice/internal/backoff"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/rtc/opus"
	"github.com/pion/webrtc/v4"
)

const (
	sampleRate  = 48000
	frameLen    = 960 // 20 ms at 48 kHz
	frameDur    = 20 * time.Millisecond
	eventBuffer = 256
)

type command int

const (
	cmdPress command = iota + 1
	cmdRelease
	cmdCancel
)

// Session is one realtime conversation over WebRTC, reconnecting as needed. Its methods
// are safe for concurrent use, except that WriteMic must be called from one goroutine at
// a time and ReadSpeaker from one goroutine at a time.
type Session struct {
	cfg config
	key realtime.Key

	ownTransport *http.Transport // the SDP client's transport when we made it
	api          *webrtc.API

	events   chan Event
	cmds     chan command
	inbox    chan connMsg
	stateVal atomic.Int32

	curTransport atomic.Int32 // Transport of the current connection (transport.go)
	fellBackAt   time.Time    // auto: when WebRTC last failed to connect (run loop only)

	startOnce sync.Once
	closeOnce sync.Once
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	started   atomic.Bool
	closed    atomic.Bool

	// uplink
	mic       *ring.Ring[float32]
	micLive   atomic.Bool
	upTrack   atomic.Pointer[upTarget]
	upRelease atomic.Uint64 // release generation requested
	upKick    chan struct{}
	upDrop    atomic.Uint64 // turn-drop generation requested: the uplink discards the mic backlog
	enc       opus.Encoder
	pressAt   atomic.Int64 // unix ns of the press waiting for its first packet; 0 = none
	pace      commitPace   // the uplink's lead at a release's drain (commit.go)
	say       sayQueue     // text prompts waiting for the run loop (say.go)
	toolsUpd  toolsUpdate  // a tool list waiting for the run loop (updatetools.go)

	// downlink
	play      *ring.Ring[float32]
	flushReq  atomic.Uint64
	discard   atomic.Bool
	busy      atomic.Bool // a response is in progress or its audio playing (run loop writes)
	playing   bool        // ReadSpeaker side
	flushSeen uint64      // ReadSpeaker side
	prebuf    int

	st statsCounters
}

// New makes a session for key (whose SDPURL and Dialect it uses). It does not connect:
// call Start.
func New(key realtime.Key, opts ...Option) (*Session, error) {
	s := &Session{key: key}
	s.cfg.enc = opus.DefaultEncoderOpts()
	s.cfg.encRate = sampleRate
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	if s.cfg.httpClient == nil {
		s.ownTransport = http.DefaultTransport.(*http.Transport).Clone()
		s.cfg.httpClient = &http.Client{Timeout: 10 * time.Second, Transport: s.ownTransport}
	}
	s.cfg.setDefaults()
	if key.SDPURL == "" && s.cfg.keys == nil {
		return nil, fmt.Errorf("rtc: New: the key has no SDPURL and there is no KeySource")
	}
	enc, err := opus.NewEncoder(s.cfg.enc)
	if err != nil {
		return nil, fmt.Errorf("rtc: New: %w", err)
	}
	s.enc = enc
	api, err := s.newAPI()
	if err != nil {
		return nil, err
	}
	s.api = api
	s.events = make(chan Event, eventBuffer)
	s.cmds = make(chan command, 64)
	s.inbox = make(chan connMsg, 256)
	s.upKick = make(chan struct{}, 1)
	s.mic = ring.NewKeepLast[float32](int(s.cfg.preRoll.Seconds() * sampleRate))
	s.play = ring.New[float32](2 * sampleRate)
	s.prebuf = int(s.cfg.playDelay.Seconds() * sampleRate)
	s.setState(StateNew, nil, false)
	return s, nil
}

// Events returns the event channel. It is closed after Close, once the final Closed
// state event has been queued. Events are dropped (and counted in Stats) when nobody
// reads them.
func (s *Session) Events() <-chan Event { return s.events }

// State returns the current connection state.
func (s *Session) State() State { return State(s.stateVal.Load()) }

// Start connects in the background; progress arrives on Events. Cancelling ctx closes
// the session like Close (Close must still be called to join).
func (s *Session) Start(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	err := errors.New("rtc: Start called twice")
	s.startOnce.Do(func() {
		err = nil
		ctx, cancel := context.WithCancel(ctx)
		s.cancel = cancel
		s.started.Store(true)
		s.wg.Add(2)
		go func() { defer s.wg.Done(); s.uplink(ctx) }()
		go func() { defer s.wg.Done(); s.run(ctx) }()
	})
	return err
}

// Close ends the session, stops and joins every goroutine, and closes Events.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.startOnce.Do(func() {}) // a later Start fails
		if s.cancel != nil {
			s.cancel()
			s.wg.Wait()
		} else {
			s.setState(StateClosed, nil, true)
		}
		if s.ownTransport != nil {
			s.ownTransport.CloseIdleConnections()
		}
		close(s.events)
	})
	return nil
}

// Press starts a push-to-talk turn (or interrupts the model: barge-in). Mic audio
// written from now on is kept and sent, also while still connecting (pre-roll).
func (s *Session) Press() {
	if !s.micLive.Load() || s.cfg.openMic {
		s.pressAt.CompareAndSwap(0, time.Now().UnixNano())
	}
	s.micLive.Store(true)
	s.flushIfPlaying()
	s.command(cmdPress)
}

// flushIfPlaying silences the speaker at once when a response is playing; the run loop
// then sends the cancel events.
func (s *Session) flushIfPlaying() {
	if s.busy.Load() {
		s.discard.Store(true)
		s.flushReq.Add(1)
	}
}

// Release ends the turn: the mic closes, the rest of its audio is sent, then the turn is
// committed and a response requested. Under server VAD the service commits turns
// itself; Release closes the mic and commits only speech the service has heard and not
// yet committed (speech_started without speech_stopped).
func (s *Session) Release() {
	s.micLive.Store(false)
	s.command(cmdRelease)
}

// Cancel interrupts the model's current response (like a barge-in without talking).
func (s *Session) Cancel() {
	s.flushIfPlaying()
	s.command(cmdCancel)
}

func (s *Session) command(c command) {
	select {
	case s.cmds <- c:
	default:
		s.st.cmdsDropped.Add(1)
	}
}

func (s *Session) emit(e Event) {
	select {
	case s.events <- e:
	default:
		s.st.eventsDropped.Add(1)
	}
}

func (s *Session) setState(st State, cause error, announce bool) {
	if State(s.stateVal.Swap(int32(st))) == st && cause == nil {
		return
	}
	if announce {
		s.cfg.log.Info("rtc: state", "state", st.String(), "cause", cause)
		s.emit(Event{Kind: EventState, State: st, Err: cause, Transport: s.Transport()})
	}
}

// newBackoff returns the reconnect backoff: min·2^(n-1) capped at max before attempt n,
// with "equal jitter" (half fixed, half random). internal/backoff's symmetric jitter of
// ±1/3 around 3/4 of that gives exactly [d/2, d].
func (c *config) newBackoff() *backoff.Backoff {
	return backoff.New(backoff.Policy{Min: c.backoffMin * 3 / 4, Max: c.backoffMax * 3 / 4, Jitter: 1.0 / 3}, nil)
}

// nextKey returns a key good for at least minKeyLife, from the KeySource when the
// current one is not (or when fresh is set).
func (s *Session) nextKey(ctx context.Context, fresh bool) (realtime.Key, error) {
	if !fresh && s.key.ValidFor(time.Now(), s.cfg.minKeyLife) {
		return s.key, nil
	}
	if s.cfg.keys == nil {
		if s.key.ValidFor(time.Now(), s.cfg.minKeyLife) {
			return s.key, nil
		}
		return realtime.Key{}, ErrNoKey
	}
	k, err := s.cfg.keys.Key(ctx)
	if err != nil {
		return realtime.Key{}, fmt.Errorf("rtc: KeySource.Key: %w", err)
	}
	s.key = k
	return k, nil
}

// run is the session's state machine: connect, serve, back off, reconnect.
func (s *Session) run(ctx context.Context) {
	var final error
	defer func() {
		s.upTrack.Store(nil)
		s.setState(StateClosed, final, true)
	}()
	var t turn
	attempt := 0
	renewing := false // reconnecting before expires_at: the caller sees no state change
	bo := s.cfg.newBackoff()
	for {
		switch {
		case renewing:
			renewing = false
		case attempt == 0:
			s.setState(StateConnecting, nil, true)
		default:
			s.setState(StateReconnecting, nil, true)
		}
		key, err := s.nextKey(ctx, attempt > 0)
		var c *conn
		var up bool
		if err == nil {
			c, err = s.dialTransport(ctx, key) // transport.go
		}
		if err == nil {
			s.st.connects.Add(1)
			if attempt > 0 {
				s.st.reconnects.Add(1)
			}
			up, err = s.serve(ctx, c, &t)
			c.close()
			if up {
				attempt = 0
				bo.Reset()
			}
		}
		if ctx.Err() != nil {
			return
		}
		if s.fallBack(c, up, err) { // transport.go: auto tries WebSocket at once
			continue
		}
		if errors.Is(err, errRenew) {
			s.st.renewals.Add(1)
			s.cfg.log.Info("rtc: session renewed before it expires")
			renewing = true
			continue
		}
		if !retryable(err) || (errors.Is(err, ErrUnauthorized) && s.cfg.keys == nil) {
			final = err
			s.emit(Event{Kind: EventError, Err: err})
			return
		}
		attempt++
		s.setState(StateDisconnected, err, true)
		wait := bo.Next()
		s.cfg.log.Info("rtc: reconnecting", "in", wait, "cause", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
