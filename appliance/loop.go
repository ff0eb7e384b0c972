package appliance

import (
	"context"
	"errors"
	"math"
	"net"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/realtime"

	"github.com/jonboulle/clockwork"

	"github.com/edgevoice/edgevoice/hw/button"
	"github.com/edgevoice/edgevoice/internal/backoff"
	"github.com/edgevoice/edgevoice/rtc"
)

type turnState int

const (
	turnNone turnState = iota
	turnThinking
	turnSpeaking
)

// loop is the state of one Run; only the Run goroutine touches it.
type loop struct {
	a   *Appliance
	ctx context.Context

	state  State
	reason string

	sess       Session
	sessEv     <-chan rtc.Event
	conn       rtc.State
	connecting bool
	connGen    int
	connCancel context.CancelFunc
	wg         sync.WaitGroup // connect, recheck, close and service goroutines

	talkLive    bool  // the user is talking (held, or toggled on)
	pendingTurn bool  // pressed and released before the session existed
	pressState  State // the state when talk went down (for long-press gestures)
	turn        turnState
	turns       uint64

	netFault    fault // faultNoKey or faultOffline (or none)
	netReason   string
	netSetup    string // "no-credential" or "not-configured": the device is not set up
	audioErrs   map[string]error
	setupErrs   []string // the first-boot setup's mistakes (setup.go)
	checking    bool
	lastKey     realtime.Key
	idle        clockwork.Timer
	recheck     clockwork.Timer
	offlineWait *backoff.Backoff // offline re-check delays: RecheckMin doubling to RecheckEvery
	lastRelease time.Time
	convLoop
	rem remoteLoop // remote triggers (remote.go)
}

func (l *loop) run(ctx context.Context) error {
	l.ctx = ctx
	l.audioErrs = map[string]error{}
	l.offlineWait = backoff.New(backoff.Policy{Min: l.a.cfg.RecheckMin, Max: l.a.cfg.RecheckEvery, Jitter: 0.2}, l.a.clock)
	if l.a.jitter != nil {
		l.offlineWait.SetRand(l.a.jitter)
	}
	if l.a.d.LED != nil {
		l.a.d.LED.SetLevelFunc(l.a.Level)
	}
	l.readSetup("start")
	l.update("started")
	if l.a.cfg.KeepWarm {
		l.connect("keep-warm")
	} else {
		// A first key check at start shows no-key/offline before anyone presses.
		l.recheckNow("start")
	}
	var wd <-chan time.Time
	if l.a.cfg.WatchdogEvery > 0 && l.a.d.Watchdog != nil {
		t := l.a.clock.NewTicker(l.a.cfg.WatchdogEvery)
		defer t.Stop()
		wd = t.Chan()
		l.a.d.Watchdog()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-l.a.d.Buttons:
			l.button(ev)
		case ev, ok := <-l.sessEv:
			if !ok {
				l.sessEv = nil
				l.sessionEnded(nil)
				continue
			}
			l.sessionEvent(ev)
		case r := <-l.a.conns:
			l.connected(r)
		case f := <-l.a.results:
			f(l)
		case <-l.a.faultSig:
			for dev, err := range l.a.takeFaults() {
				l.audioFault(dev, err)
			}
		case <-timerC(l.idle):
			l.idle = nil
			l.idleExpired()
		case <-timerC(l.recheck):
			l.recheck = nil
			l.recheckNow("retry")
		case <-timerC(l.keyPoll):
			l.keyPoll = nil
			l.pollKey()
		case <-wd:
			l.a.d.Watchdog()
		}
	}
}

func timerC(t clockwork.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.Chan()
}

// send hands f to the loop from a goroutine the loop owns. It blocks until the loop takes
// it, so no result is lost; it gives up only when Run is ending (ctx done), and then the
// result no longer matters.
func (l *loop) send(f func(*loop)) {
	select {
	case l.a.results <- f:
	case <-l.ctx.Done():
	}
}

// shutdown: LEDs off, session closed, every goroutine joined.
func (l *loop) shutdown() {
	if l.connCancel != nil {
		l.connCancel()
	}
	l.stopTimers()
	if l.sess != nil {
		l.a.sess.Store(nil)
		_ = l.sess.Close()
		l.sess = nil
	}
	l.wg.Wait() // a connect that finished while we were shutting down closed its session
	l.talkLive = false
	l.setState(Off, "shutdown")
	if l.a.d.LED != nil {
		if err := l.a.d.LED.Halt(); err != nil {
			l.a.log.Warn("appliance: LEDs did not turn off", "err", err)
		}
	}
}

func (l *loop) stopTimers() {
	if l.idle != nil {
		l.idle.Stop()
		l.idle = nil
	}
	if l.recheck != nil {
		l.recheck.Stop()
		l.recheck = nil
	}
	l.stopKeyPoll()
}

// ---- buttons ----

func (l *loop) button(ev button.Event) {
	l.a.log.Debug("button", "button", ev.Button, "event", ev.Kind.String(), "held", ev.Held)
	switch ev.Button {
	case ButtonTalk:
		switch ev.Kind {
		case button.Press:
			if l.a.cfg.TalkMode == Toggle && l.talkLive {
				l.talkUp()
			} else {
				l.talkDown()
			}
		case button.Release:
			if l.a.cfg.TalkMode == Hold {
				l.talkUp()
			}
		case button.LongPress:
			// Talk long presses are service gestures only when talking is not possible.
			if l.pressState == NoKey || l.pressState == Offline || l.pressState == Error || l.pressState == Muted {
				l.gesture(ev.Threshold, "talk")
			}
		}
	case ButtonMute:
		switch ev.Kind {
		case button.Click:
			l.setMuted(!l.a.muted.Load())
		case button.LongPress:
			l.gesture(ev.Threshold, "mute")
		}
	case ButtonVolumeUp, ButtonVolumeDown:
		if ev.Kind == button.Press {
			step := l.a.cfg.VolumeStep
			if ev.Button == ButtonVolumeDown {
				step = -step
			}
			v := math.Round(math.Min(1, math.Max(0, l.a.Volume()+step))*100) / 100
			l.a.volBits.Store(math.Float64bits(v))
			l.a.log.Info("volume", "volume", v)
			l.publish()
		}
	}
}

func (l *loop) talkDown() {
	l.pressState = l.state
	if l.a.muted.Load() {
		l.a.log.Info("talk ignored: muted (click mute to unmute)")
		return
	}
	l.talkLive = true
	l.pendingTurn = false
	l.stopIdle()
	if l.sess != nil {
		l.sess.Press() // barge-in when the model is speaking
		if l.turn != turnNone {
			l.a.log.Info("barge-in")
		}
		l.turn = turnNone
		l.update("talk pressed")
		return
	}
	l.update("talk pressed")
	l.a.preMode.Store(preRecord)
	l.connect("talk")
}

func (l *loop) talkUp() {
	if !l.talkLive {
		return
	}
	l.talkLive = false
	l.lastRelease = l.a.clock.Now()
	l.turns++
	switch {
	case l.sess != nil && l.a.cfg.VAD:
		// The session closes the mic; it commits what the service heard and has not
		// committed, and then reports thinking. Nothing else is awaited.
		l.sess.Release()
		l.armIdle()
	case l.sess != nil:
		l.sess.Release()
		l.turn = turnThinking
	case l.connecting:
		l.pendingTurn = true
		l.a.preMode.Store(preHold)
	}
	l.update("talk released")
}

func (l *loop) setMuted(m bool) {
	l.a.muted.Store(m)
	if l.a.d.LED != nil {
		l.a.d.LED.SetMicLive(l.micMark(l.state))
	}
	if m && l.talkLive {
		// Muting mid-turn ends the turn with what was said so far.
		l.talkUp()
	}
	if m {
		l.update("muted")
	} else {
		l.update("unmuted")
	}
}

// gesture runs the long-press actions: threshold 0 re-checks, 1 is the service action.
func (l *loop) gesture(threshold int, btn string) {
	switch threshold {
	case 0:
		l.a.log.Info("long press: re-checking provisioning and network", "button", btn)
		l.recheckNow("long press")
	case 1:
		if l.a.cfg.ServiceAction != "restart" {
			l.a.log.Info("very long press: no service action configured", "button", btn)
			return
		}
		l.a.log.Warn("very long press: service action: dropping session and key, restarting audio", "button", btn)
		l.talkLive, l.pendingTurn = false, false
		l.closeSession("service action")
		l.lastKey = realtime.Key{}
		if svc := l.a.d.Service; svc != nil {
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				err := svc(l.ctx)
				l.send(func(l *loop) {
					if err != nil {
						l.a.log.Error("service action failed", "err", err)
					}
					l.recheckNow("service action")
				})
			}()
		} else {
			l.recheckNow("service action")
		}
		l.update("service action")
	}
}

// ---- session lifecycle ----

func (l *loop) connect(reason string) {
	if l.connecting || l.sess != nil {
		return
	}
	l.connecting = true
	l.connGen++
	gen := l.connGen
	ctx, cancel := context.WithCancel(l.ctx)
	l.connCancel = cancel
	keys, mk := l.a.d.Keys, l.a.d.NewSession
	l.a.log.Info("connecting", "reason", reason)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer cancel()
		r := connResult{gen: gen}
		r.key, r.err = keys.Key(ctx)
		if r.err == nil {
			r.s, r.err = mk(r.key, keys)
		}
		if r.err == nil {
			if err := r.s.Start(l.ctx); err != nil {
				_ = r.s.Close()
				r.s, r.err = nil, err
			}
		}
		select {
		case l.a.conns <- r:
		case <-l.ctx.Done(): // Run is ending: nobody will take the session
			if r.s != nil {
				_ = r.s.Close()
			}
		}
	}()
	l.update(reason)
}

// releaseAfterPreRoll releases a turn that ended before its session existed, once the
// mic pump has handed the pre-roll to the session (or after 100 ms without a pump).
func (l *loop) releaseAfterPreRoll(s Session) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for i := 0; i < 10 && l.a.pre.Len() > 0; i++ {
			select {
			case <-l.ctx.Done():
				return
			case <-l.a.clock.After(10 * time.Millisecond):
			}
		}
		s.Release()
	}()
}

func (l *loop) connected(r connResult) {
	defer l.a.firstCheckDone()
	if r.gen != l.connGen || !l.connecting {
		if r.s != nil {
			_ = r.s.Close()
		}
		return
	}
	l.connecting = false
	l.connCancel = nil
	if r.key.Value != "" || keyDaemonHasCredential(r.err) {
		l.a.configuredDone()
	}
	l.remoteConnected(r.s, r.err) // remote.go: a say waiting for this session
	if r.err != nil {
		l.talkLive, l.pendingTurn = false, false
		l.a.preMode.Store(preOff)
		l.setNetFault(r.err)
		l.update("connect failed")
		return
	}
	l.sess, l.sessEv = r.s, r.s.Events()
	l.lastKey = r.key
	l.conn = rtc.StateConnecting
	// Press before the mic pump can see the session: the pre-roll it hands over first
	// belongs to this turn.
	switch {
	case l.talkLive:
		r.s.Press()
		l.a.sess.Store(&sessionBox{s: r.s})
	case l.pendingTurn:
		r.s.Press()
		l.a.sess.Store(&sessionBox{s: r.s})
		l.releaseAfterPreRoll(r.s)
		if !l.a.cfg.VAD { // under VAD the session reports thinking if the service heard speech
			l.turn = turnThinking
		}
		l.pendingTurn = false
	default:
		l.a.sess.Store(&sessionBox{s: r.s})
		l.armIdle()
	}
	l.a.preMode.Store(preOff)
	l.update("session started")
}

func (l *loop) sessionEvent(ev rtc.Event) {
	if l.a.d.OnEvent != nil {
		l.a.d.OnEvent(ev)
	}
	switch ev.Kind {
	case rtc.EventState:
		l.conn = ev.State
		switch ev.State {
		case rtc.StateConnected:
			l.showTransport(ev.Transport)
			l.clearNetFault()
			l.update("connected")
		case rtc.StateDisconnected, rtc.StateReconnecting:
			if l.turn != turnNone {
				l.a.log.Warn("connection lost during a turn; the answer is lost", "err", ev.Err)
				l.turn = turnNone
			}
			// Reconnecting with a key the backend rejects shows no-key, not offline:
			// the session keeps retrying, but the user has a credential to fix.
			l.netFault, l.netReason = faultOffline, errText(ev.Err, "connection lost")
			if rejected(ev.Err) {
				l.netFault = faultNoKey
			}
			l.update(ev.State.String())
		case rtc.StateClosed:
			l.sessionEnded(ev.Err)
		}
	case rtc.EventListening:
		l.sessMic = true
		l.update("mic open")
	case rtc.EventMicClosed:
		l.sessMic = false
		l.update("mic closed")
	case rtc.EventSpeechStarted:
		if l.turn == turnThinking { // the user speaks on before the answer came
			l.turn = turnNone
		}
		l.stopIdle()
		l.update("speech started")
	case rtc.EventThinking:
		if l.turn == turnNone && (!l.talkLive || l.a.cfg.VAD) {
			l.stopIdle()
			l.turn = turnThinking
			l.update("thinking")
		}
	case rtc.EventSpeakingStarted:
		l.turn = turnSpeaking
		l.update("speaking")
	case rtc.EventSpeakingStopped:
		if l.turn == turnSpeaking {
			l.turn = turnNone
			l.armIdle()
			l.update("answer played")
		}
	case rtc.EventResponseDone:
		if l.turn == turnThinking && !toolsFollow(ev) { // tools.go: calls keep it thinking
			l.turn = turnNone
			l.armIdle()
			l.update("response done")
		}
	case rtc.EventTranscriptDone:
		l.a.log.Info("assistant", "text", ev.Text)
	case rtc.EventUserTranscript:
		l.a.log.Info("user", "text", ev.Text)
	case rtc.EventBargeIn:
		l.a.log.Info("barge-in: answer cancelled", "response", ev.ResponseID)
		// The session dropped its playout; the speaker pump drops the device queue.
		select {
		case l.a.flush <- struct{}{}:
		default: // a flush is already pending
		}
	case rtc.EventError:
		l.a.log.Warn("session error", "err", ev.Err)
	}
}

// sessionEnded: the session closed on its own (fatal error or closed events).
func (l *loop) sessionEnded(err error) {
	if l.sess == nil {
		return
	}
	l.dropSession()
	if err != nil && !errors.Is(err, context.Canceled) {
		l.setNetFault(err)
		l.update("session closed")
		return
	}
	l.update("session closed")
	if l.a.cfg.KeepWarm {
		l.connect("keep-warm")
	}
}

func (l *loop) dropSession() {
	s := l.sess
	l.a.sess.Store(nil)
	l.sess, l.sessEv = nil, nil
	l.conn = rtc.StateNew
	l.turn = turnNone
	l.sessMic = false
	l.stopIdle()
	if s != nil {
		l.wg.Add(1)
		go func() { defer l.wg.Done(); _ = s.Close() }() // Close joins; keep the loop free
	}
}

func (l *loop) closeSession(reason string) {
	l.a.preMode.Store(preOff)
	if l.connCancel != nil {
		l.connCancel()
		l.connCancel = nil
		l.connecting = false
		l.connGen++ // its result will be closed as stale
		// remote.go: a say waiting for that connect is dropped
		l.remoteConnected(nil, errors.New(reason))
	}
	if l.sess != nil {
		l.a.log.Info("closing session", "reason", reason)
		l.dropSession()
	}
}

func (l *loop) stopIdle() {
	if l.idle != nil {
		l.idle.Stop()
		l.idle = nil
	}
}

func (l *loop) armIdle() {
	l.stopIdle()
	if l.a.cfg.KeepWarm || l.sess == nil || l.talkLive || l.turn != turnNone {
		return
	}
	l.idle = l.a.clock.NewTimer(l.a.cfg.IdleTimeout)
}

func (l *loop) idleExpired() {
	if l.sess == nil || l.talkLive || l.turn != turnNone || l.a.cfg.KeepWarm {
		return
	}
	l.closeSession("idle timeout")
	l.update("idle timeout")
}

// ---- faults and re-checks ----

// classify maps an error to the fault the LEDs show.
func classify(err error) fault {
	switch {
	case errors.Is(err, realtime.ErrCredentialRejected), errors.Is(err, realtime.ErrNoCredential),
		errors.Is(err, rtc.ErrUnauthorized), errors.Is(err, rtc.ErrNoKey):
		return faultNoKey
	}
	var ne net.Error
	var oe *net.OpError
	if errors.Is(err, realtime.ErrKeyUnavailable) || errors.As(err, &ne) || errors.As(err, &oe) || errors.Is(err, context.DeadlineExceeded) {
		return faultOffline
	}
	var he *rtc.HTTPError
	if errors.As(err, &he) && he.StatusCode >= 500 {
		return faultOffline
	}
	// Anything else (the key socket refusing this user, a provider configuration error)
	// means no usable key.
	return faultNoKey
}

// rejected reports whether err says the credential or the key was refused.
func rejected(err error) bool {
	return errors.Is(err, realtime.ErrCredentialRejected) || errors.Is(err, rtc.ErrUnauthorized)
}

// setupNeeded says what the device lacks when err says it is not set up: "no-credential"
// (the key daemon has no credential) or "not-configured" (it has no profile); "" for
// any other error.
func setupNeeded(err error) string {
	switch {
	case errors.Is(err, realtime.ErrNotConfigured):
		return SetupNotConfigured
	case errors.Is(err, realtime.ErrNoCredential):
		return SetupNoCredential
	}
	return ""
}

// keyDaemonHasCredential reports whether a key check's outcome shows that the key daemon
// is set up (a key, or an error only a set-up daemon gives: the backend rejected the
// credential, or it is down). Not set up, or no key daemon answering: false.
func keyDaemonHasCredential(err error) bool {
	return err == nil || errors.Is(err, realtime.ErrCredentialRejected) || errors.Is(err, rtc.ErrUnauthorized) ||
		errors.Is(err, realtime.ErrKeyUnavailable)
}

func (l *loop) setNetFault(err error) {
	l.netFault, l.netReason, l.netSetup = classify(err), errText(err, ""), setupNeeded(err)
	if l.netSetup != "" {
		l.netFault = faultNoKey
	}
	l.a.log.Warn("no session", "fault", faultName(l.netFault), "setup", l.netSetup, "err", err)
	l.armRecheck()
	l.armKeyPoll()
}

func (l *loop) clearNetFault() {
	l.netFault, l.netReason, l.netSetup = faultNone, "", ""
	l.offlineWait.Reset()
	if l.recheck != nil {
		l.recheck.Stop()
		l.recheck = nil
	}
	l.stopKeyPoll()
}

// armRecheck schedules the next key check. Offline (network, key daemon not there yet)
// and not set up (no credential or profile yet: the admin is probably setting it up
// now) retry soon and back off (internal/backoff): RecheckMin, doubling up to
// RecheckEvery, ±20 % jitter so a fleet that lost its network together does not come
// back in step. A rejected key waits the full RecheckEvery: retrying sooner would not
// change the answer.
func (l *loop) armRecheck() {
	if l.recheck != nil && l.netFault == faultOffline {
		return // a press while offline failed too: it does not push the next re-check back
	}
	if l.recheck != nil {
		l.recheck.Stop()
	}
	d := l.a.cfg.RecheckEvery
	if l.netFault == faultOffline || l.netSetup != "" {
		d = l.offlineWait.Next()
	}
	l.recheck = l.a.clock.NewTimer(d)
}

func (l *loop) recheckNow(reason string) {
	l.checkSetup(reason)
	if l.checking {
		return
	}
	l.checking = true
	keys := l.a.d.Keys
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		key, err := keys.Key(l.ctx)
		l.send(func(l *loop) {
			defer l.a.firstCheckDone()
			l.checking = false
			if l.ctx.Err() != nil {
				return
			}
			if keyDaemonHasCredential(err) {
				l.a.configuredDone()
			}
			if err != nil {
				l.setNetFault(err)
				l.update("re-check failed (" + reason + ")")
				return
			}
			l.lastKey = key
			if l.sess == nil || l.conn == rtc.StateConnected {
				l.clearNetFault()
			}
			l.update("re-check ok (" + reason + ")")
			if l.a.cfg.KeepWarm {
				l.connect("keep-warm")
			}
		})
	}()
}

func (l *loop) audioFault(device string, err error) {
	if err != nil {
		l.audioErrs[device] = err
		l.a.log.Error("audio device failed; reopening", "device", device, "err", err)
	} else if _, ok := l.audioErrs[device]; ok {
		delete(l.audioErrs, device)
		l.a.log.Info("audio device back", "device", device)
	}
	l.update("audio " + device)
}

func faultName(f fault) string {
	switch f {
	case faultNoKey:
		return "no-key"
	case faultOffline:
		return "offline"
	case faultError:
		return "error"
	}
	return ""
}

func errText(err error, def string) string {
	if err == nil {
		return def
	}
	return err.Error()
}

// ---- display ----

// derive computes the state the LEDs show from the loop's facts, in priority order.
func (l *loop) derive() State {
	switch {
	case l.a.muted.Load():
		return Muted
	case len(l.audioErrs) > 0, len(l.setupErrs) > 0:
		return Error
	case l.netFault == faultNoKey:
		return NoKey
	case l.netFault == faultOffline:
		return Offline
	case (l.talkLive || l.pendingTurn) && !(l.a.cfg.VAD && l.turn != turnNone):
		// Under VAD the mic stays open through the service's turns: thinking and
		// speaking show over listening (the mic-live mark says the mic is open).
		if l.sess != nil && l.conn == rtc.StateConnected && l.talkLive {
			return Listening
		}
		return Connecting
	case l.turn == turnSpeaking:
		return Speaking
	case l.turn == turnThinking:
		if l.conn != rtc.StateConnected {
			return Connecting
		}
		return Thinking
	case l.a.cfg.KeepWarm && (l.connecting || (l.sess != nil && l.conn != rtc.StateConnected)):
		return Connecting
	}
	return Idle
}

func (l *loop) update(reason string) { l.setState(l.derive(), reason) }

func (l *loop) setState(s State, reason string) {
	if l.a.d.LED != nil {
		l.a.d.LED.SetMicLive(l.micMark(s))
	}
	if s == l.state {
		l.publish()
		return
	}
	from := l.state
	l.state, l.reason = s, reason
	l.a.shown.Store(int32(s))
	attrs := []any{"from", from.String(), "to", s.String(), "reason", reason}
	if s == NoKey || s == Offline {
		attrs = append(attrs, "detail", l.netReason)
	}
	l.a.log.Info("state", attrs...)
	if l.a.d.LED != nil {
		l.a.d.LED.SetState(s)
	}
	l.publish() // before OnTransition: whoever is told sees the new status
	if l.a.d.OnTransition != nil {
		l.a.d.OnTransition(Transition{At: l.a.clock.Now(), From: from, To: s, Reason: reason})
	}
}

// showTransport tells an indicator that can show it whether the session runs over
// WebSocket (the LEDs' fallback look while idle).
func (l *loop) showTransport(tr rtc.Transport) {
	if ti, ok := l.a.d.LED.(TransportIndicator); ok {
		ti.SetFallback(tr == rtc.TransportWebSocket)
	}
}
