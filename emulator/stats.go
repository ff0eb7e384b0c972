package emulator

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/edgevoice/edgevoice/realtime/events"
)

// Stats is what the server saw and did. Server.Stats returns a deep copy.
type Stats struct {
	MintRequests   int // requests to any mint endpoint
	MintsOK        int // keys issued
	SDPRequests    int // requests to any SDP endpoint
	WSRequests     int // WebSocket handshakes received (ws.go), refused ones included
	CallsAnswered  int // SDP answers sent and WebSocket handshakes accepted
	CallsConnected int // peer connections that reached connected, WebSockets opened
	CallsEnded     int // peer connections closed or failed, WebSockets closed
	// PacketsIn and BytesIn count RTP packets and payload bytes received, and on
	// WebSockets input_audio_buffer.append events and their decoded pcm16 bytes.
	PacketsIn uint64
	BytesIn   uint64
	// PacketsOut and BytesOut count RTP packets and payload bytes sent, and on
	// WebSockets audio delta events and their pcm16 bytes.
	PacketsOut uint64
	BytesOut   uint64
	Calls      []CallStats
}

// CallStats describes one call (one answered SDP offer or one accepted WebSocket).
//
// On a WebSocket call ClientEvents leaves out input_audio_buffer.append and
// ServerEvents the audio deltas (they are counted in PacketsIn and PacketsOut), and
// Turn.Payloads are the Opus packets the appended pcm16 was coded into (ws.go).
type CallStats struct {
	ID           string // "rtc_…", also the Location of GA answers; "wss_…" for a WebSocket
	Transport    string // "webrtc" or "websocket"
	Dialect      events.Dialect
	Path         string   // SDP or WebSocket endpoint path
	Label        string   // data channel label ("" on a WebSocket)
	State        string   // last peer connection state ("connected", "closed" on a WebSocket)
	DCOpen       bool     // the data channel (the WebSocket) is open
	ClientEvents []string // wire type of each client event in order ("<malformed>" for undecodable ones)
	ServerEvents []string // wire type of each server event in order
	PacketsIn    uint64
	BytesIn      uint64
	PacketsOut   uint64
	BytesOut     uint64
	FirstPacket  time.Time     // arrival of the first RTP packet
	Queued       time.Duration // audio received and waiting in the jitter buffer to be played
	Played       time.Duration // audio played out of the jitter buffer (into the input buffer)
	LatePackets  int           // packets dropped for arriving after their time had played
	Connected    time.Time
	Session      events.Session // current session config
	Turns        []Turn         // committed user turns
	Responses    []ResponseStats
	HungUp       bool         // the client hung up (POST …/calls/{id}/hangup)
	Tools        ToolStats    // scripted function calls and the client's answers (tools.go)
	MCP          MCPStats     // scripted server-side MCP calls and the client's answers (mcp.go)
	Truncations  []Truncation // accepted conversation.item.truncate events (WebSocket)
	WS           *WSStats     // WebSocket only (nil for WebRTC)
}

// Truncation is one accepted conversation.item.truncate.
type Truncation struct {
	ItemID       string
	ContentIndex int
	AudioEndMS   int
	SentMS       int // audio of the item sent when the truncate came
}

// WSStats is what a WebSocket call saw of its socket.
type WSStats struct {
	Appends     int           // input_audio_buffer.append events accepted
	AudioIn     time.Duration // pcm16 audio appended
	Deltas      int           // audio delta events sent
	QueueHigh   int           // most bytes ever waiting in the send queue
	Overflowed  bool          // the send queue overflowed and the socket was dropped (a slow reader)
	TooBig      bool          // a frame over the read limit came (closed with 1009)
	ClosedBy    string        // "client", "server" or "" (dropped without a close frame)
	CloseCode   int           // the close frame's status code (-1 if none)
	CloseReason string
}

// Turn is one committed input buffer.
type Turn struct {
	ItemID   string
	Packets  int
	Bytes    int
	Duration time.Duration // sum of the Opus packet durations (audio played by the commit)
	Queued   time.Duration // audio received but not yet played at the commit (left for the next turn)
	Payloads [][]byte      // the Opus payloads in arrival order
}

// ResponseStats is one response.
type ResponseStats struct {
	ID          string
	Status      events.ResponseStatus
	Reason      string
	PacketsSent int
	Audio       bool // had audio (framed by output_audio_buffer events)
}

func (c CallStats) clone() CallStats {
	c.ClientEvents = slices.Clone(c.ClientEvents)
	c.ServerEvents = slices.Clone(c.ServerEvents)
	c.Turns = slices.Clone(c.Turns)
	for i := range c.Turns {
		c.Turns[i].Payloads = slices.Clone(c.Turns[i].Payloads)
	}
	c.Responses = slices.Clone(c.Responses)
	c.Tools = c.Tools.clone()
	c.MCP = c.MCP.clone()
	c.Truncations = slices.Clone(c.Truncations)
	if c.WS != nil {
		w := *c.WS
		c.WS = &w
	}
	c.Session.Tools = slices.Clone(c.Session.Tools)
	c.Session.Modalities = slices.Clone(c.Session.Modalities)
	if c.Session.Transcription != nil {
		t := *c.Session.Transcription
		c.Session.Transcription = &t
	}
	return c
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := s.stats
	calls := slices.Clone(s.calls)
	s.mu.Unlock()
	st.Calls = make([]CallStats, len(calls))
	for i, c := range calls {
		st.Calls[i] = c.snapshot()
	}
	return st
}

// WaitStats waits until cond holds for a snapshot of the stats, or ctx ends.
func (s *Server) WaitStats(ctx context.Context, cond func(Stats) bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		st := s.Stats()
		if cond(st) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("emulator: WaitStats: %w (last: %d calls, %d packets in)", ctx.Err(), len(st.Calls), st.PacketsIn)
		case <-s.done:
			return fmt.Errorf("emulator: WaitStats: server closed")
		}
	}
}

// LastCall returns the stats of the most recent call, false if there is none.
func (st Stats) LastCall() (CallStats, bool) {
	if len(st.Calls) == 0 {
		return CallStats{}, false
	}
	return st.Calls[len(st.Calls)-1], true
}
