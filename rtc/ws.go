package rtc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/edgevoice/edgevoice/dsp/resample"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/webrtc/v4"
)

// The WebSocket transport. A wsLink is the socket of one conn; it posts the same
// connMsg kinds as the WebRTC connection (the socket open is the data channel open and
// the track bound, a text frame a data channel message), so serve and handleServer run
// unchanged. What WebRTC does in media, the link does in events:
//
//   - uplink: 48 kHz mic frames → dsp/resample → 24 kHz pcm16 LE → base64 in
//     input_audio_buffer.append, one message per 20 ms frame when live and up to
//     wsChunkFrames (100 ms) per message for a backlog (pre-roll). 20 ms keeps press →
//     first byte at one frame; 100 ms cuts the per-message overhead of a backlog (which
//     the service takes at once: on WebSocket there is no receiver playing it out) to a
//     fifth. Encoded into buffers from a fixed pool: no allocation per frame.
//   - downlink: response.(output_)audio.delta → base64 decode → 24 → 48 kHz → the
//     playback ring, whose playout delay (WithJitter) is the jitter allowance. A full
//     ring stops the reader (TCP backpressure), so a fast server never grows memory.
//   - WebRTC's output_audio_buffer.started/stopped, which the service sends only on
//     WebRTC, are made here (first delta of a response; its response.done and the ring
//     played out) and posted as if received, so the speaking state is the same.
//   - barge-in: response.cancel + conversation.item.truncate at the played position +
//     local flush (output_audio_buffer.clear is WebRTC-only).
//   - commit: the same rule as on WebRTC (commit.go: the settle after the media time
//     sent has elapsed). Whether the service's input buffer holds appended audio at once
//     or, as the emulator models it, plays it out at real time first is not documented
//     (UNCONFIRMED); a commit right after the last append lost the last 80 ms of every
//     turn on the emulator (320 of 400 ms), so the rule that loses nothing on either is
//     used. The commit goes through the same ordered write queue as the appends.
//
// Bounds: at most wsAudioBufs audio messages (wsAudioBufs × 100 ms) and wsQueueLen
// messages in all wait for the socket; a control event that finds the queue full, or a
// write that takes longer than the write timeout, ends the connection with an error
// that says so (the session reconnects). The read limit refuses oversized frames.

const (
	wsChunkFrames = 5  // 100 ms: the largest append (backlog)
	wsAudioBufs   = 8  // append messages that may wait for the socket (≤ 800 ms of audio)
	wsQueueLen    = 64 // all messages that may wait for the socket
	wsRate        = 24000
	wsFrame24     = frameLen / 2 // 20 ms at 24 kHz

	defaultWSReadLimit    = 1 << 20 // 1 MiB ≈ 16 s of audio in one delta
	defaultWSWriteTimeout = 5 * time.Second
)

var (
	errWSQueueFull = errors.New("rtc: the WebSocket write queue is full (the socket is stalled or too slow); reconnecting")
	errGather      = errors.New("rtc: ICE gathering did not finish")
)

const appendPrefix = `{"type":"input_audio_buffer.append","audio":"`

// wsMsg is one text message waiting for the socket.
type wsMsg struct {
	b     []byte
	audio bool // from the append pool
	press int64
}

// wsLink is the socket of one conn and its two goroutines (reader, writer).
type wsLink struct {
	c          *conn
	ws         *websocket.Conn
	queue      chan *wsMsg
	free       chan *wsMsg
	failOnce   sync.Once
	failed     chan struct{} // closed with closeCause set
	retryTimer *time.Timer   // auto: when to try WebRTC again (run loop only)

	// uplink goroutine only
	down   *resample.Resampler // 48 → 24 kHz
	res    []float32
	raw    []byte // pcm16 LE of the chunk being built
	frames int

	// reader goroutine
	up         *resample.Resampler // 24 → 48 kHz
	curResp    string
	drainResp  atomic.Pointer[string] // response whose audio ends when the ring is empty
	drainKick  chan struct{}
	item       atomic.Pointer[wsItem]
	cancelled  atomic.Pointer[string] // response cut off by a barge-in (run loop writes)
	writeTO    time.Duration
	closeCause atomic.Pointer[error]
}

// wsItem is the assistant audio item being played, for conversation.item.truncate.
type wsItem struct {
	id, resp string
	written  atomic.Int64 // 48 kHz samples written to the ring
}

// checkWSURL parses a WebSocket URL.
func checkWSURL(u string) (*url.URL, error) {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "wss" && p.Scheme != "ws") || p.Host == "" {
		return nil, fmt.Errorf("rtc: bad WebSocket URL %q (want wss://host/path?query)", realtime.RedactURL(u))
	}
	return p, nil
}

// wsURL returns the WebSocket URL for key (REALTIME-API.md §6), derived from its SDP URL
// unless override is set: OpenAI GA …/v1/realtime/calls → wss://host/v1/realtime?model=,
// Azure GA …/openai/v1/realtime/calls → wss://host/openai/v1/realtime?model=, Azure
// preview …/v1/realtimertc?model=D → wss://host/openai/realtime?api-version=
// 2025-04-01-preview&deployment=D (same host: right for the emulator and a broker; the
// real preview WebRTC host is regional, so there the URL must be configured).
func wsURL(key realtime.Key, override, model string) (string, error) {
	if override != "" {
		return override, nil
	}
	u, err := url.Parse(key.SDPURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("rtc: key %s: cannot derive a WebSocket URL from its SDP URL; set [rtc] websocket_url", key)
	}
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	case "http":
		u.Scheme = "ws"
	default:
		return "", fmt.Errorf("rtc: key %s: SDP URL scheme %q has no WebSocket form; set [rtc] websocket_url", key, u.Scheme)
	}
	q := url.Values{}
	p := strings.TrimSuffix(u.Path, "/")
	switch {
	case strings.HasSuffix(p, "/realtime/calls"):
		u.Path = strings.TrimSuffix(p, "/calls")
		if model != "" {
			q.Set("model", model)
		}
	case strings.HasSuffix(p, "/v1/realtimertc"):
		if strings.HasSuffix(u.Hostname(), ".realtimeapi-preview.ai.azure.com") {
			return "", fmt.Errorf("rtc: the Azure preview WebSocket is on the resource host, not %s; set [rtc] websocket_url", u.Host)
		}
		dep := u.Query().Get("model")
		if dep == "" {
			dep = model
		}
		u.Path = strings.TrimSuffix(p, "/v1/realtimertc") + "/openai/realtime"
		q.Set("api-version", "2025-04-01-preview")
		q.Set("deployment", dep)
	default:
		return "", fmt.Errorf("rtc: key %s: unknown SDP URL form; set [rtc] websocket_url", key)
	}
	u.RawPath, u.Fragment = "", ""
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// dialWS opens the WebSocket for key and starts its reader and writer. It returns when
// the socket is open; the open is then posted like a data channel open.
func (s *Session) dialWS(ctx context.Context, key realtime.Key) (_ *conn, err error) {
	c := &conn{s: s, dialect: key.Dialect, done: make(chan struct{}), dialStart: time.Now()}
	c.key, c.dcClosed = key, make(chan struct{})
	model := realtime.DefaultModel // GA needs ?model= (Azure: the deployment: set the session's model)
	if s.cfg.session != nil && s.cfg.session.Model != "" {
		model = s.cfg.session.Model
	}
	u, err := wsURL(key, s.cfg.wsURL, model)
	if err != nil {
		return nil, err
	}
	secrets := append(realtime.URLSecrets(u), key.Value)
	h := http.Header{}
	h.Set("Authorization", "Bearer "+key.Value)
	dctx, cancel := context.WithTimeout(ctx, s.cfg.connectTO)
	defer cancel()
	ws, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{HTTPClient: s.cfg.httpClient, HTTPHeader: h})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols && resp.StatusCode >= 300 {
			var body []byte
			if resp.Body != nil {
				body, _ = io.ReadAll(io.LimitReader(resp.Body, 1024)) // coder/websocket keeps the first 1 KiB
			}
			he := httpError(resp.StatusCode, body, secrets...)
			he.Op = "WebSocket handshake"
			return nil, he
		}
		if ctx.Err() == nil && dctx.Err() != nil {
			return nil, fmt.Errorf("rtc: WebSocket %s did not open in %v", realtime.RedactURL(u), s.cfg.connectTO)
		}
		return nil, fmt.Errorf("rtc: WebSocket %s: %w", realtime.RedactURL(u), redactedError(err, secrets...))
	}
	ws.SetReadLimit(s.cfg.wsReadLimit)
	c.posted = time.Now()
	w := &wsLink{c: c, ws: ws, queue: make(chan *wsMsg, wsQueueLen), free: make(chan *wsMsg, wsAudioBufs),
		drainKick: make(chan struct{}, 1), writeTO: s.cfg.wsWriteTO, failed: make(chan struct{})}
	for range wsAudioBufs {
		// prefix + base64 of 100 ms of pcm16 + `"}`
		w.free <- &wsMsg{b: make([]byte, 0, len(appendPrefix)+base64.StdEncoding.EncodedLen(wsChunkFrames*wsFrame24*2)+2), audio: true}
	}
	if w.down, err = resample.New(sampleRate, wsRate); err != nil {
		ws.CloseNow()
		return nil, fmt.Errorf("rtc: %w", err)
	}
	if w.up, err = resample.New(wsRate, sampleRate); err != nil {
		ws.CloseNow()
		return nil, fmt.Errorf("rtc: %w", err)
	}
	w.res = make([]float32, w.down.MaxOut(frameLen))
	w.raw = make([]byte, 0, wsChunkFrames*(wsFrame24+1)*2)
	if s.cfg.transport == TransportAuto {
		w.retryTimer = time.NewTimer(s.cfg.webrtcRetry - time.Since(s.fellBackAt))
	}
	c.ws = w
	c.wg.Add(2)
	go func() { defer c.wg.Done(); w.reader() }()
	go func() { defer c.wg.Done(); w.writer() }()
	c.post(connMsg{kind: msgPCState, pcState: webrtc.PeerConnectionStateConnected})
	c.post(connMsg{kind: msgBound})
	c.post(connMsg{kind: msgDCOpen})
	return c, nil
}

// fail ends the link with err (once). It never blocks (the run loop calls it): the
// reader, whose Read the close ends, posts err to the run loop as the connection's end.
func (w *wsLink) fail(err error) {
	w.failOnce.Do(func() {
		w.closeCause.Store(&err)
		close(w.failed)
		w.ws.CloseNow()
	})
}

// close closes the socket (conn.close joins the goroutines): a close frame, waiting for
// the peer's at most the hang-up timeout.
func (w *wsLink) close() {
	w.failOnce.Do(func() {
		err := errors.New("rtc: WebSocket closed")
		w.closeCause.Store(&err)
		close(w.failed)
		t := time.AfterFunc(w.c.s.cfg.hangupTO, func() { w.ws.CloseNow() })
		_ = w.ws.Close(websocket.StatusNormalClosure, "")
		t.Stop()
		w.ws.CloseNow()
	})
	if w.retryTimer != nil {
		w.retryTimer.Stop()
	}
}

// sendText queues a control event (run loop).
func (w *wsLink) sendText(b []byte) {
	select {
	case w.queue <- &wsMsg{b: b}:
	default:
		w.c.s.st.sendErrors.Add(1)
		w.fail(errWSQueueFull)
	}
}

// writer writes queued messages in order, each within the write timeout, and watches
// the playback ring for the end of a response's audio.
func (w *wsLink) writer() {
	s := w.c.s
	var tick *time.Ticker
	var tickC <-chan time.Time
	defer func() {
		if tick != nil {
			tick.Stop()
		}
	}()
	for {
		select {
		case <-w.c.done:
			return
		case m := <-w.queue:
			ctx, cancel := context.WithTimeout(context.Background(), w.writeTO)
			err := w.ws.Write(ctx, websocket.MessageText, m.b)
			timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded)
			cancel()
			if err != nil {
				s.st.sendErrors.Add(1)
				if timedOut {
					w.fail(fmt.Errorf("rtc: a WebSocket write took longer than %v (the socket is stalled); reconnecting", w.writeTO))
				} else {
					w.ws.CloseNow() // the socket is broken or closed: the reader reports why
				}
				return
			}
			if m.audio {
				if m.press != 0 {
					s.st.pressToFirst.Store(time.Now().UnixNano() - m.press)
					m.press = 0
				}
				w.free <- m
			}
		case <-w.drainKick:
			if tick == nil {
				tick = time.NewTicker(frameDur)
				tickC = tick.C
			}
		case <-tickC:
			p := w.drainResp.Load()
			if p == nil {
				tick.Stop()
				tick, tickC = nil, nil
				continue
			}
			if s.play.Len() > 0 && !s.discard.Load() {
				continue
			}
			if w.drainResp.CompareAndSwap(p, nil) {
				w.c.post(connMsg{kind: msgDCMessage, data: synthEvent("output_audio_buffer.stopped", *p)})
			}
		}
	}
}

// synthEvent is a WebRTC-only server event made locally.
func synthEvent(typ, respID string) []byte {
	b, _ := json.Marshal(struct {
		Type       string `json:"type"`
		ResponseID string `json:"response_id"`
	}{typ, respID})
	return b
}

// wsServerEvent is what the reader looks at in a server event.
type wsServerEvent struct {
	Type       string `json:"type"`
	ResponseID string `json:"response_id"`
	ItemID     string `json:"item_id"`
	Delta      string `json:"delta"`
	Response   struct {
		ID string `json:"id"`
	} `json:"response"`
}

// reader reads server events until the socket ends: audio deltas into the ring, the
// rest to the run loop.
func (w *wsLink) reader() {
	s := w.c.s
	var pcm []float32
	var out []float32
	var raw []byte
	for {
		typ, data, err := w.ws.Read(context.Background())
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				// closed here: by fail/close, or by the library when a write timed out
				// (the writer then says why at once)
				t := time.NewTimer(time.Second)
				select {
				case <-w.failed:
				case <-t.C:
				}
				t.Stop()
			}
			if p := w.closeCause.Load(); p != nil { // we closed it, for this reason
				w.c.post(connMsg{kind: msgClosed, err: *p})
				return
			}
			var ce websocket.CloseError
			switch {
			case errors.As(err, &ce) && ce.Code == websocket.StatusMessageTooBig:
				err = fmt.Errorf("rtc: the server sent a WebSocket message over the %d-byte read limit; refused", s.cfg.wsReadLimit)
			case strings.Contains(err.Error(), "read limited"):
				s.st.malformed.Add(1)
				err = fmt.Errorf("rtc: the server sent a WebSocket message over the %d-byte read limit; refused", s.cfg.wsReadLimit)
			case errors.As(err, &ce):
				err = fmt.Errorf("rtc: the server closed the WebSocket (%d %s)", int(ce.Code), realtime.Scrub(ce.Reason, w.c.key.Value))
			default:
				err = fmt.Errorf("rtc: WebSocket read: %w", redactedError(err, w.c.key.Value))
			}
			w.fail(err)
			w.c.post(connMsg{kind: msgClosed, err: err})
			return
		}
		if typ != websocket.MessageText {
			s.st.malformed.Add(1)
			s.emit(Event{Kind: EventError, Err: fmt.Errorf("rtc: the server sent a binary WebSocket message (%d bytes); ignored", len(data))})
			continue
		}
		s.st.bytesRecv.Add(uint64(len(data)))
		if !bytes.Contains(data, []byte(`audio.delta"`)) && !bytes.Contains(data, []byte(`"response.done"`)) {
			w.c.post(connMsg{kind: msgDCMessage, data: data})
			continue
		}
		var ev wsServerEvent
		if json.Unmarshal(data, &ev) != nil {
			w.c.post(connMsg{kind: msgDCMessage, data: data}) // handleServer reports it
			continue
		}
		switch ev.Type {
		case "response.output_audio.delta", "response.audio.delta":
			s.st.packetsRecv.Add(1)
			if c := w.cancelled.Load(); c != nil && *c == ev.ResponseID {
				s.st.discarded.Add(1)
				continue
			}
			if ev.ResponseID != w.curResp {
				w.curResp = ev.ResponseID
				w.up.Reset()
				s.discard.Store(false)
				w.c.post(connMsg{kind: msgDCMessage, data: synthEvent("output_audio_buffer.started", ev.ResponseID)})
			}
			if it := w.item.Load(); it == nil || it.id != ev.ItemID {
				w.item.Store(&wsItem{id: ev.ItemID, resp: ev.ResponseID})
			}
			n := base64.StdEncoding.DecodedLen(len(ev.Delta))
			if cap(raw) < n {
				raw = make([]byte, n)
			}
			n, err := base64.StdEncoding.Decode(raw[:n], []byte(ev.Delta))
			if err != nil || n%2 != 0 {
				s.st.malformed.Add(1)
				s.st.decodeErrors.Add(1)
				s.emit(Event{Kind: EventError, Err: fmt.Errorf("rtc: bad audio delta from the server (%d base64 bytes)", len(ev.Delta))})
				continue
			}
			ns := n / 2
			if cap(pcm) < ns {
				pcm = make([]float32, ns)
				out = make([]float32, w.up.MaxOut(ns))
			}
			pcm = pcm[:realtime.DecodePCM16(pcm[:ns], raw[:n])]
			m := w.up.Process(out[:cap(out)], pcm)
			w.play(out[:m])
		case "response.done":
			if ev.Response.ID != "" && ev.Response.ID == w.curResp {
				id := ev.Response.ID
				w.drainResp.Store(&id)
				select {
				case w.drainKick <- struct{}{}:
				default:
				}
			}
			w.c.post(connMsg{kind: msgDCMessage, data: data})
		default:
			w.c.post(connMsg{kind: msgDCMessage, data: data})
		}
	}
}

// play writes decoded audio into the playback ring, waiting (TCP backpressure) while it
// is full; a barge-in or the connection's end drops the rest.
func (w *wsLink) play(p []float32) {
	s := w.c.s
	it := w.item.Load()
	var tm *time.Timer
	defer func() {
		if tm != nil {
			tm.Stop()
		}
	}()
	for len(p) > 0 {
		if s.discard.Load() {
			return
		}
		if c := w.cancelled.Load(); c != nil && it != nil && *c == it.resp {
			return
		}
		n := s.play.Write(p[:min(len(p), s.play.Free())])
		if it != nil {
			it.written.Add(int64(n))
		}
		s.st.decodedSamples.Add(uint64(n))
		p = p[n:]
		if len(p) == 0 {
			return
		}
		if tm == nil {
			tm = time.NewTimer(frameDur)
		} else {
			tm.Reset(frameDur)
		}
		select {
		case <-w.c.done:
			return
		case <-tm.C:
		}
	}
}

// truncate sends response.cancel's companion on WebSocket: conversation.item.truncate
// of the item being played at the position played, and marks its response cancelled
// for the reader. Run loop.
func (w *wsLink) truncate(respID string) {
	w.cancelled.Store(&respID)
	w.drainResp.Store(nil)
	it := w.item.Load()
	if it == nil || it.id == "" {
		return
	}
	played := max(0, it.written.Load()-int64(w.c.s.play.Len()))
	ms := played * 1000 / sampleRate
	b, _ := json.Marshal(struct {
		Type         string `json:"type"`
		ItemID       string `json:"item_id"`
		ContentIndex int    `json:"content_index"`
		AudioEndMs   int64  `json:"audio_end_ms"`
	}{"conversation.item.truncate", it.id, 0, ms})
	w.sendText(b)
}

// clearOutput stops the service's audio of the response being cut off: on WebRTC
// output_audio_buffer.clear, on WebSocket conversation.item.truncate (bargeIn).
func (s *Session) clearOutput(c *conn, t *turn) {
	if c.ws != nil {
		c.ws.truncate(t.respID)
		return
	}
	c.send(events.OutputAudioBufferClear{})
}

// wsSpeechStarted handles a server-VAD interruption on WebSocket: the service cancels
// its response itself (interrupt_response) but sends no output_audio_buffer.cleared,
// so the local playback is flushed and the item truncated here, as the cleared event
// does on WebRTC.
func (s *Session) wsSpeechStarted(c *conn, t *turn) {
	if c.ws == nil || (!t.speaking && !t.responding) {
		return
	}
	c.ws.truncate(t.respID)
	s.discard.Store(true)
	s.flushReq.Add(1)
	t.cancelled = t.respID
	if t.speaking {
		t.speaking = false
		s.emit(Event{Kind: EventSpeakingStopped, ResponseID: t.respID})
	}
}

// stepWS is the uplink's step on a WebSocket target: the backlog as fast as the write
// queue takes it (no receiver plays it out at real time), in chunks of up to 100 ms,
// then the live frames one by one; on release the partial frame and the drain.
func (u *uplinker) stepWS(tgt *upTarget) time.Duration {
	s := u.s
	w := tgt.c.ws
	u.now = time.Now()
	if u.wsTgt != tgt {
		u.wsTgt = tgt
		w.down.Reset()
	}
	for s.mic.Len() >= frameLen {
		var m *wsMsg
		select {
		case m = <-w.free:
		default:
			return frameDur // the socket is behind: the mic ring (bounded) holds the rest
		}
		w.raw, w.frames = w.raw[:0], 0
		for w.frames < wsChunkFrames && s.mic.Len() >= frameLen {
			s.mic.Read(u.frame[:])
			w.addPCM(u.frame[:])
		}
		if !w.queueAppend(m) {
			return 0
		}
		u.pace.sent(tgt, u.now, time.Duration(w.frames)*frameDur)
	}
	if gen := s.upRelease.Load(); gen != u.released && !s.micLive.Load() {
		if s.mic.Len() > 0 {
			var m *wsMsg
			select {
			case m = <-w.free:
			default:
				return frameDur
			}
			w.raw, w.frames = w.raw[:0], 0
			n := s.mic.Read(u.frame[:])
			w.addPCM(u.frame[:n])
			if !w.queueAppend(m) {
				return 0
			}
			u.pace.sent(tgt, u.now, time.Duration(n)*time.Second/sampleRate)
		}
		u.released = gen
		s.pace.leadAtDrain.Store(int64(u.pace.lead(tgt, u.now)))
		select {
		case s.inbox <- connMsg{kind: msgDrained, gen: gen}:
		case <-tgt.c.done:
		}
	}
	return 0
}

// addPCM resamples a 48 kHz piece to 24 kHz pcm16 LE at the end of w.raw.
func (w *wsLink) addPCM(f []float32) {
	n := w.down.Process(w.res, f)
	w.raw = realtime.AppendPCM16(w.raw, w.res[:n])
	w.frames++
}

// queueAppend encodes w.raw as an append into m and queues it; false if the link is
// gone (m is dropped with it).
func (w *wsLink) queueAppend(m *wsMsg) bool {
	s := w.c.s
	m.b = append(m.b[:0], appendPrefix...)
	m.b = base64.StdEncoding.AppendEncode(m.b, w.raw)
	m.b = append(m.b, '"', '}')
	m.press = s.pressAt.Swap(0)
	select {
	case w.queue <- m:
	case <-w.c.done:
		return false
	}
	s.st.packetsSent.Add(1)
	s.st.bytesSent.Add(uint64(len(m.b)))
	return true
}
