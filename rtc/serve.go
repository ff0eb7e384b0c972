package rtc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/webrtc/v4"
)

// turn is the push-to-talk and response state; it outlives connections.
type turn struct {
	pressed    bool
	releaseGen uint64 // generation of the release waiting to be drained
	awaitDrain bool
	settle     *time.Timer
	responding bool   // response.created seen, response.done not yet
	respID     string // the response in progress
	speaking   bool   // output_audio_buffer.started seen, stopped/cleared not yet
	cancelled  string // the response cut off by the last barge-in
	conv       convTurn
}

var (
	errConnectTimeout = errors.New("rtc: the connection did not come up in time (ICE/DTLS)")
	errPCFailed       = errors.New("rtc: peer connection failed (ICE or DTLS)")
	errPCClosed       = errors.New("rtc: peer connection closed by the remote side")
	errDCClosed       = errors.New("rtc: the server closed the data channel")
	errICEDisconnect  = errors.New("rtc: ICE disconnected (waiting for it to recover)")
)

// sessionUpdateWait bounds how long the uplink waits for session.updated before it
// sends audio anyway (every service answers session.update; this only keeps a peer
// that does not from muting the device).
const sessionUpdateWait = time.Second

// serve runs one connection until it ends. up reports whether it ever connected.
func (s *Session) serve(ctx context.Context, c *conn, t *turn) (up bool, cause error) {
	connectTimer := time.NewTimer(s.cfg.connectTO)
	defer connectTimer.Stop()
	var settleC <-chan time.Time
	var updateC <-chan time.Time // running while the uplink waits for session.updated
	if t.settle != nil {
		t.settle.Stop()
		t.settle = nil
	}
	defer func() {
		s.upTrack.Store(nil)
		s.dropLostTurn(t)
		if t.settle != nil {
			t.settle.Stop()
			t.settle = nil
		}
		// A response in flight on the old connection is gone with it.
		t.responding, t.speaking, t.respID = false, false, ""
		s.busy.Store(false)
	}()
	var renewC <-chan time.Time // armed once the service said when the session expires
	// A press held across a reconnect counts as a fresh press on the new session.
	for {
		s.busy.Store(t.responding || t.speaking)
		if c.renewDue && turnIdle(t) {
			return up, errRenew
		}
		if renewC == nil && !c.expiresAt.IsZero() && !c.renewArmed {
			renewC = s.armRenew(c)
		}
		select {
		case <-ctx.Done():
			return up, ctx.Err()
		case <-c.retryWebRTC(): // auto on WebSocket: back to WebRTC at the next idle moment (transport.go)
			c.renewDue = true
		case <-renewC:
			renewC = nil
			c.renewDue = true
		case <-connectTimer.C:
			if !up {
				return false, errConnectTimeout
			}
		case <-updateC:
			updateC = nil
			if !c.updated || c.awaitCleared {
				s.cfg.log.Warn("rtc: no session.updated or input_audio_buffer.cleared within 1 s; sending audio anyway")
				c.updated, c.awaitCleared = true, false
				s.maybeUplink(c)
			}
		case <-settleC:
			settleC, t.settle = nil, nil
			t.conv.vadSpeech = false
			c.send(events.InputAudioBufferCommit{})
			c.send(events.ResponseCreate{})
			t.conv.awaitResp = true
			s.emit(Event{Kind: EventThinking})
		case cmd := <-s.cmds:
			switch cmd {
			case cmdPress:
				if t.settle != nil { // pressed again before the commit: same turn
					t.settle.Stop()
					t.settle, settleC = nil, nil
					t.pressed = true
					s.emit(Event{Kind: EventListening})
					continue
				}
				if t.pressed && !s.cfg.openMic {
					continue
				}
				t.pressed = true
				t.awaitDrain = false
				s.bargeIn(c, t)
				if !s.cfg.openMic && (c.dcOpen || c.bound && c.uplinkOn) {
					c.send(events.InputAudioBufferClear{})
				}
				s.emit(Event{Kind: EventListening})
			case cmdRelease:
				if !t.pressed {
					continue
				}
				t.pressed = false
				s.emit(Event{Kind: EventMicClosed})
				if s.cfg.openMic && !t.conv.vadSpeech {
					continue // the service's VAD has committed all it heard
				}
				t.releaseGen = s.upRelease.Add(1)
				t.awaitDrain = true
				s.kickUplink()
			case cmdCancel:
				s.bargeIn(c, t)
			case cmdSay:
				s.sayNow(c, t)
			case cmdTools:
				s.sendTools(c)
			}
		case m := <-s.inbox:
			if m.kind == msgDrained {
				if t.awaitDrain && m.gen == t.releaseGen {
					t.awaitDrain = false
					t.settle = time.NewTimer(s.commitWait())
					settleC = t.settle.C
				}
				continue
			}
			if m.c != c {
				continue // from a connection already closed
			}
			switch m.kind {
			case msgPCState:
				switch m.pcState {
				case webrtc.PeerConnectionStateConnected:
					if !up {
						up = true
						now := time.Now()
						s.st.setConnect(now.Sub(c.dialStart), now.Sub(c.posted), c.callID)
					}
					s.setState(StateConnected, nil, true)
				case webrtc.PeerConnectionStateDisconnected:
					if up {
						s.setState(StateDisconnected, errICEDisconnect, true)
					}
				case webrtc.PeerConnectionStateFailed:
					return up, errPCFailed
				case webrtc.PeerConnectionStateClosed:
					return up, errPCClosed
				}
			case msgBound:
				c.bound = true
				s.maybeUplink(c)
			case msgDCOpen:
				c.dcOpen = true
				if t.conv.clearFirst { // a turn was lost with the last connection
					t.conv.clearFirst = false
					c.send(events.InputAudioBufferClear{})
					c.awaitCleared = true
					if updateC == nil {
						tm := time.NewTimer(sessionUpdateWait)
						defer tm.Stop()
						updateC = tm.C
					}
				}
				s.sendTools(nil) // a list queued while there was no channel: in this update
				if s.cfg.session != nil {
					c.send(events.SessionUpdate{Session: *s.cfg.session})
					tm := time.NewTimer(sessionUpdateWait)
					defer tm.Stop()
					updateC = tm.C
				}
				for _, b := range c.pending {
					c.write(b)
				}
				c.pending = nil
				s.maybeUplink(c)
			case msgDCClose:
				return up, errDCClosed
			case msgDCMessage:
				if err := s.handleServer(c, t, m.data); err != nil {
					return up, err
				}
			case msgClosed:
				return up, m.err
			case msgToolDone:
				s.toolDone(c, t, m.tool)
			}
		}
	}
}

// maybeUplink starts sending mic audio once the track is bound and, when a session
// config is to be sent, after it went out.
// maybeUplink starts sending audio once the track is bound and, with a session config,
// once the service has applied it (session.updated): audio that arrived before would
// meet the key's defaults (server VAD, which could commit and answer part of a
// push-to-talk turn on its own). The pre-roll holds what is captured meanwhile.
func (s *Session) maybeUplink(c *conn) {
	if c.uplinkOn || !c.bound || c.awaitCleared || (s.cfg.session != nil && (!c.dcOpen || !c.updated)) {
		return
	}
	c.uplinkOn = true
	tgt := &upTarget{c: c}
	if c.track != nil {
		tgt.track = c.track.TrackLocalStaticSample
	}
	s.upTrack.Store(tgt)
	s.kickUplink()
}

// bargeIn cancels the response in progress and drops every sample of it held locally.
func (s *Session) bargeIn(c *conn, t *turn) {
	s.cancelTools(c, "barge-in") // tools.go: a press, Cancel or Say ends running tool calls
	if !t.responding && !t.speaking {
		return
	}
	if t.responding { // after response.done a cancel is an error (response_cancel_not_active)
		c.send(events.ResponseCancel{})
	}
	s.clearOutput(c, t) // ws.go: output_audio_buffer.clear, or truncate on WebSocket
	s.discard.Store(true)
	s.flushReq.Add(1)
	t.cancelled = t.respID
	t.responding = false
	s.st.bargeIns.Add(1)
	s.emit(Event{Kind: EventBargeIn, ResponseID: t.respID})
	if t.speaking {
		t.speaking = false
		s.emit(Event{Kind: EventSpeakingStopped, ResponseID: t.respID})
	}
}

// handleServer acts on one server event; a non-nil error ends the connection.
func (s *Session) handleServer(c *conn, t *turn, data []byte) error {
	ev, err := events.Decode(data)
	if err != nil {
		s.st.malformed.Add(1)
		s.emit(Event{Kind: EventError, Err: fmt.Errorf("rtc: bad event from the server: %w", err)})
		return nil
	}
	switch e := ev.(type) {
	case events.SessionCreated:
		c.setExpiry(e.Session.ExpiresAt)
	case events.SessionUpdated:
		c.setExpiry(e.Session.ExpiresAt)
		if !c.updated {
			c.updated = true
			s.maybeUplink(c)
		}
	case events.InputAudioBufferCleared:
		if c.awaitCleared {
			c.awaitCleared = false
			s.maybeUplink(c)
		}
	case events.SpeechStarted:
		s.cancelTools(c, "the user spoke") // tools.go
		t.conv.vadSpeech = true
		s.wsSpeechStarted(c, t) // ws.go
		s.emit(Event{Kind: EventSpeechStarted, Server: e})
	case events.SpeechStopped:
		t.conv.vadSpeech = false
		s.emit(Event{Kind: EventSpeechStopped, Server: e})
		if s.cfg.openMic {
			t.conv.awaitResp = true
			s.emit(Event{Kind: EventThinking, Server: e}) // the service commits and answers
		}
	case events.RateLimitsUpdated:
		s.st.setRateLimits(e.RateLimits)
	case events.ResponseCreated:
		t.conv.awaitResp = false
		t.responding, t.respID = true, e.Response.ID
		if e.Response.ID != t.cancelled {
			s.discard.Store(false)
		}
	case events.OutputAudioBufferStarted:
		if e.ResponseID != "" && e.ResponseID == t.cancelled {
			return nil // late news of the cancelled response
		}
		s.discard.Store(false)
		t.speaking = true
		s.emit(Event{Kind: EventSpeakingStarted, ResponseID: e.ResponseID, Server: e})
	case events.OutputAudioBufferStopped:
		if e.ResponseID != "" && e.ResponseID != t.respID {
			return nil // an earlier response's (cancelled) buffer: the current one still plays
		}
		if t.speaking {
			t.speaking = false
			s.emit(Event{Kind: EventSpeakingStopped, ResponseID: e.ResponseID, Server: e})
		}
	case events.OutputAudioBufferCleared:
		// The server cut the audio (its VAD heard the user, or our clear): drop what is
		// buffered here too, and anything of that response still in flight. A cleared
		// that names an earlier response (our barge-in's clear, answered after the next
		// response was created) is late news: the current response plays on.
		if e.ResponseID != "" && e.ResponseID != t.respID {
			return nil
		}
		if t.speaking || t.responding {
			s.discard.Store(true)
			s.flushReq.Add(1)
			if t.cancelled == "" || t.cancelled != t.respID {
				t.cancelled = t.respID
			}
		}
		if t.speaking {
			t.speaking = false
			s.emit(Event{Kind: EventSpeakingStopped, ResponseID: e.ResponseID, Server: e})
		}
	case events.ResponseDone:
		t.conv.awaitResp = false
		if e.Response.ID == t.respID {
			t.responding = false
		}
		s.emit(Event{Kind: EventResponseDone, ResponseID: e.Response.ID, Server: e})
		s.toolsResponseDone(c, t, e.Response) // tools.go
	case events.TranscriptDelta:
		s.emit(Event{Kind: EventTranscriptDelta, Text: e.Delta, ResponseID: e.ResponseID, Server: e})
	case events.TranscriptDone:
		s.emit(Event{Kind: EventTranscriptDone, Text: e.Transcript, ResponseID: e.ResponseID, Server: e})
	case events.InputTranscriptionCompleted:
		s.emit(Event{Kind: EventUserTranscript, Text: e.Transcript, Server: e})
	case events.Error:
		if c.causeName(e.Error.ClientEventID) == "response.create" {
			t.conv.awaitResp = false // no response is coming
		}
		err := c.serverError(e)
		s.emit(Event{Kind: EventError, Err: err, Server: e})
		if e.Error.Code == "session_expired" {
			return fmt.Errorf("rtc: the server ended the session: %s", e.Error.Message)
		}
	case events.Unknown:
		s.cfg.log.Debug("rtc: unknown server event ignored", "type", e.Name)
	case events.FunctionCallArgumentsDone, events.OutputItemDone:
		s.handleToolEvent(c, t, ev) // tools.go
	case events.MCPListToolsFailed, events.MCPCallFailed, events.ConversationItemDone:
		s.handleMCPEvent(c, ev) // mcpapproval.go
	default:
		s.cfg.log.Debug("rtc: server event", "type", ev.Type().Name(c.dialect))
	}
	return nil
}
