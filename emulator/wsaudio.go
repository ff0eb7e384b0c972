package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/rtp"
)

// The audio seam of a WebSocket call. Appended pcm16 (24 kHz mono LE, REALTIME-API.md
// §5.2) is coded into 20 ms Opus packets by a per-call libopus encoder and scheduled on
// the call's playout timeline exactly like RTP packets (receiveLocked, playout.go), at
// consecutive timestamps: the input buffer, the VAD (the same packet-size detector) and
// a commit see the audio only once it has played at real time, and a turn is a list of
// Opus packets whatever the transport. A response's packets (the turn's own, the chime,
// WithReplyAudio) are decoded back to pcm16 at 24 kHz and sent as audio deltas, one per
// packet (20 ms, 960 bytes), DefaultWSAudioLead ahead of real time; after the last one
// the audio's .done and response.done follow (on a socket the server has no playout
// buffer: the response is done when its audio has been sent).

const (
	wsRate          = 24000
	wsFrame         = wsRate / 50 // 20 ms
	wsFrameDur      = 20 * time.Millisecond
	wsMaxQueued     = 5 * time.Minute // audio waiting to be played; more is refused
	wsMaxAudioItems = 100             // audio items whose sent length is kept for truncate
	wsOpusBitrate   = 32000
)

// wsInput is the reader's side of the input audio (owned by the reader goroutine).
type wsInput struct {
	enc     wsEncoder
	partial []float32 // samples short of a whole frame
	pkt     []byte
	ts      uint32 // RTP-style timestamp (48 kHz) of the next frame
	seq     uint16 // and its sequence number (for the packet hook)
}

// wsInputInit makes the call's input encoder (newWSEncoder says how it codes).
func (c *call) wsInputInit() error {
	enc, err := newWSEncoder()
	if err != nil {
		return err
	}
	c.ws.in = wsInput{enc: enc, partial: make([]float32, 0, wsFrame), pkt: make([]byte, wsMaxPacket)}
	return nil
}

// wsHead is what the reader looks at before handing an event to the shared handling.
type wsHead struct {
	Type    string          `json:"type"`
	EventID string          `json:"event_id"`
	Audio   json.RawMessage `json:"audio"`
}

// wsMessage handles one frame: the WebSocket-only events here, the rest as on the data
// channel (clientEventLocked).
func (c *call) wsMessage(text bool, data []byte) {
	defer c.notify()
	var h wsHead
	if text && json.Unmarshal(data, &h) == nil {
		switch h.Type {
		case "input_audio_buffer.append":
			c.wsAppend(h.EventID, h.Audio)
			return
		case "conversation.item.truncate":
			c.wsTruncate(data)
			return
		case "input_audio_buffer.clear":
			c.ws.in.partial = c.ws.in.partial[:0]
		case "session.update":
			if param, msg := wsFormatProblem(data); param != "" {
				c.mu.Lock()
				c.st.ClientEvents = append(c.st.ClientEvents, h.Type)
				c.errorLocked(h.EventID, "invalid_value", param, msg)
				c.mu.Unlock()
				return
			}
		}
	}
	c.mu.Lock()
	c.clientEventLocked(text, data)
	c.mu.Unlock()
}

// wsFormatProblem refuses a session.update whose audio formats are not pcm16 at
// 24 kHz (REALTIME-API.md §5.2: GA audio/pcm only supports rate 24000; the G.711
// formats are not emulated). It returns the parameter and message, or "".
func wsFormatProblem(data []byte) (string, string) {
	var u struct {
		Session struct {
			In    *string `json:"input_audio_format"`
			Out   *string `json:"output_audio_format"`
			Audio struct {
				Input  struct{ Format *wsFormat } `json:"input"`
				Output struct{ Format *wsFormat } `json:"output"`
			} `json:"audio"`
		} `json:"session"`
	}
	if json.Unmarshal(data, &u) != nil {
		return "", "" // the shared handling reports it
	}
	s := u.Session
	for _, f := range []struct {
		param string
		v     *string
	}{{"session.input_audio_format", s.In}, {"session.output_audio_format", s.Out}} {
		if f.v != nil && *f.v != "pcm16" {
			return f.param, fmt.Sprintf("Invalid value: '%s'. The emulator serves only 'pcm16' (24 kHz mono, little-endian).", *f.v)
		}
	}
	for _, f := range []struct {
		param string
		v     *wsFormat
	}{{"session.audio.input.format", s.Audio.Input.Format}, {"session.audio.output.format", s.Audio.Output.Format}} {
		switch {
		case f.v == nil:
		case f.v.Type != "audio/pcm":
			return f.param + ".type", fmt.Sprintf("Invalid value: '%s'. The emulator serves only 'audio/pcm' at 24000 Hz.", f.v.Type)
		case f.v.Rate != nil && *f.v.Rate != wsRate:
			return f.param + ".rate", fmt.Sprintf("Invalid value: %d. 'audio/pcm' supports only rate 24000.", *f.v.Rate)
		}
	}
	return "", ""
}

type wsFormat struct {
	Type string `json:"type"`
	Rate *int   `json:"rate"`
}

// wsAppend takes input_audio_buffer.append: base64 pcm16, coded into Opus frames (off
// the call's lock) and scheduled on the playout timeline.
func (c *call) wsAppend(eventID string, raw json.RawMessage) {
	fail := func(code, param, msg string) {
		c.mu.Lock()
		c.st.ClientEvents = append(c.st.ClientEvents, "input_audio_buffer.append")
		c.errorLocked(eventID, code, param, msg)
		c.mu.Unlock()
	}
	if len(raw) == 0 || string(raw) == "null" {
		fail("missing_required_parameter", "audio", "Missing required parameter: 'audio'.")
		return
	}
	var b64 []byte
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		b64 = raw[1 : len(raw)-1] // base64 needs no JSON unescaping
	} else {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			fail("invalid_type", "audio", "Invalid type for 'audio': expected a base64 string.")
			return
		}
		b64 = []byte(s)
	}
	pcm := make([]byte, base64.StdEncoding.DecodedLen(len(b64)))
	n, err := base64.StdEncoding.Decode(pcm, b64)
	if err != nil {
		fail("invalid_value", "audio", "Invalid value for 'audio': not valid base64 ("+err.Error()+").")
		return
	}
	pcm = pcm[:n]
	switch {
	case n == 0:
		fail("invalid_value", "audio", "Invalid value for 'audio': no audio.")
		return
	case n%2 != 0:
		fail("invalid_value", "audio", fmt.Sprintf("Invalid value for 'audio': %d bytes is not a whole number of pcm16 samples (2 bytes each).", n))
		return
	}
	dur := time.Duration(n/2) * time.Second / wsRate
	c.mu.Lock()
	queued := c.po.queued
	c.mu.Unlock()
	if queued+dur > wsMaxQueued {
		fail("input_audio_buffer_full", "audio", fmt.Sprintf("The input audio buffer already holds %v waiting to be played; at most %v may wait.", queued.Round(time.Millisecond), wsMaxQueued))
		return
	}

	in := &c.ws.in
	var frames [][]byte
	for rest := pcm; len(rest) >= 2; {
		l := len(in.partial)
		k := realtime.DecodePCM16(in.partial[l:wsFrame], rest)
		in.partial, rest = in.partial[:l+k], rest[2*k:]
		if len(in.partial) < wsFrame {
			break
		}
		m, err := in.enc.Encode(in.partial, in.pkt)
		in.partial = in.partial[:0]
		if err != nil {
			c.s.log.Error("opus encode", "call", c.id, "err", err)
			continue
		}
		frames = append(frames, append([]byte(nil), in.pkt[:m]...))
	}
	now := time.Now()
	if h := c.s.packetHook; h != nil { // as for RTP: one Opus packet each
		for i, f := range frames {
			h(c.id, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: in.seq + uint16(i), Timestamp: in.ts + uint32(i*48000/50)}, Payload: f}, now)
		}
	}
	c.mu.Lock()
	c.st.PacketsIn++
	c.st.BytesIn += uint64(n)
	c.st.WS.Appends++
	c.st.WS.AudioIn += dur
	if c.st.FirstPacket.IsZero() {
		c.st.FirstPacket = now
	}
	for _, f := range frames {
		c.receiveLocked(f, in.ts, wsFrameDur, now)
		in.ts += 48000 / 50
		in.seq++
	}
	c.mu.Unlock()
	c.s.update(func(s *Stats) { s.PacketsIn++; s.BytesIn += uint64(n) })
}

// wsAudioItem is how much audio of an assistant item went out (for truncate).
type wsAudioItem struct {
	id   string
	sent time.Duration
}

// wsPlay sends a response's audio as deltas at real time (DefaultWSAudioLead ahead),
// then the audio's .done and response.done.
func (c *call) wsPlay(r *activeResp, payloads [][]byte, stop <-chan struct{}) {
	dec, err := newWSDecoder()
	if err != nil {
		c.s.log.Error("opus decoder", "call", c.id, "err", err)
		return
	}
	lead := DefaultWSAudioLead
	if c.s.wsLeadSet {
		lead = c.s.wsLead
	}
	deltaName, doneName := "response.output_audio.delta", "response.output_audio.done"
	if c.dialect == events.Preview {
		deltaName, doneName = "response.audio.delta", "response.audio.done"
	}
	c.mu.Lock()
	c.ws.items = append(c.ws.items, wsAudioItem{id: r.item})
	if len(c.ws.items) > wsMaxAudioItems {
		c.ws.items = c.ws.items[1:]
	}
	c.mu.Unlock()
	pcm := make([]float32, wsRate*120/1000)
	raw := make([]byte, 0, 2*len(pcm))
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	start := time.Now()
	var at time.Duration
	for i, p := range payloads {
		n, err := dec.Decode(p, pcm)
		if err != nil || n == 0 {
			c.s.log.Debug("opus decode", "call", c.id, "err", err)
			continue
		}
		raw = realtime.AppendPCM16(raw[:0], pcm[:n])
		d := time.Duration(n) * time.Second / wsRate
		if !c.sleepUntil(timer, start.Add(at-lead), stop) {
			return
		}
		c.mu.Lock()
		select {
		case <-stop:
			c.mu.Unlock()
			return
		default:
		}
		c.wsEventLocked(deltaName, true, func(b []byte) []byte {
			b = fmt.Appendf(b, `,"response_id":%q,"item_id":%q,"output_index":0,"content_index":0,"delta":"`, r.id, r.item)
			b = base64.StdEncoding.AppendEncode(b, raw)
			return append(b, '"')
		})
		c.ws.sentLocked(r.item, d)
		c.st.PacketsOut++
		c.st.BytesOut += uint64(len(raw))
		c.st.WS.Deltas++
		c.st.Responses[r.idx].PacketsSent++
		c.mu.Unlock()
		sentAt := time.Now()
		if h := c.s.sendHook; h != nil { // as for RTP: the Opus packet this delta was decoded from
			h(c.id, &rtp.Packet{Header: rtp.Header{Version: 2, Marker: i == 0, SequenceNumber: uint16(i), Timestamp: uint32(at * 48000 / time.Second)}, Payload: p}, sentAt)
		}
		c.s.update(func(s *Stats) { s.PacketsOut++; s.BytesOut += uint64(len(raw)) })
		at += d
	}
	c.mu.Lock()
	if c.resp == r {
		c.wsEventLocked(doneName, false, func(b []byte) []byte {
			return fmt.Appendf(b, `,"response_id":%q,"item_id":%q,"output_index":0,"content_index":0`, r.id, r.item)
		})
		c.finishLocked(events.StatusCompleted, "")
	}
	c.mu.Unlock()
	c.notify()
}

// sentLocked adds d to the audio sent of item; call.mu must be held.
func (ws *wsConn) sentLocked(item string, d time.Duration) {
	for i := len(ws.items) - 1; i >= 0; i-- {
		if ws.items[i].id == item {
			ws.items[i].sent += d
			return
		}
	}
}

// wsTruncate takes conversation.item.truncate: the item must be an assistant audio item
// of this call, content_index 0, and audio_end_ms within what was sent of it.
func (c *call) wsTruncate(data []byte) {
	var e struct {
		EventID      string `json:"event_id"`
		ItemID       string `json:"item_id"`
		ContentIndex *int   `json:"content_index"`
		AudioEndMS   *int   `json:"audio_end_ms"`
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.st.ClientEvents = append(c.st.ClientEvents, "conversation.item.truncate")
	if err := json.Unmarshal(data, &e); err != nil {
		c.errorLocked("", "invalid_json", "", "The event could not be parsed as JSON: "+err.Error())
		return
	}
	switch {
	case e.ItemID == "":
		c.errorLocked(e.EventID, "missing_required_parameter", "item_id", "Missing required parameter: 'item_id'.")
		return
	case e.ContentIndex == nil:
		c.errorLocked(e.EventID, "missing_required_parameter", "content_index", "Missing required parameter: 'content_index'.")
		return
	case e.AudioEndMS == nil:
		c.errorLocked(e.EventID, "missing_required_parameter", "audio_end_ms", "Missing required parameter: 'audio_end_ms'.")
		return
	}
	var item *wsAudioItem
	for i := range c.ws.items {
		if c.ws.items[i].id == e.ItemID {
			item = &c.ws.items[i]
		}
	}
	sent := 0
	if item != nil {
		sent = int(item.sent / time.Millisecond)
	}
	switch {
	case item == nil:
		c.errorLocked(e.EventID, "invalid_value", "item_id", fmt.Sprintf("Invalid value: no assistant audio item with id '%s' in this session.", e.ItemID))
	case *e.ContentIndex != 0:
		c.errorLocked(e.EventID, "invalid_value", "content_index", fmt.Sprintf("Invalid value: %d. The item has one audio content part (index 0).", *e.ContentIndex))
	case *e.AudioEndMS < 0 || *e.AudioEndMS > sent:
		c.errorLocked(e.EventID, "invalid_value", "audio_end_ms", fmt.Sprintf("Invalid value: %d. audio_end_ms must be within the %d ms of audio sent for item '%s'.", *e.AudioEndMS, sent, e.ItemID))
	default:
		c.st.Truncations = append(c.st.Truncations, Truncation{ItemID: e.ItemID, AudioEndMS: *e.AudioEndMS, SentMS: sent})
		c.wsEventLocked("conversation.item.truncated", false, func(b []byte) []byte {
			return append(fmt.Appendf(b, `,"item_id":%q,"content_index":0,"audio_end_ms":`, e.ItemID), strconv.Itoa(*e.AudioEndMS)...)
		})
	}
}
