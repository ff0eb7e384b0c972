package emulator

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/realtime/events"
)

// WebSocket endpoints (issue 16). The emulator serves the WebSocket variant of every
// dialect on the paths and query shapes of the real services (REALTIME-API.md §6):
//
//	GET /openai/realtime?api-version=2025-04-01-preview&deployment=<d>   Azure preview (beta event names)
//	GET /openai/v1/realtime?model=<m>                                    Azure GA
//	GET /v1/realtime?model=<m>                                           OpenAI GA
//
// A call on a socket is the same call as one over WebRTC (call.go): the same event
// handling, turns, responses, VAD, tool script and faults. Only the audio seam differs
// (wsaudio.go): input_audio_buffer.append carries base64 pcm16 (24 kHz mono, LE) which
// is coded into 20 ms Opus packets and fed to the same real-time playout as RTP
// (playout.go), and answers go out as response.output_audio.delta (GA) or
// response.audio.delta (preview) events paced at real time. The events that
// REALTIME-API.md §3.3 marks WebRTC/SIP only (output_audio_buffer.*) are not sent, and
// output_audio_buffer.clear is an error.
//
// # Auth
//
// The emulator accepts, on the WebSocket handshake:
//   - Authorization: Bearer <ephemeral key> of the endpoint's dialect, unexpired, on all
//     three paths: what a device holds (the long-lived key stays with the key daemon or
//     broker). OpenAI documents Bearer <key> on its socket (§6); for Azure §6 documents
//     Bearer <Entra token>, which the emulator has no stand-in for, and a third-party
//     report (§6, LiteLLM) shows Azure sockets asking for ephemeral authentication, so an
//     ephemeral Bearer is what the emulator models there too.
//   - the long-lived API key (Server.APIKey) as the `api-key` header or the `api-key=`
//     query parameter on the two Azure paths (§6: both are documented for Azure), and
//     as Bearer on the OpenAI path (§6: "Authorization: Bearer <key>", the standard
//     key, server to server).
//
// Anything else is 401 before the upgrade, as the SDP endpoints answer. The GA paths
// refuse an api-version parameter and an OpenAI-Beta header (§2.1, §6, §7.6) and the
// preview path any api-version but 2025-04-01-preview (404, as the preview mint does).
// The sideband form (?call_id=) is not emulated (400).
//
// # Frames
//
// Events are JSON text frames. The read limit is 15 MiB, the largest event the API
// allows (input_audio_buffer.append, §3.2); a larger frame closes the socket with 1009
// (message too big). A binary frame or malformed JSON is answered with an error event
// (invalid_json), as on the data channel. Server events wait in a send queue bounded to
// wsQueueBytes and wsQueueMsgs: a client that stops reading fills it within a few
// seconds of audio and the socket is dropped (no close frame: the peer is not reading),
// so a slow reader never grows the emulator's memory without bound.

const (
	wsReadLimit  = 15 << 20 // REALTIME-API.md §3.2: up to 15 MiB per event
	wsQueueBytes = 1 << 20  // about 14 s of 24 kHz audio deltas; a live client holds a few
	wsQueueMsgs  = 2048
	// wsCloseGrace bounds a clean close: after it the socket is dropped.
	wsCloseGrace = 2 * time.Second
	wsGoingAway  = websocket.StatusGoingAway
	wsTransport  = "websocket"
)

// DefaultWSAudioLead is how far ahead of real time the emulator sends audio deltas on a
// WebSocket: each 20 ms delta leaves this long before its place on the answer's
// real-time timeline, so the first 100 ms go at once and the rest one every 20 ms.
const DefaultWSAudioLead = 100 * time.Millisecond

// WithWSAudioLead sets how far ahead of real time audio deltas are sent (0..5 s,
// default DefaultWSAudioLead).
func WithWSAudioLead(d time.Duration) Option {
	return func(s *Server) error {
		if d < 0 || d > 5*time.Second {
			return fmt.Errorf("emulator: WebSocket audio lead %v out of 0..5s", d)
		}
		s.wsLead, s.wsLeadSet = d, true
		return nil
	}
}

// wsPaths maps the WebSocket paths to their dialect.
var wsPaths = map[string]events.Dialect{
	"/openai/realtime":    events.Preview,
	"/openai/v1/realtime": events.GA,
	"/v1/realtime":        events.GA,
}

// WSPaths returns the emulator's WebSocket endpoints relative to URL(), with their query
// (model names filled in), for printing and for clients.
func (s *Server) WSPaths() map[string]string {
	return map[string]string{
		provisioning.ProfileAzurePreview: "/openai/realtime?api-version=" + provisioning.PreviewAPIVersion + "&deployment=" + DefaultPreviewModel,
		provisioning.ProfileAzure:        "/openai/v1/realtime?model=" + DefaultGAModel,
		provisioning.ProfileOpenAI:       "/v1/realtime?model=" + DefaultGAModel,
	}
}

// WSURL returns the ws:// URL of profile's WebSocket endpoint: "azure-preview",
// "azure", "openai", or "broker" and "" for the server's dialect (the upstream of its
// broker keys). It returns "" before Start or for an unknown profile.
func (s *Server) WSURL(profile string) string {
	if profile == "" || profile == provisioning.ProfileBroker {
		profile = upstreamProfile(s.dialect)
	}
	p, ok := s.WSPaths()[profile]
	base := s.URL()
	if !ok || base == "" {
		return ""
	}
	return "ws" + base[len("http"):] + p
}

// wsConn is a call's socket. The queue fields are guarded by call.mu.
type wsConn struct {
	conn   *websocket.Conn
	ctx    context.Context // cancelled: the socket is dropped at once
	cancel context.CancelFunc

	q        [][]byte // server events waiting for the writer
	qBytes   int
	kick     chan struct{} // wakes the writer (cap 1)
	closeReq bool          // a clean close is due after the queue drains
	code     websocket.StatusCode
	reason   string
	grace    *time.Timer   // drops the socket when a clean close takes too long
	vanished bool          // VanishAfter: nothing is read, written or ponged any more
	items    []wsAudioItem // assistant audio items and how much of each went out (wsaudio.go)

	// owned by the reader goroutine (wsaudio.go)
	in wsInput
}

// wsShape checks the path's query and headers; it returns the dialect and the model.
func (s *Server) wsShape(w http.ResponseWriter, r *http.Request) (events.Dialect, string, bool) {
	path, q := r.URL.Path, r.URL.Query()
	d := wsPaths[path]
	if q.Has("call_id") {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "unsupported", "The emulator does not serve the sideband (call_id) WebSocket of a WebRTC call.")
		return d, "", false
	}
	if d == events.Preview {
		if v := q.Get("api-version"); v != provisioning.PreviewAPIVersion {
			apiError(w, http.StatusNotFound, "invalid_request_error", "404", "Resource not found (api-version must be "+provisioning.PreviewAPIVersion+")")
			return d, "", false
		}
		dep := q.Get("deployment")
		if dep == "" {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "missing_required_parameter", "Missing required query parameter: 'deployment'.")
			return d, "", false
		}
		return d, dep, true
	}
	if q.Has("api-version") {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "unknown_parameter", "The GA endpoint takes no api-version (REALTIME-API.md §2.1).")
		return d, "", false
	}
	if r.Header.Get("OpenAI-Beta") != "" {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "beta_api_shape_disabled", "The GA endpoint takes no OpenAI-Beta header.")
		return d, "", false
	}
	m := q.Get("model")
	if m == "" {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "missing_model", "Missing required query parameter: 'model'.")
		return d, "", false
	}
	return d, m, true
}

// wsAuth checks the handshake's credentials (see Auth above); it returns the key's
// record (zero for the long-lived key) and the ephemeral key ("" for the long-lived one).
func (s *Server) wsAuth(w http.ResponseWriter, r *http.Request, d events.Dialect) (keyRecord, string, bool) {
	path := r.URL.Path
	azure := path != "/v1/realtime"
	if azure {
		k := r.Header.Get("api-key")
		if k == "" {
			k = r.URL.Query().Get("api-key")
		}
		if k != "" {
			if k != s.apiKey {
				apiError(w, http.StatusUnauthorized, "invalid_request_error", "401", "Access denied due to invalid subscription key or wrong API endpoint.")
				return keyRecord{}, "", false
			}
			return keyRecord{dialect: d}, "", true
		}
	}
	tok, ok := trimBearer(r.Header.Get("Authorization"))
	if !ok {
		apiError(w, http.StatusUnauthorized, "invalid_request_error", "missing_api_key", "You didn't provide an API key (Authorization: Bearer <ephemeral key>, or api-key on Azure).")
		return keyRecord{}, "", false
	}
	if !azure && tok == s.apiKey {
		return keyRecord{dialect: d}, "", true
	}
	s.mu.Lock()
	rec, known := s.keys[tok]
	s.mu.Unlock()
	switch {
	case !known || rec.dialect != d:
		apiError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
		return keyRecord{}, "", false
	case time.Now().After(rec.expires):
		apiError(w, http.StatusUnauthorized, "invalid_request_error", "expired_api_key", "The ephemeral key has expired.")
		return keyRecord{}, "", false
	}
	return rec, tok, true
}

// serveWS serves the WebSocket endpoints: checks, upgrade, then the call's reader loop
// on this goroutine until the socket ends.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		apiError(w, http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed", "use GET with a WebSocket upgrade")
		return
	}
	s.update(func(st *Stats) { st.WSRequests++ })
	path := r.URL.Path
	if s.noGA && path == "/openai/v1/realtime" {
		apiError(w, http.StatusNotFound, "invalid_request_error", "404", "Resource not found")
		return
	}
	d, model, ok := s.wsShape(w, r)
	if !ok {
		return
	}
	rec, tok, ok := s.wsAuth(w, r, d)
	if !ok {
		return
	}
	// the SDP faults are the connect faults of both transports
	if s.injectFault(w, false) {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		apiError(w, http.StatusServiceUnavailable, "server_error", "", "shutting down")
		return
	}
	s.wg.Add(1) // this goroutine outlives the hijack: the server joins it
	faults := s.faults
	s.mu.Unlock()
	defer s.wg.Done()
	if !s.answerDelay(w, r, faults.AnswerDelay) {
		return
	}

	ws := &wsConn{kick: make(chan struct{}, 1), code: -1}
	ws.ctx, ws.cancel = context.WithCancel(context.Background())
	c := &call{s: s, id: s.newID("wss_"), dialect: d, faults: faults, start: time.Now(), done: make(chan struct{}), ws: ws}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// VanishAfter: no pong either, so the client's keepalive notices
		OnPingReceived: func(context.Context, []byte) bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			return !ws.vanished
		},
	})
	if err != nil {
		ws.cancel()
		s.log.Info("websocket handshake refused", "path", path, "err", err)
		return
	}
	conn.SetReadLimit(wsReadLimit)
	ws.conn = conn

	sess := withDefaults(rec.session, d)
	if tok == "" {
		sess.Model = model // the long-lived key: the model comes from the query
	}
	sess.ID = s.newID("sess_")
	now := time.Now()
	sess.ExpiresAt = now.Add(30 * time.Minute).Unix()
	if faults.SessionLifetime > 0 {
		sess.ExpiresAt = now.Add(faults.SessionLifetime).Unix()
	}
	c.st = CallStats{ID: c.id, Transport: wsTransport, Dialect: d, Path: path, State: "connected", DCOpen: true,
		Connected: now, Session: sess, WS: &WSStats{CloseCode: -1}}
	c.cv.key = tok
	if err := c.wsInputInit(); err != nil {
		s.log.Error("websocket call", "err", err)
		ws.cancel()
		conn.Close(websocket.StatusInternalError, "emulator: no Opus coder")
		return
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ws.cancel()
		conn.Close(wsGoingAway, "shutting down")
		return
	}
	for len(s.calls) >= maxCalls && s.calls[0].isEnded() {
		s.calls = s.calls[1:]
	}
	s.calls = append(s.calls, c)
	s.mu.Unlock()

	c.mu.Lock()
	if !c.goLocked(c.wsWriter) { // Server.Close got it first
		c.mu.Unlock()
		ws.cancel()
		conn.CloseNow()
		return
	}
	c.wg.Add(1) // the reader: this goroutine
	c.sendLocked(events.SessionCreated{Session: c.st.Session})
	c.wsFaultsLocked()
	c.mu.Unlock()
	s.update(func(st *Stats) { st.CallsAnswered++; st.CallsConnected++ })
	s.log.Info("websocket call", "call", c.id, "path", path, "dialect", d)

	err = c.wsRead()
	c.wg.Done()
	c.wsEnded(err)
}

// wsRead reads frames until the socket ends and returns why it ended.
func (c *call) wsRead() error {
	ws := c.ws
	for {
		typ, data, err := ws.conn.Read(ws.ctx)
		if err != nil {
			return err
		}
		c.mu.Lock()
		gone := ws.vanished
		c.mu.Unlock()
		if gone {
			continue
		}
		c.wsMessage(typ == websocket.MessageText, data)
	}
}

// wsEnded records the end of the socket and cleans the call up.
func (c *call) wsEnded(err error) {
	ws := c.ws
	c.mu.Lock()
	c.st.State = "closed"
	c.st.DCOpen = false
	st := c.st.WS
	switch {
	case errors.Is(err, websocket.ErrMessageTooBig):
		st.TooBig = true
		st.ClosedBy, st.CloseCode, st.CloseReason = "server", int(websocket.StatusMessageTooBig), "message too big"
	case websocket.CloseStatus(err) != -1:
		var ce websocket.CloseError
		errors.As(err, &ce)
		if ws.closeReq { // our close, echoed
			st.ClosedBy, st.CloseCode, st.CloseReason = "server", int(ws.code), ws.reason
		} else {
			st.ClosedBy, st.CloseCode, st.CloseReason = "client", int(ce.Code), ce.Reason
		}
	}
	hungUp := st.ClosedBy == "client" && !c.cv.serverEnded.Load()
	if hungUp {
		c.st.HungUp = true
	}
	c.stopResponseLocked()
	c.mu.Unlock()
	ws.cancel()
	if hungUp {
		c.s.log.Info("call ended: the client closed the WebSocket", "call", c.id)
	} else {
		c.s.log.Info("websocket ended", "call", c.id, "err", err)
	}
	c.s.update(func(s *Stats) { s.CallsEnded++ })
	if c.ended.Swap(true) {
		return // closed by Server.Close
	}
	c.closeLater()
}

// wsSendLocked queues one server event for the writer; c.mu must be held. A full queue
// drops the socket (the client is not reading).
func (c *call) wsSendLocked(b []byte) error {
	ws := c.ws
	if ws.closeReq || ws.ctx.Err() != nil {
		return errors.New("websocket closing")
	}
	if ws.vanished {
		return errors.New("websocket vanished (fault)")
	}
	if ws.qBytes+len(b) > wsQueueBytes || len(ws.q) >= wsQueueMsgs {
		if !c.st.WS.Overflowed {
			c.st.WS.Overflowed = true
			c.s.log.Warn("websocket send queue full: dropping the socket (the client does not read)", "call", c.id,
				"queued_bytes", ws.qBytes, "queued_events", len(ws.q))
		}
		ws.cancel()
		return errors.New("websocket send queue full")
	}
	ws.q = append(ws.q, b)
	ws.qBytes += len(b)
	c.st.WS.QueueHigh = max(c.st.WS.QueueHigh, ws.qBytes)
	select {
	case ws.kick <- struct{}{}:
	default:
	}
	return nil
}

// wsWriter writes the queued events, then the clean close if one is due.
func (c *call) wsWriter() {
	ws := c.ws
	defer func() {
		c.mu.Lock()
		if ws.grace != nil {
			ws.grace.Stop()
		}
		c.mu.Unlock()
		ws.cancel()
		ws.conn.CloseNow()
	}()
	for {
		c.mu.Lock()
		var msg []byte
		if len(ws.q) > 0 {
			msg = ws.q[0]
			ws.q[0] = nil
			ws.q = ws.q[1:]
			ws.qBytes -= len(msg)
			if len(ws.q) == 0 {
				ws.q = nil
			}
		}
		closeNow, code, reason := ws.closeReq && msg == nil, ws.code, ws.reason
		c.mu.Unlock()
		switch {
		case msg != nil:
			if err := ws.conn.Write(ws.ctx, websocket.MessageText, msg); err != nil {
				c.s.log.Debug("websocket write", "call", c.id, "err", err)
				return
			}
			continue
		case closeNow:
			if err := ws.conn.Close(code, reason); err != nil {
				c.s.log.Debug("websocket close", "call", c.id, "err", err)
			}
			return
		}
		select {
		case <-ws.kick:
		case <-ws.ctx.Done():
			return
		}
	}
}

// wsEnd closes the socket from the server side with a close frame after the queued
// events (within wsCloseGrace, else the socket is dropped).
func (c *call) wsEnd(code websocket.StatusCode, reason string) {
	ws := c.ws
	c.mu.Lock()
	defer c.mu.Unlock()
	if ws.closeReq || ws.ctx.Err() != nil {
		return
	}
	ws.closeReq, ws.code, ws.reason = true, code, reason
	ws.grace = time.AfterFunc(wsCloseGrace, ws.cancel)
	select {
	case ws.kick <- struct{}{}:
	default:
	}
}

// wsDrop drops the socket without a close frame (a network failure).
func (c *call) wsDrop() {
	c.cv.serverEnded.Store(true)
	c.ws.cancel()
}

// wsFaultsLocked arms the call's faults; c.mu must be held. DropAfter drops the socket
// without a close frame, VanishAfter stops reading, writing and answering pings (the
// TCP connection stays up), SessionLifetime sends error session_expired and then
// closes with 1000, CloseDataChannelAfter closes with 1001 (the socket is the event
// channel).
func (c *call) wsFaultsLocked() {
	f := c.faults
	if f.SessionLifetime > 0 {
		c.afterLocked(f.SessionLifetime, func() {
			c.mu.Lock()
			c.sendLocked(events.Error{Error: events.ErrorInfo{Type: "invalid_request_error", Code: "session_expired",
				Message: fmt.Sprintf("Your session hit the maximum duration of %v.", f.SessionLifetime)}})
			c.mu.Unlock()
			c.notify()
			c.cv.serverEnded.Store(true)
			c.wsEnd(websocket.StatusNormalClosure, "session expired")
		})
	}
	if f.DropAfter > 0 {
		c.afterLocked(f.DropAfter, func() {
			c.s.log.Info("dropping the websocket (fault)", "call", c.id)
			c.wsDrop()
		})
	}
	if f.VanishAfter > 0 {
		c.afterLocked(f.VanishAfter, func() {
			c.s.log.Info("websocket goes silent (fault)", "call", c.id)
			c.mu.Lock()
			c.ws.vanished = true
			c.ws.q, c.ws.qBytes = nil, 0
			c.mu.Unlock()
		})
	}
	if f.CloseDataChannelAfter > 0 {
		c.afterLocked(f.CloseDataChannelAfter, func() {
			c.s.log.Info("closing the websocket (fault)", "call", c.id)
			c.closeDC()
		})
	}
}

// webRTCOnly reports the server events REALTIME-API.md §3.3 marks WebRTC/SIP only.
func webRTCOnly(t events.Type) bool {
	switch t {
	case events.TypeOutputAudioBufferStarted, events.TypeOutputAudioBufferStopped, events.TypeOutputAudioBufferCleared:
		return true
	}
	return false
}

// wsEventLocked queues a server event written by hand (the WebSocket-only events the
// events package does not model) and records its name unless quiet; c.mu must be held.
func (c *call) wsEventLocked(name string, quiet bool, body func(b []byte) []byte) {
	if c.ws == nil {
		return
	}
	c.nEvent++
	b := fmt.Appendf(make([]byte, 0, 256), `{"type":%q,"event_id":"event_%s_%d"`, name, c.id[4:], c.nEvent)
	b = body(b)
	b = append(b, '}')
	if err := c.wsSendLocked(b); err != nil {
		return
	}
	if !quiet {
		c.st.ServerEvents = append(c.st.ServerEvents, name)
	}
}
