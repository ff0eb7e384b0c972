package emulator

import (
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/edgevoice/edgevoice/realtime/events"
)

// convOpts are the server's conversation options (the strictness the real service has
// and the emulator can be asked to show).
type convOpts struct {
	doneEarly  bool               // response.done when generation ends, before the audio has played out
	rateLimits []events.RateLimit // sent as rate_limits.updated at the start of each response; nil = the default
}

// convCall is a call's part of the same.
type convCall struct {
	key     string      // the ephemeral key that created the call (hang-up is authorised with it)
	playout *activeResp // a response whose response.done went out while its audio still plays
	// closedDC: the emulator closed the data channel itself (a fault), so its closing is
	// not the client hanging up
	closedDC bool
	// serverEnded: the emulator ended the call itself (close, fault, hang-up endpoint)
	serverEnded atomic.Bool
}

// serverEnd closes the call's peer connection from the server side.
func (c *call) serverEnd() {
	c.cv.serverEnded.Store(true)
	if c.ws != nil {
		c.wsEnd(wsGoingAway, "the emulator ended the session")
		return
	}
	c.pc.Close()
}

// WithResponseDoneBeforePlayout makes the emulator send response.done as soon as a
// response's audio has been "generated" (when its first packet goes out), while the
// audio keeps playing in real time; output_audio_buffer.stopped follows when it has
// played out. That is what the service does: a client that cancels between the two
// gets error response_cancel_not_active, as it does after any response.done.
func WithResponseDoneBeforePlayout() Option {
	return func(s *Server) error { s.conv.doneEarly = true; return nil }
}

// WithRateLimits sets what rate_limits.updated reports at the start of each response
// (default: requests 1000 with one used per response, tokens 50000).
func WithRateLimits(r []events.RateLimit) Option {
	return func(s *Server) error { s.conv.rateLimits = r; return nil }
}

// rateLimitsLocked sends rate_limits.updated, as the service does at the start of each
// response; c.mu must be held.
func (c *call) rateLimitsLocked() {
	r := c.s.conv.rateLimits
	if r == nil {
		r = []events.RateLimit{{Name: "requests", Limit: 1000, Remaining: 1000 - c.nResp, ResetSeconds: 60},
			{Name: "tokens", Limit: 50000, Remaining: 50000 - 100*c.nResp, ResetSeconds: 60}}
	}
	c.sendLocked(events.RateLimitsUpdated{RateLimits: r})
}

// doneEarlyLocked sends response.done for the active response whose audio has started
// playing and keeps the audio going as c.cv.playout; c.mu must be held.
func (c *call) doneEarlyLocked() {
	r := c.resp
	// a WebSocket response is done when its last delta is sent (ws.go)
	if r == nil || !c.s.conv.doneEarly || r.stop == nil || c.ws != nil {
		return
	}
	c.resp = nil
	c.cv.playout = r
	c.st.Responses[r.idx].Status = events.StatusCompleted
	c.sendLocked(events.ResponseDone{Response: events.Response{ID: r.id, Status: events.StatusCompleted}})
}

// stopPlayoutLocked stops the audio of a response that is already done; it returns its
// id ("" if none was playing). c.mu must be held.
func (c *call) stopPlayoutLocked() string {
	r := c.cv.playout
	if r == nil {
		return ""
	}
	c.cv.playout = nil
	if r.stop != nil {
		close(r.stop)
		r.stop = nil
	}
	return r.id
}

// hangup serves POST …/realtime/calls/{call_id}/hangup (GA): the call ends at once.
// It is authorised with the key that created the call (or the server's API key).
func (s *Server) hangup(w http.ResponseWriter, r *http.Request, callID string) {
	tok, ok := trimBearer(r.Header.Get("Authorization"))
	if !ok {
		apiError(w, http.StatusUnauthorized, "invalid_request_error", "missing_api_key", "You didn't provide an API key.")
		return
	}
	var c *call
	s.mu.Lock()
	for _, x := range s.calls {
		if x.id == callID {
			c = x
		}
	}
	s.mu.Unlock()
	if c == nil {
		apiError(w, http.StatusNotFound, "invalid_request_error", "call_not_found", "No call with id "+callID+".")
		return
	}
	c.mu.Lock()
	if tok != c.cv.key && tok != s.apiKey {
		c.mu.Unlock()
		apiError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
		return
	}
	c.st.HungUp = true
	c.mu.Unlock()
	s.log.Info("call hung up by the client", "call", c.id)
	c.serverEnd() // onState(closed) records the end and cleans up
	c.notify()
	w.WriteHeader(http.StatusOK)
}

// previewHangUp ends a preview call whose client closed the data channel: the preview
// API documents no hang-up endpoint, and closing the channel (and the peer connection)
// is all a client can do, so the emulator takes it as the end of the call.
func (c *call) previewHangUp() {
	c.mu.Lock()
	c.st.HungUp = true
	c.mu.Unlock()
	c.s.log.Info("call ended: the client closed the data channel (preview hang-up)", "call", c.id)
	c.serverEnd() // on pion's goroutine, not one the call joins: onState(closed) cleans up
}

// hangupCallID returns the call id of a GA hang-up path (/v1/realtime/calls/{id}/hangup
// or /openai/v1/realtime/calls/{id}/hangup).
func hangupCallID(path string) (string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(path, "/openai"), "/v1/realtime/calls/")
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, "/hangup")
	return id, ok && id != "" && !strings.Contains(id, "/")
}
