//go:build cgo

package emulator

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5/test"
)

// wsTurn opens a GA socket (push-to-talk), appends pcm, waits until it has played,
// commits and asks for a response; it returns the client and the response's
// response.created.
func wsTurn(t *testing.T, srv *Server, pcm []float32) *wsClient {
	t.Helper()
	c := wsOpen(t, srv, "openai", srv.NewKey(events.GA, time.Minute))
	c.send(sessionUpdatePTT())
	c.until("session.updated")
	c.appendPCM(pcm, wsRate/50)
	waitPlayed(t, srv, (time.Duration(len(pcm)) * time.Second / wsRate).Truncate(20*time.Millisecond))
	c.send(events.InputAudioBufferCommit{})
	c.until("conversation.item.created")
	c.send(events.ResponseCreate{})
	c.until("response.created")
	return c
}

// TestWSCancelAndTruncate: response.cancel stops the deltas at once (response.done
// cancelled, nothing after it); conversation.item.truncate is checked against the item
// and the audio sent and recorded; output_audio_buffer.clear is WebRTC only.
func TestWSCancelAndTruncate(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t)
	defer srv.Close()
	speech := speech24k(t)
	c := wsTurn(t, srv, speech)
	defer c.close()
	var item string
	deltas := 0
	for deltas < 10 {
		e := c.next()
		if e.name == "response.output_audio.delta" {
			_, item, _ = deltaAudio(t, e)
			deltas++
		}
	}
	c.send(events.ResponseCancel{EventID: "cancel"})
	for {
		e := c.next()
		if e.name == "response.output_audio.delta" {
			deltas++
			continue
		}
		rd, ok := e.ev.(events.ResponseDone)
		if !ok {
			t.Fatalf("after the cancel: %s", e.raw)
		}
		if rd.Response.Status != events.StatusCancelled || rd.Response.StatusReason != "client_cancelled" {
			t.Errorf("response.done %s", e.raw)
		}
		break
	}
	call, _ := srv.Stats().LastCall()
	sent := call.Responses[0].PacketsSent
	if sent != deltas || sent >= len(speech)/wsFrame/2 {
		t.Errorf("server sent %d deltas, client got %d, of an answer of %d", sent, deltas, len(speech)/wsFrame)
	}
	sentMS := sent * 20
	c.sendRaw(`{"type":"output_audio_buffer.clear","event_id":"clr"}`)
	c.expectError("output_audio_buffer.clear", "invalid_value", "type")
	c.sendRaw(`{"type":"conversation.item.truncate","event_id":"t1","item_id":"item_nope","content_index":0,"audio_end_ms":10}`)
	c.expectError("truncate of an unknown item", "invalid_value", "item_id")
	c.sendRaw(fmt.Sprintf(`{"type":"conversation.item.truncate","item_id":%q,"content_index":0,"audio_end_ms":%d}`, item, sentMS+20))
	c.expectError("truncate beyond the audio sent", "invalid_value", "audio_end_ms")
	c.sendRaw(fmt.Sprintf(`{"type":"conversation.item.truncate","item_id":%q,"content_index":1,"audio_end_ms":10}`, item))
	c.expectError("truncate of content 1", "invalid_value", "content_index")
	c.sendRaw(fmt.Sprintf(`{"type":"conversation.item.truncate","item_id":%q,"content_index":0}`, item))
	c.expectError("truncate without audio_end_ms", "missing_required_parameter", "audio_end_ms")
	played := sentMS - 60
	c.sendRaw(fmt.Sprintf(`{"type":"conversation.item.truncate","item_id":%q,"content_index":0,"audio_end_ms":%d}`, item, played))
	if e := c.next(); e.name != "conversation.item.truncated" || !strings.Contains(string(e.raw), fmt.Sprintf(`"audio_end_ms":%d`, played)) {
		t.Errorf("truncate: %s", e.raw)
	}
	c.send(events.ResponseCancel{EventID: "late"})
	c.expectError("cancel with nothing active", "response_cancel_not_active", "")
	time.Sleep(200 * time.Millisecond) // no delta comes any more
	select {
	case e := <-c.evs:
		t.Errorf("after the cancel: %s", e.raw)
	default:
	}
	call, _ = srv.Stats().LastCall()
	if len(call.Truncations) != 1 || call.Truncations[0] != (Truncation{ItemID: item, AudioEndMS: played, SentMS: sentMS}) {
		t.Errorf("truncations %+v", call.Truncations)
	}
	if call.Responses[0].PacketsSent != sent || call.Responses[0].Status != events.StatusCancelled {
		t.Errorf("responses %+v", call.Responses)
	}
}

// TestWSMalformed: malformed events and audio are answered with error events and the
// socket stays usable; a frame over 15 MiB closes it with 1009.
func TestWSMalformed(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t)
	defer srv.Close()
	c := wsOpen(t, srv, "openai", srv.NewKey(events.GA, time.Minute))
	defer c.close()
	for _, tc := range []struct{ name, frame, code, param string }{
		{"truncated JSON", `{"type":`, "invalid_json", ""},
		{"append without audio", `{"type":"input_audio_buffer.append"}`, "missing_required_parameter", "audio"},
		{"append of a number", `{"type":"input_audio_buffer.append","audio":12}`, "invalid_type", "audio"},
		{"append of bad base64", `{"type":"input_audio_buffer.append","audio":"AAE*"}`, "invalid_value", "audio"},
		{"append of unpadded base64", `{"type":"input_audio_buffer.append","audio":"AAE"}`, "invalid_value", "audio"},
		{"append of an odd length", `{"type":"input_audio_buffer.append","audio":"AAEC"}`, "invalid_value", "audio"},
		{"empty append", `{"type":"input_audio_buffer.append","audio":""}`, "invalid_value", "audio"},
		{"G.711 input", `{"type":"session.update","session":{"type":"realtime","audio":{"input":{"format":{"type":"audio/pcmu"}}}}}`, "invalid_value", "session.audio.input.format.type"},
		{"pcm at 16 kHz", `{"type":"session.update","session":{"type":"realtime","audio":{"output":{"format":{"type":"audio/pcm","rate":16000}}}}}`, "invalid_value", "session.audio.output.format.rate"},
		{"preview shape on GA", `{"type":"session.update","session":{"voice":"alloy"}}`, "missing_required_parameter", "session.type"},
		{"a server event", `{"type":"response.done"}`, "invalid_value", "type"},
	} {
		c.sendRaw(tc.frame)
		c.expectError(tc.name, tc.code, tc.param)
	}
	ctx := ctxT(t, 60*time.Second) // a bound only: the 1 MiB append is coded under -race on a busy machine
	if err := c.conn.Write(ctx, websocket.MessageBinary, []byte(`{"type":"input_audio_buffer.clear"}`)); err != nil {
		t.Fatal(err)
	}
	c.expectError("binary frame", "invalid_json", "")
	// 1 MiB of audio in one append, over coder/websocket's default 32 KiB read limit
	big := make([]byte, 1<<20)
	c.sendRaw(`{"type":"input_audio_buffer.append","audio":"` + base64.StdEncoding.EncodeToString(big) + `"}`)
	c.send(events.InputAudioBufferClear{})
	c.until("input_audio_buffer.cleared")
	call, _ := srv.Stats().LastCall()
	if call.WS.Appends != 1 || call.WS.AudioIn != time.Duration(len(big)/2)*time.Second/wsRate {
		t.Errorf("the 1 MiB append: %+v", call.WS)
	}
	// preview: its own shape rules and formats
	p := wsOpen(t, srv, "azure-preview", srv.NewKey(events.Preview, time.Minute))
	p.sendRaw(`{"type":"session.update","session":{"type":"realtime"}}`)
	p.expectError("session.type on preview", "unknown_parameter", "session.type")
	p.sendRaw(`{"type":"session.update","session":{"input_audio_format":"g711_ulaw"}}`)
	p.expectError("preview G.711", "invalid_value", "session.input_audio_format")
	p.sendRaw(`{"type":"session.update","session":{"input_audio_format":"pcm16","voice":"verse"}}`)
	if e := p.next(); e.name != "session.updated" {
		t.Errorf("preview pcm16 session.update: %s", e.raw)
	}
	p.close()

	// over the read limit: closed with 1009
	huge := `{"type":"input_audio_buffer.append","audio":"` + strings.Repeat("A", wsReadLimit) + `"}`
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(huge)); err != nil {
		t.Logf("writing the oversized frame: %v", err) // the server may close while it is being written
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("socket still open after an oversized frame")
	}
	if got := websocket.CloseStatus(c.err); got != websocket.StatusMessageTooBig {
		t.Errorf("oversized frame: socket ended with %v, want close 1009", c.err)
	}
	if err := srv.WaitStats(ctx, func(st Stats) bool { return st.CallsEnded == 2 }); err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	if w := st.Calls[0].WS; !w.TooBig || w.CloseCode != 1009 || w.ClosedBy != "server" || st.Calls[0].HungUp {
		t.Errorf("ws stats %+v", w)
	}
}

// TestWSSlowReader: a client that sends but never reads cannot make the emulator hold
// more than its send queue: the queue overflows and the socket is dropped.
func TestWSSlowReader(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t)
	defer srv.Close()
	c, _, err := wsDial(t, srv.WSURL("openai"), bearer(srv.NewKey(events.GA, time.Minute).Value), events.GA, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.conn.CloseNow()
	// each empty commit is answered with an error event (~250 bytes) the client never
	// reads: the kernel's socket buffers fill, then the emulator's queue
	frame := []byte(`{"type":"input_audio_buffer.commit"}`)
	ctx := ctxT(t, 60*time.Second)
	sent := 0
	var werr error
	for sent < 1_000_000 {
		if werr = c.conn.Write(ctx, websocket.MessageText, frame); werr != nil {
			break
		}
		sent++
		if sent%2000 == 0 {
			if call, ok := srv.Stats().LastCall(); ok && call.WS.Overflowed {
				break
			}
		}
	}
	if err := srv.WaitStats(ctx, func(st Stats) bool { return st.CallsEnded == 1 }); err != nil {
		t.Fatalf("after %d events (write error %v) the socket was not dropped: %v", sent, werr, err)
	}
	call, _ := srv.Stats().LastCall()
	t.Logf("%d events sent unread; the emulator queued at most %d bytes; %+v", sent, call.WS.QueueHigh, call.WS)
	if !call.WS.Overflowed || call.WS.QueueHigh > wsQueueBytes || call.WS.ClosedBy != "" {
		t.Errorf("ws stats %+v", call.WS)
	}
	// the socket is gone for the client too
	for i := 0; i < 1000; i++ {
		if err := c.conn.Write(ctx, websocket.MessageText, frame); err != nil {
			return
		}
	}
	t.Error("the client can still write after the drop")
}

// TestWSFaults: DropAfter drops the socket without a close frame, SessionLifetime
// sends session_expired and closes with 1000, CloseDataChannelAfter and DropCalls close
// with 1001, VanishAfter stops answering pings, a mint 500 is transport-independent,
// ExpireSessions works on sockets.
func TestWSFaults(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t)
	defer srv.Close()
	ctx := ctxT(t, 20*time.Second)
	ended := func(c *wsClient, what string) error {
		t.Helper()
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: socket still open", what)
		}
		return c.err
	}
	open := func(f Faults) *wsClient {
		srv.SetFaults(f)
		return wsOpen(t, srv, "openai", srv.NewKey(events.GA, time.Minute))
	}

	c := open(Faults{DropAfter: 200 * time.Millisecond})
	if err := ended(c, "DropAfter"); websocket.CloseStatus(err) != -1 || err == nil {
		t.Errorf("DropAfter: %v, want an end without a close frame", err)
	}
	c.close()

	c = open(Faults{SessionLifetime: 300 * time.Millisecond})
	c.expectError("session lifetime", "session_expired", "")
	if err := ended(c, "SessionLifetime"); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("SessionLifetime: %v, want close 1000", err)
	}
	c.close()

	c = open(Faults{CloseDataChannelAfter: 200 * time.Millisecond})
	if err := ended(c, "CloseDataChannelAfter"); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("CloseDataChannelAfter: %v, want close 1001", err)
	}
	c.close()

	c = open(Faults{})
	srv.DropCalls()
	if err := ended(c, "DropCalls"); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("DropCalls: %v, want close 1001", err)
	}
	c.close()

	c = open(Faults{})
	srv.ExpireSessions()
	c.expectError("ExpireSessions", "session_expired", "")
	if err := ended(c, "ExpireSessions"); websocket.CloseStatus(err) == -1 {
		t.Errorf("ExpireSessions: %v, want a close frame", err)
	}
	c.close()

	// the pong before the vanish may take seconds on a busy machine: the vanish comes
	// late enough for it, and the ping after it waits on a socket that no longer answers
	const vanish = 4 * time.Second
	c = open(Faults{VanishAfter: vanish})
	opened := time.Now()
	pctx, cancel := context.WithDeadline(ctx, opened.Add(vanish-200*time.Millisecond))
	if err := c.conn.Ping(pctx); err != nil {
		t.Errorf("ping before the vanish: %v", err)
	}
	cancel()
	time.Sleep(time.Until(opened.Add(vanish + 300*time.Millisecond)))
	pctx, cancel = context.WithTimeout(ctx, 500*time.Millisecond)
	if err := c.conn.Ping(pctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ping after the vanish: %v, want no pong", err)
	}
	cancel()
	c.conn.CloseNow()
	<-c.done

	srv.SetFaults(Faults{MintStatus: 500, MintFailures: 1})
	if _, err := srv.MintKey(ctx, "openai"); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("mint with a 500 fault: %v", err)
	}
	key, err := srv.MintKey(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	c = wsOpen(t, srv, "openai", key)
	c.close()
	if err := srv.WaitStats(ctx, func(st Stats) bool { return st.CallsEnded == 7 }); err != nil {
		t.Fatal(err)
	}
	for i, call := range srv.Stats().Calls {
		want := map[int]bool{6: true}[i] // only the last one was hung up by the client
		if call.HungUp != want {
			t.Errorf("call %d (%s): HungUp %v, ws %+v", i, call.ID, call.HungUp, call.WS)
		}
	}
}

// TestWSToolScript: the scripted function calls and the spoken follow-up (the chime,
// decoded to pcm16 deltas) work on a socket.
func TestWSToolScript(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t, WithToolScript(ToolTurn{Calls: []ToolCall{{Name: "set_volume", Arguments: `{"level":0.8}`}}}))
	defer srv.Close()
	c := wsOpen(t, srv, "azure-preview", srv.NewKey(events.Preview, time.Minute))
	defer c.close()
	c.sendRaw(`{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"louder please"}]}}`)
	c.until("conversation.item.created")
	c.send(events.ResponseCreate{})
	var callID string
	for _, e := range c.until("response.done") {
		if od, ok := e.ev.(events.OutputItemDone); ok {
			callID = od.Item.CallID
		}
		if strings.Contains(e.name, "audio.delta") {
			t.Errorf("audio in a tool response: %s", e.name)
		}
	}
	if callID == "" {
		t.Fatal("no function call")
	}
	c.sendRaw(`{"type":"conversation.item.create","item":{"type":"function_call_output","call_id":"` + callID + `","output":"{\"ok\":true}"}}`)
	c.until("conversation.item.created")
	c.send(events.ResponseCreate{})
	var audio []float32
	for _, e := range c.until("response.done") {
		if e.name == "response.audio.delta" {
			_, _, pcm := deltaAudio(t, e)
			audio = append(audio, pcm...)
		}
	}
	if d := time.Duration(len(audio)) * time.Second / wsRate; d != 600*time.Millisecond || rms(audio) < 0.05 {
		t.Errorf("follow-up: %v of audio at RMS %.3f, want the 0.6 s chime", d, rms(audio))
	}
	call, _ := srv.Stats().LastCall()
	if len(call.Tools.Violations) != 0 || call.Tools.FollowUps != 1 || !call.Tools.Calls[0].Answered {
		t.Errorf("tools %+v", call.Tools)
	}
}

func rms(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	if len(x) == 0 {
		return 0
	}
	return math.Sqrt(s / float64(len(x)))
}

// TestWSServerVAD: with WithServerVAD a server_vad socket finds the turn in appended
// audio (speech_started, speech_stopped, commit, response with audio deltas), and
// speech during the answer cancels it (turn_detected) without the WebRTC-only
// output_audio_buffer.cleared. The hooks see Opus packets, as on WebRTC.
func TestWSServerVAD(t *testing.T) {
	defer test.CheckRoutines(t)()
	var hookIn, hookOut, markers int
	var mu sync.Mutex
	srv := start(t, WithServerVAD(nil),
		WithPacketHook(func(_ string, p *rtp.Packet, _ time.Time) {
			mu.Lock()
			defer mu.Unlock()
			if opusDuration(p.Payload) == 20*time.Millisecond {
				hookIn++
			}
		}),
		WithSendHook(func(_ string, p *rtp.Packet, _ time.Time) {
			mu.Lock()
			defer mu.Unlock()
			if opusDuration(p.Payload) == 20*time.Millisecond {
				hookOut++
			}
			if p.Marker {
				markers++
			}
		}))
	defer srv.Close()
	speech := speech24k(t)
	c := wsOpen(t, srv, "openai", srv.NewKey(events.GA, time.Minute)) // server_vad by default
	defer c.close()
	c.appendPCM(append(speech, make([]float32, wsRate)...), wsRate/10)
	evs := c.until("response.created")
	var names []string
	for _, e := range evs {
		names = append(names, e.name)
	}
	want := []string{"input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped", "input_audio_buffer.committed", "conversation.item.created", "response.created"}
	if !slices.Equal(names, want) {
		t.Errorf("events %v, want %v", names, want)
	}
	// speak again into the answer
	for e := c.next(); e.name != "response.output_audio.delta"; e = c.next() {
	}
	c.appendPCM(speech[:wsRate], wsRate/10)
	for _, e := range c.until("response.done") {
		if strings.HasPrefix(e.name, "output_audio_buffer.") {
			t.Errorf("WebRTC-only event %s", e.name)
		}
		if rd, ok := e.ev.(events.ResponseDone); ok && (rd.Response.Status != events.StatusCancelled || rd.Response.StatusReason != "turn_detected") {
			t.Errorf("barge-in: %s", e.raw)
		}
	}
	call, _ := srv.Stats().LastCall()
	mu.Lock()
	defer mu.Unlock()
	frames := int((call.WS.AudioIn) / (20 * time.Millisecond))
	if hookIn != frames || hookOut != call.WS.Deltas || markers != 1 || hookOut == 0 {
		t.Errorf("hooks: %d packets in (%d frames appended), %d out (%d deltas), %d markers", hookIn, frames, hookOut, call.WS.Deltas, markers)
	}
}

// TestWSAudioLead: WithWSAudioLead sends the deltas that far ahead of real time: a
// lead longer than the 0.6 s chime sends it all at once, the default paces it.
func TestWSAudioLead(t *testing.T) {
	defer test.CheckRoutines(t)()
	if _, err := New(WithWSAudioLead(-time.Millisecond)); err == nil {
		t.Error("a negative lead was accepted")
	}
	for _, tc := range []struct {
		opts     []Option
		min, max time.Duration
	}{
		{nil, 400 * time.Millisecond, 3 * time.Second}, // 0.6 s - 0.1 s lead - 20 ms
		{[]Option{WithWSAudioLead(time.Second)}, 0, 300 * time.Millisecond},
	} {
		srv := start(t, tc.opts...)
		c := wsOpen(t, srv, "openai", srv.NewKey(events.GA, time.Minute))
		c.sendRaw(`{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}}`)
		c.until("conversation.item.created")
		c.send(events.ResponseCreate{})
		var first, last time.Time
		n := 0
		for e := c.next(); e.name != "response.done"; e = c.next() {
			if e.name == "response.output_audio.delta" {
				if first.IsZero() {
					first = time.Now()
				}
				last = time.Now()
				n++
			}
		}
		if span := last.Sub(first); n != 30 || span < tc.min || span > tc.max {
			t.Errorf("%d options: %d deltas over %v, want 30 over %v..%v", len(tc.opts), n, span, tc.min, tc.max)
		}
		c.close()
		srv.Close()
	}
}
