package emulator

import (
	"bytes"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5/test"
	"github.com/pion/webrtc/v4"
)

// TestPushToTalkTurn runs mint → SDP → data channel → session.update → clear → audio →
// commit → response.create for every profile, and checks the events in order and that
// the echoed audio is exactly what was sent, re-timestamped and paced.
func TestPushToTalkTurn(t *testing.T) {
	defer test.CheckRoutines(t)()
	for _, tc := range []struct {
		profile string
		dialect events.Dialect
	}{
		{"openai", events.GA},
		{"azure", events.GA},
		{"azure-preview", events.Preview},
		{"broker", events.Preview},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			srv := start(t, WithDialect(tc.dialect))
			defer srv.Close()
			key, err := srv.MintKey(ctxT(t, 5*time.Second), tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			if key.Dialect != tc.dialect || !key.ValidFor(time.Now(), 30*time.Second) {
				t.Fatalf("minted %v", key)
			}
			c := dial(t, key)
			defer c.close()
			switch tc.dialect {
			case events.GA:
				if c.status != http.StatusCreated || !strings.Contains(c.loc, "/v1/realtime/calls/rtc_") {
					t.Errorf("GA answer: status %d Location %q, want 201 and a call id", c.status, c.loc)
				}
			case events.Preview:
				if c.status != http.StatusOK || c.loc != "" {
					t.Errorf("preview answer: status %d Location %q", c.status, c.loc)
				}
			}
			created := c.expect(events.TypeSessionCreated)[0].(events.SessionCreated)
			if created.Session.Shape != tc.dialect || created.Session.ID == "" {
				t.Errorf("session.created: %+v", created.Session)
			}
			c.send(sessionUpdatePTT())
			upd := c.expect(events.TypeSessionUpdated)[0].(events.SessionUpdated)
			if upd.Session.TurnDetection.Type != events.TurnDetectionNone || upd.Session.Voice != "verse" ||
				upd.Session.NoiseReduction != events.NoiseReductionFarField || upd.Session.Shape != tc.dialect {
				t.Errorf("session.updated: %+v", upd.Session)
			}

			c.send(events.InputAudioBufferClear{})
			c.expect(events.TypeInputAudioBufferCleared)
			const n = 25
			sent := c.sendAudio(n, 5*time.Millisecond)
			waitPlayed(t, srv, n*20*time.Millisecond) // sent at 4× real time, played at 1×
			c.send(events.InputAudioBufferCommit{})
			evs := c.expect(events.TypeInputAudioBufferCommitted, events.TypeConversationItemCreated, events.TypeInputTranscriptionCompleted)
			item := evs[0].(events.InputAudioBufferCommitted).ItemID
			c.send(events.ResponseCreate{})
			evs = c.expect(events.TypeResponseCreated, events.TypeOutputAudioBufferStarted)
			respID := evs[0].(events.ResponseCreated).Response.ID
			var transcript strings.Builder
			for {
				ev := c.next()
				if d, ok := ev.(events.TranscriptDelta); ok {
					transcript.WriteString(d.Delta)
					continue
				}
				done, ok := ev.(events.TranscriptDone)
				if !ok || done.Transcript != transcript.String() || done.Transcript != DefaultReplyText {
					t.Fatalf("after deltas %q got %#v", transcript.String(), ev)
				}
				break
			}
			evs = c.expect(events.TypeResponseDone, events.TypeOutputAudioBufferStopped)
			if rd := evs[0].(events.ResponseDone); rd.Response.ID != respID || rd.Response.Status != events.StatusCompleted {
				t.Errorf("response.done %+v", rd)
			}
			// the echo: same payloads in order, sequence and timestamps continuous
			var got []*rtpPacketView
			deadline := time.Now().Add(2 * time.Second)
			for len(got) < n && time.Now().Before(deadline) {
				got = view(c.received())
				time.Sleep(10 * time.Millisecond)
			}
			if len(got) != n {
				t.Fatalf("client received %d echoed packets, want %d", len(got), n)
			}
			for i, p := range got {
				if !bytes.Equal(p.payload, sent[i]) {
					t.Fatalf("echo packet %d = %x, want %x", i, p.payload, sent[i])
				}
				if i > 0 && (p.seq != got[i-1].seq+1 || p.ts != got[i-1].ts+960) {
					t.Fatalf("echo packet %d: seq %d ts %d after seq %d ts %d", i, p.seq, p.ts, got[i-1].seq, got[i-1].ts)
				}
			}
			// paced: 24 intervals of 20 ms = 480 ms between first and last (the client was
			// sent all 25 in 125 ms); a generous margin for a loaded machine
			if span := c.arrivalSpan(); span < 340*time.Millisecond || span > 2*time.Second {
				t.Errorf("echo of %d packets arrived over %v, want about 480 ms (paced at 20 ms)", n, span)
			}
			st := srv.Stats()
			call, _ := st.LastCall()
			wantClient := []string{"session.update", "input_audio_buffer.clear", "input_audio_buffer.commit", "response.create"}
			if strings.Join(call.ClientEvents, ",") != strings.Join(wantClient, ",") {
				t.Errorf("server saw client events %v, want %v", call.ClientEvents, wantClient)
			}
			if len(call.Turns) != 1 || call.Turns[0].ItemID != item || call.Turns[0].Packets != n || call.Turns[0].Duration != n*20*time.Millisecond {
				t.Errorf("turns %+v", call.Turns)
			}
			if call.Label != "oai-events" || call.Dialect != tc.dialect || st.PacketsOut != n || call.PacketsIn != n {
				t.Errorf("call stats %+v / %+v", call, st)
			}
			wantNames := map[events.Dialect]string{events.GA: "response.output_audio_transcript.delta", events.Preview: "response.audio_transcript.delta"}
			if !contains(call.ServerEvents, wantNames[tc.dialect]) {
				t.Errorf("server events %v lack %s", call.ServerEvents, wantNames[tc.dialect])
			}
		})
	}
}

type rtpPacketView struct {
	seq     uint16
	ts      uint32
	payload []byte
}

func view(ps []*rtp.Packet) []*rtpPacketView {
	out := make([]*rtpPacketView, len(ps))
	for i, p := range ps {
		out[i] = &rtpPacketView{p.SequenceNumber, p.Timestamp, p.Payload}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestBargeIn: response.cancel + output_audio_buffer.clear stop the echo at once.
func TestBargeIn(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t)
	defer srv.Close()
	key, err := srv.MintKey(ctxT(t, 5*time.Second), "openai")
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, key)
	defer c.close()
	c.expect(events.TypeSessionCreated)
	c.send(sessionUpdatePTT())
	c.expect(events.TypeSessionUpdated)
	const n = 100 // 2 s of audio
	c.sendAudio(n, time.Millisecond)
	// 1.5 s has played (the rest stays queued): an answer of ≥ 75 packets, so a cancel
	// that did not stop it would show in the count below
	waitPlayed(t, srv, 1500*time.Millisecond)
	c.send(events.InputAudioBufferCommit{})
	c.expect(events.TypeInputAudioBufferCommitted, events.TypeConversationItemCreated, events.TypeInputTranscriptionCompleted)
	c.send(events.ResponseCreate{})
	c.expect(events.TypeResponseCreated, events.TypeOutputAudioBufferStarted)
	// second response.create while one is active is an error, as on the service
	c.send(events.ResponseCreate{EventID: "dup"})
	for {
		ev := c.next()
		if e, ok := ev.(events.Error); ok {
			if e.Error.Code != "conversation_already_has_active_response" || e.Error.ClientEventID != "dup" {
				t.Errorf("error %+v", e.Error)
			}
			break
		}
	}
	time.Sleep(200 * time.Millisecond)
	c.send(events.ResponseCancel{})
	c.send(events.OutputAudioBufferClear{})
	var done events.ResponseDone
	var cleared bool
	for !cleared || done.Response.ID == "" {
		switch e := c.next().(type) {
		case events.ResponseDone:
			done = e
		case events.OutputAudioBufferCleared:
			cleared = true
		case events.OutputAudioBufferStopped:
			t.Fatal("output_audio_buffer.stopped after a cancel")
		}
	}
	if done.Response.Status != events.StatusCancelled || done.Response.StatusReason != "client_cancelled" {
		t.Errorf("response.done %+v", done.Response)
	}
	// the server stopped sending at the cancel: its count does not move any more, and
	// the client gets at most what was sent before
	sentAt := func() int {
		call, _ := srv.Stats().LastCall()
		return call.Responses[0].PacketsSent
	}
	sent := sentAt()
	time.Sleep(300 * time.Millisecond)
	if later := sentAt(); later != sent {
		t.Errorf("server sent %d packets after the barge-in", later-sent)
	}
	if got := len(c.received()); got > sent || sent >= n/2 {
		t.Errorf("client got %d packets, server sent %d of %d before the barge-in", got, sent, n)
	}
	st := srv.Stats()
	call, _ := st.LastCall()
	if len(call.Responses) != 1 || call.Responses[0].Status != events.StatusCancelled {
		t.Errorf("responses %+v", call.Responses)
	}
	// a cancel with nothing active is a harmless error
	c.send(events.ResponseCancel{EventID: "late"})
	if e, ok := c.next().(events.Error); !ok || e.Error.Code != "response_cancel_not_active" {
		t.Errorf("late cancel: %+v", e)
	}
}

// TestProtocolErrors: dialect-shape mismatches, empty commit, unknown and malformed events.
func TestProtocolErrors(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t)
	defer srv.Close()
	for _, d := range []events.Dialect{events.GA, events.Preview} {
		c := dial(t, srv.NewKey(d, time.Minute))
		c.expect(events.TypeSessionCreated)
		// the other dialect's shape
		other := events.Preview
		wantCode := "missing_required_parameter"
		if d == events.Preview {
			other, wantCode = events.GA, "unknown_parameter"
		}
		b, _ := events.Marshal(other, events.SessionUpdate{EventID: "shape", Session: events.Session{Voice: "x", Instructions: "i"}})
		c.dc.SendText(string(b))
		if e, ok := c.next().(events.Error); !ok || e.Error.Code != wantCode || e.Error.Param != "session.type" || e.Error.ClientEventID != "shape" {
			t.Errorf("%v: wrong-shape session.update gave %+v", d, e)
		}
		c.send(events.InputAudioBufferCommit{EventID: "empty"})
		if e, ok := c.next().(events.Error); !ok || e.Error.Code != "input_audio_buffer_commit_empty" {
			t.Errorf("%v: empty commit gave %+v", d, e)
		}
		c.dc.SendText(`{"type":"conversation.item.frobnicate"}`)
		if e, ok := c.next().(events.Error); !ok || e.Error.Code != "invalid_value" {
			t.Errorf("%v: unknown event gave %+v", d, e)
		}
		c.dc.SendText(`{"type":"conversation.item.create","item":{"type":"function_call_output","call_id":"c1","output":"{}"}}`)
		if e, ok := c.next().(events.ConversationItemCreated); !ok || e.ItemID == "" {
			t.Errorf("%v: conversation.item.create gave %+v", d, e)
		}
		c.dc.SendText(`{"type":`)
		if e, ok := c.next().(events.Error); !ok || e.Error.Code != "invalid_json" {
			t.Errorf("%v: malformed event gave %+v", d, e)
		}
		// a response without audio: no output_audio_buffer events
		c.send(events.ResponseCreate{})
		evs := []events.Type{events.TypeResponseCreated}
		for _, w := range strings.SplitAfter(DefaultReplyText, " ") {
			_ = w
			evs = append(evs, events.TypeTranscriptDelta)
		}
		evs = append(evs, events.TypeTranscriptDone, events.TypeResponseDone)
		c.expect(evs...)
		c.close()
	}
	if st := srv.Stats(); len(st.Calls) != 2 || st.Calls[0].ClientEvents[4] != "<malformed>" {
		t.Errorf("stats %+v", st.Calls)
	}
}

// TestHTTPFaults: every HTTP fault answers the documented status.
func TestHTTPFaults(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t)
	defer srv.Close()
	ctx := ctxT(t, 10*time.Second)
	for _, status := range []int{401, 500} {
		srv.SetFaults(Faults{MintStatus: status, MintFailures: 1})
		for _, p := range []string{"openai"} {
			if _, err := srv.MintKey(ctx, p); err == nil || !strings.Contains(err.Error(), "HTTP "+itoa(status)) {
				t.Errorf("mint with fault %d: %v", status, err)
			}
			if _, err := srv.MintKey(ctx, p); err != nil {
				t.Errorf("mint after the one injected failure: %v", err)
			}
		}
	}
	srv.SetFaults(Faults{MintStatus: 500})
	for _, p := range []string{"azure-preview", "azure", "openai", "broker"} {
		if _, err := srv.MintKey(ctx, p); err == nil || !strings.Contains(err.Error(), "HTTP 500") {
			t.Errorf("%s mint with a standing fault: %v", p, err)
		}
	}
	srv.SetFaults(Faults{})

	oc, offer := newClient(t, events.GA)
	defer oc.close()
	key := srv.NewKey(events.GA, time.Minute)
	for _, tc := range []struct {
		name               string
		faults             Faults
		url, bearer, ctype string
		want               int
		wantBody           string
	}{
		{"sdp 500", Faults{SDPStatus: 500}, key.SDPURL, key.Value, "application/sdp", 500, "server_error"},
		{"sdp 401", Faults{SDPStatus: 401}, key.SDPURL, key.Value, "application/sdp", 401, "invalid_api_key"},
		{"no bearer", Faults{}, key.SDPURL, "", "application/sdp", 401, "missing_api_key"},
		{"unknown key", Faults{}, key.SDPURL, "ek_nope", "application/sdp", 401, "invalid_api_key"},
		{"GA key on the preview endpoint", Faults{}, srv.URL() + "/v1/realtimertc?model=m", key.Value, "application/sdp", 401, "invalid_api_key"},
		{"wrong content type", Faults{}, key.SDPURL, key.Value, "application/json", 400, "unsupported_content_type"},
		{"bad offer", Faults{}, key.SDPURL, key.Value, "application/sdp", 400, "invalid_offer"},
	} {
		srv.SetFaults(tc.faults)
		body := offer
		if tc.name == "bad offer" {
			body = "v=0\r\nnot sdp"
		}
		status, _, rb := postOffer(t, tc.url, tc.bearer, tc.ctype, body)
		if status != tc.want || !strings.Contains(rb, tc.wantBody) || !strings.Contains(rb, `"error"`) {
			t.Errorf("%s: HTTP %d %s, want %d with %s", tc.name, status, rb, tc.want, tc.wantBody)
		}
	}
	// expired keys: minted already expired, which the real provider refuses, and refused
	// at the SDP endpoint
	srv.SetFaults(Faults{ExpiredKeys: true})
	if k, err := srv.MintKey(ctx, "azure"); err == nil || !strings.Contains(err.Error(), "not in the future") {
		t.Errorf("expired-key fault: minted %v, %v; want the provider to refuse the key", k, err)
	}
	srv.SetFaults(Faults{})
	k := srv.NewKey(events.GA, -time.Second)
	if k.ValidFor(time.Now(), 0) {
		t.Errorf("NewKey with a negative ttl made %v", k)
	}
	if status, _, rb := postOffer(t, k.SDPURL, k.Value, "application/sdp", offer); status != 401 || !strings.Contains(rb, "expired") {
		t.Errorf("expired key: HTTP %d %s", status, rb)
	}
	k2 := srv.NewKey(events.Preview, time.Minute)
	srv.ExpireKeys()
	if status, _, _ := postOffer(t, k2.SDPURL, k2.Value, "application/sdp", offer); status != 401 {
		t.Errorf("ExpireKeys: HTTP %d", status)
	}
	if st := srv.Stats(); st.CallsAnswered != 0 || st.MintRequests != 9 {
		t.Errorf("stats %+v", st)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestConnectionFaults: delayed answer, data channel closed, peer connection dropped.
func TestConnectionFaults(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t, WithFaults(Faults{AnswerDelay: 300 * time.Millisecond}))
	defer srv.Close()
	began := time.Now()
	c := dial(t, srv.NewKey(events.GA, time.Minute))
	if el := time.Since(began); el < 300*time.Millisecond {
		t.Errorf("answer came after %v, want >= 300ms delay", el)
	}
	c.expect(events.TypeSessionCreated)
	c.close()

	srv.SetFaults(Faults{CloseDataChannelAfter: 200 * time.Millisecond})
	c = dial(t, srv.NewKey(events.GA, time.Minute))
	select {
	case <-c.dcDone:
	case <-time.After(5 * time.Second):
		t.Error("data channel was not closed by the fault")
	}
	c.close()

	srv.SetFaults(Faults{DropAfter: 200 * time.Millisecond})
	c = dial(t, srv.NewKey(events.Preview, time.Minute))
	deadline := time.After(10 * time.Second)
wait:
	for {
		select {
		case s := <-c.stateCh:
			if s == webrtc.PeerConnectionStateClosed || s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateDisconnected {
				break wait
			}
		case <-deadline:
			t.Fatal("peer connection not dropped")
		}
	}
	c.close()
	if err := srv.WaitStats(ctxT(t, 5*time.Second), func(st Stats) bool { return st.CallsEnded == 3 }); err != nil {
		t.Error(err)
	}

	// DropCalls / CloseDataChannels act at once
	srv.SetFaults(Faults{})
	c = dial(t, srv.NewKey(events.GA, time.Minute))
	srv.CloseDataChannels()
	select {
	case <-c.dcDone:
	case <-time.After(5 * time.Second):
		t.Error("CloseDataChannels did not close the channel")
	}
	srv.DropCalls()
	if err := srv.WaitStats(ctxT(t, 5*time.Second), func(st Stats) bool { return st.CallsEnded == 4 }); err != nil {
		t.Error(err)
	}
	c.close()
}

// TestCloseDataChannelsBeforeOpen: CloseDataChannels on a call whose data channel has
// not reached the server yet closes it when it arrives. The client's channel opens on
// the DCEP ACK, which pion sends before the server's OnDataChannel runs: a close in
// that window used to be lost (TestConnectionFaults failed now and then).
func TestCloseDataChannelsBeforeOpen(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t)
	defer srv.Close()
	key := srv.NewKey(events.GA, time.Minute)
	c, offer := newClient(t, key.Dialect)
	defer c.close()
	status, _, body := postOffer(t, key.SDPURL, key.Value, "application/sdp", offer)
	if status/100 != 2 {
		t.Fatalf("SDP POST: HTTP %d: %s", status, body)
	}
	srv.CloseDataChannels() // answered, not connected: no data channel on the server yet
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.dcDone:
	case <-time.After(10 * time.Second):
		t.Fatal("CloseDataChannels before the channel arrived did not close it")
	}
}

// TestEventBeforeServerOnOpen: pion runs the server's OnOpen on a goroutine of its own,
// concurrently with the read loop, so the client's first event (sent the moment its
// channel opened) can be handled before it. The emulator still sends session.created
// first and answers the event (it dropped session.updated: TestEmulatorTurn in rtc then
// waited 20 s for it now and then). The hook holds OnOpen back to make the order certain.
func TestEventBeforeServerOnOpen(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv, err := New()
	if err != nil {
		t.Fatal(err)
	}
	srv.beforeOpen = func() { time.Sleep(300 * time.Millisecond) }
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	key := srv.NewKey(events.GA, time.Minute)
	c, offer := newClient(t, key.Dialect)
	defer c.close()
	b, err := events.Marshal(key.Dialect, events.SessionUpdate{Session: events.Session{Voice: "marin", Instructions: "i"}})
	if err != nil {
		t.Fatal(err)
	}
	c.dc.OnOpen(func() { c.dc.SendText(string(b)); close(c.open) })
	status, _, body := postOffer(t, key.SDPURL, key.Value, "application/sdp", offer)
	if status/100 != 2 {
		t.Fatalf("SDP POST: HTTP %d: %s", status, body)
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
		t.Fatal(err)
	}
	c.expect(events.TypeSessionCreated, events.TypeSessionUpdated)
}

// TestWithoutGA: the GA surface 404s like an older Azure resource; preview still works.
func TestWithoutGA(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t, WithoutGA())
	defer srv.Close()
	ctx := ctxT(t, 5*time.Second)
	if _, err := srv.MintKey(ctx, "azure"); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("azure GA mint: %v", err)
	}
	if _, err := srv.MintKey(ctx, "azure-preview"); err != nil {
		t.Error(err)
	}
	k, err := KeySource{Server: srv, Profile: "azure-preview"}.Key(ctx)
	if err != nil || k.Dialect != events.Preview || !strings.Contains(k.SDPURL, "/v1/realtimertc?model=") {
		t.Errorf("KeySource: %v, %v", k, err)
	}
}

func TestCloseIdempotentAndStartTwice(t *testing.T) {
	srv := start(t)
	if err := srv.Start(""); err == nil {
		t.Error("second Start succeeded")
	}
	if err := srv.Close(); err != nil {
		t.Error(err)
	}
	if err := srv.Close(); err != nil {
		t.Error(err)
	}
	if _, err := New(WithDialect(events.Dialect(7))); err == nil {
		t.Error("bad dialect accepted")
	}
}

func TestOpusDuration(t *testing.T) {
	for _, c := range []struct {
		p    []byte
		want time.Duration
	}{
		{nil, 0},
		{[]byte{0xF8}, 20 * time.Millisecond},         // CELT FB 20 ms, 1 frame
		{[]byte{0x08}, 20 * time.Millisecond},         // SILK NB 20 ms
		{[]byte{0x18}, 60 * time.Millisecond},         // SILK NB 60 ms
		{[]byte{0x79}, 40 * time.Millisecond},         // hybrid FB 20 ms, 2 frames
		{[]byte{0xE3, 0x03}, 7500 * time.Microsecond}, // CELT 2.5 ms x 3
		{[]byte{0x1B, 0x03}, 0},                       // 3 x 60 ms > 120 ms: invalid
		{[]byte{0xFB}, 0},                             // code 3 without count byte
	} {
		if got := opusDuration(c.p); got != c.want {
			t.Errorf("opusDuration(%x) = %v, want %v", c.p, got, c.want)
		}
	}
}

// TestSessionLifetime: the session ends with an error event session_expired, then the
// peer connection closes.
func TestSessionLifetime(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t, WithFaults(Faults{SessionLifetime: 300 * time.Millisecond}))
	defer srv.Close()
	c := dial(t, srv.NewKey(events.GA, time.Minute))
	defer c.close()
	c.expect(events.TypeSessionCreated)
	if e, ok := c.next().(events.Error); !ok || e.Error.Code != "session_expired" {
		t.Fatalf("got %+v, want error session_expired", e)
	}
	if err := srv.WaitStats(ctxT(t, 5*time.Second), func(st Stats) bool { return st.CallsEnded == 1 }); err != nil {
		t.Fatal(err)
	}
}

// TestCloseWhileBusy: Close returns promptly and leaks nothing while audio plays, an
// answer is being delayed and a client has gone away without a word.
func TestCloseWhileBusy(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t)
	c := dial(t, srv.NewKey(events.GA, time.Minute))
	defer c.close()
	c.expect(events.TypeSessionCreated)
	c.send(sessionUpdatePTT())
	c.expect(events.TypeSessionUpdated)
	c.sendAudio(250, 0) // 5 s of audio
	if err := srv.WaitStats(ctxT(t, 5*time.Second), func(st Stats) bool { return st.PacketsIn >= 250 }); err != nil {
		t.Fatal(err)
	}
	// 1 s has played (the answer lasts a second); 4 s still wait in the jitter buffer,
	// whose player Close must stop too
	waitPlayed(t, srv, time.Second)
	c.send(events.InputAudioBufferCommit{})
	c.send(events.ResponseCreate{})
	if err := srv.WaitStats(ctxT(t, 5*time.Second), func(st Stats) bool { return st.PacketsOut >= 5 }); err != nil {
		t.Fatal(err)
	}
	// a second client that vanishes (its PC closed) and a third whose answer is delayed
	c2 := dial(t, srv.NewKey(events.Preview, time.Minute))
	c2.close()
	srv.SetFaults(Faults{AnswerDelay: time.Minute})
	oc, offer := newClient(t, events.GA)
	defer oc.close()
	key := srv.NewKey(events.GA, time.Minute)
	posted := make(chan int, 1)
	go func() {
		status, _, _ := postOffer(t, key.SDPURL, key.Value, "application/sdp", offer)
		posted <- status
	}()
	time.Sleep(100 * time.Millisecond)
	began := time.Now()
	if err := srv.Close(); err != nil {
		t.Error(err)
	}
	if el := time.Since(began); el > 3*time.Second {
		t.Errorf("Close took %v", el)
	}
	if status := <-posted; status != http.StatusServiceUnavailable {
		t.Errorf("delayed answer during Close: HTTP %d, want 503", status)
	}
}

// TestServe: Serve blocks on a caller's listener until Close and then returns nil.
func TestServe(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	for deadline := time.Now().Add(5 * time.Second); srv.URL() == ""; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Serve did not start")
		}
	}
	if _, err := srv.MintKey(ctxT(t, 5*time.Second), "broker"); err != nil {
		t.Error(err)
	}
	srv.Close()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve returned %v after Close", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
}

// TestVanish: the call goes silent; the client's ICE notices (disconnected, then
// failed) without ever being told closed.
func TestVanish(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t, WithFaults(Faults{VanishAfter: 200 * time.Millisecond}))
	defer srv.Close()
	c := dialWith(t, srv.NewKey(events.GA, time.Minute), clientAPI(t, nil, false, func(se *webrtc.SettingEngine) {
		se.SetICETimeouts(time.Second, 2*time.Second, 200*time.Millisecond)
	}))
	defer c.close()
	deadline := time.After(10 * time.Second)
	var seen []webrtc.PeerConnectionState
	for {
		select {
		case s := <-c.stateCh:
			seen = append(seen, s)
			if s == webrtc.PeerConnectionStateClosed {
				t.Fatalf("client saw closed after a silent drop: %v", seen)
			}
			if s == webrtc.PeerConnectionStateFailed {
				if !slices.Contains(seen, webrtc.PeerConnectionStateDisconnected) {
					t.Errorf("states %v: failed without disconnected", seen)
				}
				return
			}
		case <-deadline:
			t.Fatalf("client states %v: no failure after the call vanished", seen)
		}
	}
}

// TestReplyAudioAndPacketHook: WithReplyAudio answers every response with fixed
// packets (even without a committed turn); WithPacketHook sees every packet received.
func TestReplyAudioAndPacketHook(t *testing.T) {
	defer test.CheckRoutines(t)()
	reply := [][]byte{{0xF8, 1, 2, 3}, {0xF8, 4, 5, 6}, {0xF8, 7, 8, 9}}
	var hooked, sent atomic.Int64
	var lastSent atomic.Int64 // UnixNano of the last send-hook call
	srv := start(t, WithReplyAudio(reply), WithPacketHook(func(id string, p *rtp.Packet, at time.Time) {
		if strings.HasPrefix(id, "rtc_") && len(p.Payload) > 0 && !at.IsZero() {
			hooked.Add(1)
		}
	}), WithSendHook(func(id string, p *rtp.Packet, at time.Time) {
		// every sent packet, in order, at a later time than the one before
		if strings.HasPrefix(id, "rtc_") && int(sent.Load()) < len(reply) && bytes.Equal(p.Payload, reply[sent.Load()]) &&
			at.UnixNano() >= lastSent.Load() {
			sent.Add(1)
		}
		lastSent.Store(at.UnixNano())
	}))
	defer srv.Close()
	c := dial(t, srv.NewKey(events.Preview, time.Minute))
	defer c.close()
	c.expect(events.TypeSessionCreated)
	c.send(sessionUpdatePTT())
	c.expect(events.TypeSessionUpdated)
	c.sendAudio(7, time.Millisecond)
	if err := srv.WaitStats(ctxT(t, 5*time.Second), func(st Stats) bool { return st.PacketsIn >= 7 }); err != nil {
		t.Fatal(err)
	}
	if hooked.Load() != 7 {
		t.Errorf("hook saw %d packets, want 7", hooked.Load())
	}
	c.send(events.ResponseCreate{})
	for {
		if _, ok := c.next().(events.OutputAudioBufferStopped); ok {
			break
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(c.received()) < len(reply) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := c.received()
	if len(got) != len(reply) {
		t.Fatalf("got %d packets, want %d", len(got), len(reply))
	}
	if sent.Load() != int64(len(reply)) {
		t.Errorf("send hook saw %d of the %d reply packets in order", sent.Load(), len(reply))
	}
	for i, p := range got {
		if !bytes.Equal(p.Payload, reply[i]) {
			t.Errorf("packet %d = %x, want %x", i, p.Payload, reply[i])
		}
	}
}
