package emulator

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Bounds for a long-running emulator.
const (
	maxTurnPackets = 15000 // input buffer: 5 minutes of 20 ms packets
	maxTurns       = 100   // turns kept in a call's stats
	maxCalls       = 100   // ended calls kept in the server's stats
)

type badOfferError struct{ err error }

func (e badOfferError) Error() string { return "emulator: bad SDP offer: " + e.err.Error() }
func (e badOfferError) Unwrap() error { return e.err }

// call is one answered offer: a server-side peer connection and its session state.
type call struct {
	s       *Server
	id      string
	dialect events.Dialect
	faults  Faults
	pc      *webrtc.PeerConnection
	track   *webrtc.TrackLocalStaticRTP
	start   time.Time
	done    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
	ended   atomic.Bool

	mu       sync.Mutex
	closing  bool
	dc       *webrtc.DataChannel
	dcClose  bool // the channel is to be closed as soon as it arrives (closeDC before OnDataChannel)
	dcOpened bool // openLocked ran
	st       CallStats
	buf      [][]byte
	bufDur   time.Duration
	pending  [][]byte // audio of the last committed turn, not yet answered
	lastItem string
	resp     *activeResp
	lastResp string // id of the last response that had audio
	seq      uint16
	ts       uint32
	tsSet    bool
	nEvent   int
	nItem    int
	nResp    int
	evbuf    []byte
	vad      vadState
	po       playout // the jitter buffer in front of buf (playout.go)
	cv       convCall
	textTurn bool      // a user text item waits for its response (say.go)
	tl       callTools // scripted function calls (tools.go)
	mc       callMCP   // scripted server-side MCP calls (mcp.go)
	ws       *wsConn   // the socket of a WebSocket call (ws.go); nil for WebRTC
}

type activeResp struct {
	id    string
	item  string // the assistant item of its audio and transcript
	idx   int    // in st.Responses
	audio bool
	stop  chan struct{}
}

func (s *Server) newCall(ctx context.Context, d events.Dialect, path string, rec keyRecord, offer string) (*call, string, error) {
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", fmt.Errorf("emulator: NewPeerConnection: %w", err)
	}
	s.mu.Lock()
	faults := s.faults
	s.mu.Unlock()
	c := &call{s: s, id: s.newID("rtc_"), dialect: d, faults: faults, pc: pc, start: time.Now(), done: make(chan struct{})}
	sess := withDefaults(rec.session, d)
	sess.ID = s.newID("sess_")
	sess.ExpiresAt = time.Now().Add(30 * time.Minute).Unix()
	if faults.SessionLifetime > 0 { // the session ends then: say so (expires_at is honoured)
		sess.ExpiresAt = time.Now().Add(faults.SessionLifetime).Unix()
	}
	c.st = CallStats{ID: c.id, Transport: "webrtc", Dialect: d, Path: path, State: webrtc.PeerConnectionStateNew.String(), Session: sess}
	c.seq = uint16(time.Now().UnixNano())

	pc.OnConnectionStateChange(c.onState)
	pc.OnDataChannel(c.onDataChannel)
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { c.readTrack(tr) })

	fail := func(err error) (*call, string, error) {
		c.close()
		return nil, "", err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(badOfferError{err})
	}
	c.track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "emulator-"+c.id)
	if err != nil {
		return fail(fmt.Errorf("emulator: NewTrackLocalStaticRTP: %w", err))
	}
	sender, err := pc.AddTrack(c.track)
	if err != nil {
		return fail(badOfferError{fmt.Errorf("AddTrack (does the offer have an audio m-line with Opus?): %w", err)})
	}
	c.wg.Add(1)
	go func() { // drain RTCP so the interceptors keep working
		defer c.wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(badOfferError{fmt.Errorf("CreateAnswer: %w", err)})
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(fmt.Errorf("emulator: SetLocalDescription: %w", err))
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fail(fmt.Errorf("emulator: ICE gathering: %w", ctx.Err()))
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fail(fmt.Errorf("emulator: server closed"))
	}
	// keep the stats of the last maxCalls calls (a long-running emulator)
	for len(s.calls) >= maxCalls && s.calls[0].isEnded() {
		s.calls = s.calls[1:]
	}
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	return c, pc.LocalDescription().SDP, nil
}

func (c *call) isEnded() bool { return c.ended.Load() }

// close closes the peer connection and joins the call's goroutines. Not to be called
// from one of them.
func (c *call) close() {
	c.once.Do(func() {
		c.mu.Lock()
		c.closing = true
		c.stopResponseLocked()
		c.mu.Unlock()
		close(c.done)
		c.serverEnd()
		c.wg.Wait()
		c.ended.Store(true)
	})
}

// goLocked starts f on a goroutine owned by the call; c.mu must be held. It returns
// false once the call is closing.
func (c *call) goLocked(f func()) bool {
	if c.closing {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
	return true
}

// afterLocked runs f after d unless the call closes first; c.mu must be held.
func (c *call) afterLocked(d time.Duration, f func()) {
	c.goLocked(func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			f()
		case <-c.done:
		}
	})
}

func (c *call) snapshot() CallStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.clone()
}

func (c *call) notify() { c.s.update(func(*Stats) {}) }

func (c *call) onState(st webrtc.PeerConnectionState) {
	c.mu.Lock()
	c.st.State = st.String()
	switch st {
	case webrtc.PeerConnectionStateConnected:
		c.st.Connected = time.Now()
		if c.faults.SessionLifetime > 0 {
			c.afterLocked(c.faults.SessionLifetime, func() {
				c.mu.Lock()
				c.sendLocked(events.Error{Error: events.ErrorInfo{Type: "invalid_request_error", Code: "session_expired",
					Message: fmt.Sprintf("Your session hit the maximum duration of %v.", c.faults.SessionLifetime)}})
				c.mu.Unlock()
				c.notify()
				// let the event leave before the close
				t := time.NewTimer(50 * time.Millisecond)
				defer t.Stop()
				select {
				case <-t.C:
				case <-c.done:
				}
				c.serverEnd()
			})
		}
		if c.faults.VanishAfter > 0 {
			c.afterLocked(c.faults.VanishAfter, func() {
				c.s.log.Info("call goes silent (fault)", "call", c.id)
				if err := c.pc.SCTP().Transport().ICETransport().Stop(); err != nil {
					c.s.log.Debug("ICETransport.Stop", "call", c.id, "err", err)
				}
			})
		}
		if c.faults.DropAfter > 0 {
			c.afterLocked(c.faults.DropAfter, func() {
				c.s.log.Info("dropping peer connection (fault)", "call", c.id)
				c.serverEnd()
			})
		}
	case webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateFailed:
		c.stopResponseLocked()
	}
	c.mu.Unlock()
	c.s.log.Debug("peer connection state", "call", c.id, "state", st)
	switch st {
	case webrtc.PeerConnectionStateConnected:
		c.s.update(func(s *Stats) { s.CallsConnected++ })
	case webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateFailed:
		if c.ended.Swap(true) {
			return
		}
		c.s.update(func(s *Stats) { s.CallsEnded++ })
		c.closeLater()
	}
}

// closeLater cleans the call up on a server-owned goroutine (close joins the call's
// goroutines, so it cannot run on one of them), unless the server is closing it.
func (c *call) closeLater() {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.closed {
		return
	}
	c.s.wg.Add(1)
	go func() {
		defer c.s.wg.Done()
		c.close()
	}()
}

func (c *call) onDataChannel(dc *webrtc.DataChannel) {
	c.mu.Lock()
	closeNow := false
	if c.dc == nil {
		c.dc = dc
		c.st.Label = dc.Label()
		closeNow = c.dcClose
	}
	c.mu.Unlock()
	dc.OnOpen(func() {
		if c.s.beforeOpen != nil {
			c.s.beforeOpen()
		}
		c.mu.Lock()
		c.openLocked(dc)
		c.mu.Unlock()
		c.notify()
	})
	dc.OnClose(func() {
		c.mu.Lock()
		if c.dc == dc {
			c.st.DCOpen = false
		}
		hangUp := c.dc == dc && c.dialect == events.Preview && !c.cv.closedDC && !c.cv.serverEnded.Load()
		c.mu.Unlock()
		c.notify()
		if hangUp {
			c.previewHangUp()
		}
	})
	dc.OnMessage(func(msg webrtc.DataChannelMessage) { c.onMessage(dc, msg) })
	if closeNow {
		dc.Close()
	}
}

// openLocked runs once, when the call's data channel is first seen open: in OnOpen or
// at the first client message, whichever comes first. pion runs OnOpen on a goroutine
// of its own, concurrently with the read loop, so a client event sent the moment the
// client saw the channel open (session.update) can arrive before it; session.created
// must still go first and the reply must not be dropped.
func (c *call) openLocked(dc *webrtc.DataChannel) {
	if c.dc != dc || c.dcOpened {
		return
	}
	c.dcOpened = true
	c.st.DCOpen = true
	c.sendLocked(events.SessionCreated{Session: c.st.Session})
	if c.faults.CloseDataChannelAfter > 0 {
		c.afterLocked(c.faults.CloseDataChannelAfter, func() {
			c.s.log.Info("closing data channel (fault)", "call", c.id)
			c.closeDC()
		})
	}
}

// closeDC closes the call's data channel. The client sees its channel open when the
// DCEP ACK arrives, which pion sends before it hands the channel to OnDataChannel: a
// close in that window is remembered and done when the channel arrives.
func (c *call) closeDC() {
	if c.ws != nil { // the socket is the event channel
		c.mu.Lock()
		c.cv.closedDC = true
		c.mu.Unlock()
		c.wsEnd(wsGoingAway, "event channel closed")
		return
	}
	c.mu.Lock()
	c.cv.closedDC = true
	dc := c.dc
	if dc == nil {
		c.dcClose = true
	}
	c.mu.Unlock()
	if dc != nil {
		dc.Close()
	}
}

// sendLocked sends a server event on the data channel (or the WebSocket, ws.go); c.mu
// must be held.
func (c *call) sendLocked(ev events.Event) {
	if c.ws != nil {
		if webRTCOnly(ev.Type()) {
			return
		}
	} else if c.dc == nil || !c.st.DCOpen {
		return
	}
	c.nEvent++
	ev = withEventID(ev, fmt.Sprintf("event_%s_%d", c.id[4:], c.nEvent))
	b, err := events.Append(c.evbuf[:0], c.dialect, ev)
	if err != nil {
		c.s.log.Error("encode event", "type", ev.Type(), "err", err)
		return
	}
	c.evbuf = b
	if c.ws != nil {
		if err := c.wsSendLocked(slices.Clone(b)); err != nil {
			c.s.log.Debug("websocket send", "call", c.id, "err", err)
			return
		}
	} else if err := c.dc.SendText(string(b)); err != nil {
		c.s.log.Debug("data channel send", "call", c.id, "err", err)
		return
	}
	c.st.ServerEvents = append(c.st.ServerEvents, ev.Type().Name(c.dialect))
}

func withEventID(ev events.Event, id string) events.Event {
	switch e := ev.(type) {
	case events.SessionCreated:
		e.EventID = id
		return e
	case events.SessionUpdated:
		e.EventID = id
		return e
	case events.InputAudioBufferCommitted:
		e.EventID = id
		return e
	case events.InputAudioBufferCleared:
		e.EventID = id
		return e
	case events.SpeechStarted:
		e.EventID = id
		return e
	case events.SpeechStopped:
		e.EventID = id
		return e
	case events.ConversationItemCreated:
		e.EventID = id
		return e
	case events.ResponseCreated:
		e.EventID = id
		return e
	case events.ResponseDone:
		e.EventID = id
		return e
	case events.TranscriptDelta:
		e.EventID = id
		return e
	case events.TranscriptDone:
		e.EventID = id
		return e
	case events.OutputAudioBufferStarted:
		e.EventID = id
		return e
	case events.OutputAudioBufferStopped:
		e.EventID = id
		return e
	case events.OutputAudioBufferCleared:
		e.EventID = id
		return e
	case events.InputTranscriptionCompleted:
		e.EventID = id
		return e
	case events.Error:
		e.EventID = id
		return e
	case events.RateLimitsUpdated:
		e.EventID = id
		return e
	}
	return ev
}

func (c *call) errorLocked(clientEventID, code, param, msg string) {
	c.sendLocked(events.Error{Error: events.ErrorInfo{Type: "invalid_request_error", Code: code, Message: msg, Param: param, ClientEventID: clientEventID}})
}

func (c *call) onMessage(dc *webrtc.DataChannel, msg webrtc.DataChannelMessage) {
	c.mu.Lock()
	defer c.notify()
	defer c.mu.Unlock()
	c.openLocked(dc)
	c.clientEventLocked(msg.IsString, msg.Data)
}

// clientEventLocked handles one client event of either transport (a data channel
// message, a WebSocket frame); c.mu must be held.
func (c *call) clientEventLocked(isText bool, data []byte) {
	if !isText {
		c.st.ClientEvents = append(c.st.ClientEvents, "<binary>")
		c.errorLocked("", "invalid_json", "", "events must be JSON text (data channel string messages, WebSocket text frames)")
		return
	}
	ev, err := events.Decode(data)
	if err != nil {
		c.st.ClientEvents = append(c.st.ClientEvents, "<malformed>")
		c.errorLocked("", "invalid_json", "", "The event could not be parsed as JSON: "+err.Error())
		return
	}
	name := ev.Type().Name(c.dialect)
	if u, ok := ev.(events.Unknown); ok {
		name = u.Name
	}
	c.st.ClientEvents = append(c.st.ClientEvents, name)
	switch e := ev.(type) {
	case events.SessionUpdate:
		if c.dialect == events.GA && e.Session.Shape != events.GA {
			c.errorLocked(e.EventID, "missing_required_parameter", "session.type", "Missing required parameter: 'session.type'.")
			return
		}
		if c.dialect == events.Preview && e.Session.Shape == events.GA {
			c.errorLocked(e.EventID, "unknown_parameter", "session.type", "Unknown parameter: 'session.type'.")
			return
		}
		mergeSession(&c.st.Session, &e.Session)
		c.sendLocked(events.SessionUpdated{Session: c.st.Session})
	case events.InputAudioBufferClear:
		c.playLocked(time.Now())
		c.buf, c.bufDur = nil, 0
		c.sendLocked(events.InputAudioBufferCleared{})
	case events.InputAudioBufferCommit:
		c.playLocked(time.Now()) // the buffer holds what has played, no more
		if c.bufDur < 100*time.Millisecond {
			c.errorLocked(e.EventID, "input_audio_buffer_commit_empty", "", fmt.Sprintf(
				"Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has %.2fms of audio.",
				float64(c.bufDur)/float64(time.Millisecond)))
			return
		}
		c.commitLocked()
	case events.ResponseCreate:
		if c.resp != nil {
			c.errorLocked(e.EventID, "conversation_already_has_active_response", "",
				"Conversation already has an active response in progress: "+c.resp.id+". Wait until the response is finished before creating a new one.")
			return
		}
		c.startResponseLocked()
	case events.ResponseCancel:
		if c.resp == nil || (e.ResponseID != "" && e.ResponseID != c.resp.id) {
			c.errorLocked(e.EventID, "response_cancel_not_active", "", "Cancellation failed: no active response found")
			return
		}
		c.s.log.Info("response cancelled by the client", "call", c.id, "response", c.resp.id)
		c.finishLocked(events.StatusCancelled, "client_cancelled")
	case events.OutputAudioBufferClear:
		if c.ws != nil { // REALTIME-API.md §3.2: WebRTC/SIP only
			c.errorLocked(e.EventID, "invalid_value", "type", "Invalid value: 'output_audio_buffer.clear' is only supported for WebRTC and SIP; on a WebSocket send response.cancel and conversation.item.truncate.")
			return
		}
		id := c.lastResp
		active := c.resp != nil && c.resp.audio
		if active {
			id = c.resp.id
			close(c.resp.stop)
			c.resp.stop = nil
		}
		c.s.log.Info("output audio buffer cleared by the client", "call", c.id, "response", id, "was_playing", active)
		if !active {
			if p := c.stopPlayoutLocked(); p != "" {
				id = p
			}
		}
		c.sendLocked(events.OutputAudioBufferCleared{ResponseID: id})
		if active {
			c.finishLocked(events.StatusCancelled, "client_cancelled")
		}
	case events.FunctionCallOutput:
		c.functionOutputLocked(e, data) // tools.go
	case events.MCPApprovalResponse:
		c.mcpApprovalLocked(e, data) // mcp.go
	case events.Unknown:
		if acceptedClientEvents[e.Name] {
			if e.Name == "conversation.item.create" {
				c.itemCreateLocked(data) // say.go
			}
			return
		}
		c.errorLocked(e.EventID, "invalid_value", "type", fmt.Sprintf("Invalid value: '%s'. This emulator supports session.update, input_audio_buffer.clear/commit, response.create/cancel and output_audio_buffer.clear.", e.Name))
	default:
		c.errorLocked("", "invalid_value", "type", fmt.Sprintf("Invalid value: '%s' is a server event.", name))
	}
}

// acceptedClientEvents are client events of the real protocol that the emulator does
// not model: accepted without an error (conversation.item.create is answered with
// conversation.item.created).
var acceptedClientEvents = map[string]bool{
	"conversation.item.create":   true,
	"conversation.item.delete":   true,
	"conversation.item.retrieve": true,
	"conversation.item.truncate": true,
	"input_audio_buffer.append":  true,
}

// commitLocked turns the input buffer into a user item and announces it.
func (c *call) commitLocked() string {
	c.nItem++
	item := fmt.Sprintf("item_%s_%d", c.id[4:], c.nItem)
	t := Turn{ItemID: item, Packets: len(c.buf), Duration: c.bufDur, Payloads: c.buf, Queued: c.po.queued}
	for _, p := range c.buf {
		t.Bytes += len(p)
	}
	if len(c.st.Turns) >= maxTurns {
		c.st.Turns = slices.Delete(c.st.Turns, 0, 1)
	}
	c.st.Turns = append(c.st.Turns, t)
	c.pending = c.buf
	c.buf, c.bufDur = nil, 0
	prev := c.lastItem
	c.lastItem = item
	c.sendLocked(events.InputAudioBufferCommitted{ItemID: item, PreviousItemID: prev})
	c.sendLocked(events.ConversationItemCreated{ItemID: item, PreviousItemID: prev, Role: "user"})
	if tr := c.st.Session.Transcription; tr != nil && tr.Model != "" {
		c.sendLocked(events.InputTranscriptionCompleted{ItemID: item, Transcript: c.s.userText})
	}
	return item
}

// mergeSession applies the fields an update sets.
func mergeSession(cur, upd *events.Session) {
	if upd.Instructions != "" {
		cur.Instructions = upd.Instructions
	}
	if upd.Voice != "" {
		cur.Voice = upd.Voice
	}
	if upd.Modalities != nil {
		cur.Modalities = slices.Clone(upd.Modalities)
	}
	if upd.TurnDetection.Type != events.TurnDetectionUnset {
		cur.TurnDetection = upd.TurnDetection
	}
	if upd.NoiseReduction != events.NoiseReductionUnset {
		cur.NoiseReduction = upd.NoiseReduction
	}
	if upd.Transcription != nil {
		t := *upd.Transcription
		cur.Transcription = &t
	}
	if upd.Tools != nil {
		cur.Tools = slices.Clone(upd.Tools)
	}
}

// startResponseLocked answers the last committed turn.
func (c *call) startResponseLocked() {
	switch c.mcpResponseLocked() { // mcp.go: a scripted server-side MCP call
	case mcpStarted:
		return
	case mcpNone:
		if c.toolResponseLocked() { // tools.go: a scripted response of function calls
			return
		}
	}
	c.nResp++
	id := fmt.Sprintf("resp_%s_%d", c.id[4:], c.nResp)
	audio := c.textAnswerLocked(c.pending) // say.go: a text prompt is answered with a chime
	c.pending = nil
	if c.s.replyAudio != nil {
		audio = c.s.replyAudio
	}
	c.stopPlayoutLocked()
	c.resp = &activeResp{id: id, idx: len(c.st.Responses), audio: len(audio) > 0}
	c.st.Responses = append(c.st.Responses, ResponseStats{ID: id, Status: events.StatusInProgress, Audio: len(audio) > 0})
	c.sendLocked(events.ResponseCreated{Response: events.Response{ID: id, Status: events.StatusInProgress}})
	c.rateLimitsLocked()
	mcpText := c.mcpAnswerLocked(id) // mcp.go: the mcp_call item and its answer, if due
	c.nItem++
	item := fmt.Sprintf("item_%s_%d", c.id[4:], c.nItem)
	c.resp.item = item
	if len(audio) > 0 {
		c.lastResp = id
		c.sendLocked(events.OutputAudioBufferStarted{ResponseID: id})
	}
	text := c.s.replyText
	if mcpText != "" {
		text = mcpText
	}
	for _, w := range strings.SplitAfter(text, " ") {
		if w == "" {
			continue
		}
		c.sendLocked(events.TranscriptDelta{ResponseID: id, ItemID: item, Delta: w})
	}
	c.sendLocked(events.TranscriptDone{ResponseID: id, ItemID: item, Transcript: text})
	if len(audio) == 0 {
		c.finishLocked(events.StatusCompleted, "")
		return
	}
	stop := make(chan struct{})
	c.resp.stop = stop
	r := c.resp
	if !c.goLocked(func() { c.play(r, audio, stop) }) {
		c.resp = nil
		return
	}
	c.doneEarlyLocked()
}

// finishLocked ends the active response: stops its audio and sends response.done.
func (c *call) finishLocked(status events.ResponseStatus, reason string) {
	r := c.resp
	if r == nil {
		return
	}
	if r.stop != nil {
		close(r.stop)
		r.stop = nil
	}
	c.resp = nil
	c.st.Responses[r.idx].Status = status
	c.st.Responses[r.idx].Reason = reason
	c.sendLocked(events.ResponseDone{Response: events.Response{ID: r.id, Status: status, StatusReason: reason}})
}

func (c *call) stopResponseLocked() {
	c.stopPlayoutLocked()
	if c.resp != nil && c.resp.stop != nil {
		close(c.resp.stop)
		c.resp.stop = nil
	}
	c.resp = nil
}

// play sends the payloads on the server track in real time (as audio deltas on a
// WebSocket, ws.go).
func (c *call) play(r *activeResp, payloads [][]byte, stop <-chan struct{}) {
	if c.ws != nil {
		c.wsPlay(r, payloads, stop)
		return
	}
	start := time.Now()
	var at time.Duration
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	c.mu.Lock()
	// RTP time follows the wall clock between responses
	now := uint32(time.Since(c.start).Milliseconds() * 48)
	if !c.tsSet || int32(now-c.ts) > 0 {
		c.ts = now
	}
	c.tsSet = true
	c.mu.Unlock()
	for i, p := range payloads {
		if !c.sleepUntil(timer, start.Add(at), stop) {
			return
		}
		d := opusDuration(p)
		if d == 0 {
			d = 20 * time.Millisecond
		}
		// The stop check, the write and the count happen under c.mu, the lock a cancel
		// takes to close stop: a packet is either sent and counted before the cancel or
		// not sent at all (a write in flight across the cancel reached the client
		// uncounted: TestBargeIn saw 11 packets of 10 sent).
		c.mu.Lock()
		select {
		case <-stop:
			c.mu.Unlock()
			return
		default:
		}
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: i == 0, SequenceNumber: c.seq, Timestamp: c.ts}, Payload: p}
		c.seq++
		c.ts += uint32(d.Microseconds() * 48 / 1000)
		if err := c.track.WriteRTP(pkt); err != nil {
			c.s.log.Debug("write RTP", "call", c.id, "err", err)
		}
		sentAt := time.Now()
		c.st.PacketsOut++
		c.st.BytesOut += uint64(len(p))
		c.st.Responses[r.idx].PacketsSent++
		c.mu.Unlock()
		if h := c.s.sendHook; h != nil {
			h(c.id, pkt, sentAt)
		}
		c.s.update(func(s *Stats) { s.PacketsOut++; s.BytesOut += uint64(len(p)) })
		at += d
	}
	// let the last packet play out before saying the buffer drained
	if !c.sleepUntil(timer, start.Add(at), stop) {
		return
	}
	c.mu.Lock()
	if c.resp == r {
		c.finishLocked(events.StatusCompleted, "")
		c.sendLocked(events.OutputAudioBufferStopped{ResponseID: r.id})
	} else if c.cv.playout == r { // its response.done went out early
		c.cv.playout = nil
		c.sendLocked(events.OutputAudioBufferStopped{ResponseID: r.id})
	}
	c.mu.Unlock()
	c.notify()
}

func (c *call) readTrack(tr *webrtc.TrackRemote) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	defer c.wg.Done()
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil || len(pkt.Payload) == 0 {
			continue
		}
		now := time.Now()
		if h := c.s.packetHook; h != nil {
			h(c.id, &pkt, now)
		}
		p := slices.Clone(pkt.Payload)
		c.mu.Lock()
		c.st.PacketsIn++
		c.st.BytesIn += uint64(len(p))
		if c.st.FirstPacket.IsZero() {
			c.st.FirstPacket = now
		}
		// into the jitter buffer; the input buffer and the VAD get it as it plays
		c.receiveLocked(p, pkt.Timestamp, opusDuration(p), now)
		c.mu.Unlock()
		c.s.update(func(s *Stats) { s.PacketsIn++; s.BytesIn += uint64(len(p)) })
	}
}

// opusDuration returns the audio duration of one Opus packet from its TOC byte
// (RFC 6716 §3.1), 0 if it cannot be parsed.
func opusDuration(p []byte) time.Duration {
	if len(p) == 0 {
		return 0
	}
	toc := p[0]
	cfg := toc >> 3
	var frame time.Duration
	switch {
	case cfg < 12: // SILK: 10, 20, 40, 60 ms
		frame = [...]time.Duration{10, 20, 40, 60}[cfg&3] * time.Millisecond
	case cfg < 16: // hybrid: 10, 20 ms
		frame = [...]time.Duration{10, 20}[cfg&1] * time.Millisecond
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = [...]time.Duration{2500, 5000, 10000, 20000}[cfg&3] * time.Microsecond
	}
	var n int
	switch toc & 3 {
	case 0:
		n = 1
	case 1, 2:
		n = 2
	default:
		if len(p) < 2 {
			return 0
		}
		n = int(p[1] & 0x3f)
	}
	d := frame * time.Duration(n)
	if d > 120*time.Millisecond {
		return 0
	}
	return d
}

// sleepUntil waits on timer (stopped or fired, and drained) until t; false when stop
// or the call ended first.
func (c *call) sleepUntil(timer *time.Timer, t time.Time, stop <-chan struct{}) bool {
	wait := time.Until(t)
	if wait <= 0 {
		return true
	}
	timer.Reset(wait)
	select {
	case <-timer.C:
		return true
	case <-stop:
		return false
	case <-c.done:
		return false
	}
}
