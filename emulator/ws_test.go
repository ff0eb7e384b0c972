//go:build cgo

package emulator

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/edgevoice/edgevoice/dsp/resample"
	"github.com/edgevoice/edgevoice/internal/speechmatch"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/transport/v5/test"
)

// wsClient is a coder/websocket client written for these tests (not package rtc).
type wsClient struct {
	t    *testing.T
	d    events.Dialect
	conn *websocket.Conn
	evs  chan wsEvent
	done chan struct{}
	err  error // why reading ended (after done)
}

type wsEvent struct {
	name string
	raw  []byte
	ev   events.Event // decoded by the events package (Unknown for WebSocket-only events)
}

// wsDial opens a socket with the given header and starts reading unless noRead.
func wsDial(t *testing.T, url string, h http.Header, d events.Dialect, noRead bool) (*wsClient, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h,
		HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}})
	if err != nil {
		return nil, resp, err
	}
	conn.SetReadLimit(1 << 20)
	c := &wsClient{t: t, d: d, conn: conn, evs: make(chan wsEvent, 4096), done: make(chan struct{})}
	if noRead {
		close(c.done)
		return c, resp, nil
	}
	go func() {
		defer close(c.done)
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				c.err = err
				return
			}
			var head struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(b, &head); err != nil {
				c.err = fmt.Errorf("server sent bad JSON %q: %w", b, err)
				return
			}
			ev, err := events.Decode(b)
			if err != nil {
				c.err = fmt.Errorf("server event %s does not decode: %w", head.Type, err)
				return
			}
			c.evs <- wsEvent{name: head.Type, raw: b, ev: ev}
		}
	}()
	return c, resp, nil
}

func bearer(k string) http.Header { return http.Header{"Authorization": {"Bearer " + k}} }

// wsOpen dials profile's endpoint with key as Bearer and checks session.created.
func wsOpen(t *testing.T, srv *Server, profile string, key realtime.Key) *wsClient {
	t.Helper()
	c, resp, err := wsDial(t, srv.WSURL(profile), bearer(key.Value), key.Dialect, false)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", profile, err, resp)
	}
	created, ok := c.next().ev.(events.SessionCreated)
	if !ok || created.Session.Shape != key.Dialect || created.Session.ID == "" {
		t.Fatalf("%s: first event %+v, want session.created in the %v shape", profile, created, key.Dialect)
	}
	return c
}

func (c *wsClient) close() {
	c.conn.Close(websocket.StatusNormalClosure, "")
	<-c.done
}

func (c *wsClient) sendRaw(s string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a bound only
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *wsClient) send(ev events.Event) {
	c.t.Helper()
	b, err := events.Marshal(c.d, ev)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(string(b))
}

// next returns the next event, skipping rate_limits.updated.
func (c *wsClient) next() wsEvent {
	c.t.Helper()
	for {
		select {
		case e := <-c.evs:
			if e.name == "rate_limits.updated" {
				continue
			}
			return e
		case <-c.done:
			select {
			case e := <-c.evs:
				return e
			default:
			}
			c.t.Fatalf("socket ended: %v", c.err)
		case <-time.After(10 * time.Second):
			c.t.Fatal("no event within 10 s")
		}
	}
}

// until returns the events up to and including the first named want.
func (c *wsClient) until(want string) []wsEvent {
	c.t.Helper()
	var out []wsEvent
	for {
		e := c.next()
		out = append(out, e)
		if e.name == want {
			return out
		}
	}
}

// expectError reads the next event and checks it is an error with code (and param).
func (c *wsClient) expectError(what, code, param string) {
	c.t.Helper()
	e := c.next()
	er, ok := e.ev.(events.Error)
	if !ok || er.Error.Code != code || (param != "" && er.Error.Param != param) {
		c.t.Errorf("%s: got %s, want error %s (param %s)", what, e.raw, code, param)
	}
}

// appendPCM sends pcm (24 kHz) as input_audio_buffer.append events of chunk samples.
func (c *wsClient) appendPCM(pcm []float32, chunk int) {
	c.t.Helper()
	raw := make([]byte, 0, 2*chunk)
	for off := 0; off < len(pcm); off += chunk {
		raw = raw[:0]
		for _, v := range pcm[off:min(off+chunk, len(pcm))] {
			raw = binary.LittleEndian.AppendUint16(raw, uint16(int16(max(-1, min(1, v))*32767)))
		}
		c.sendRaw(`{"type":"input_audio_buffer.append","audio":"` + base64.StdEncoding.EncodeToString(raw) + `"}`)
	}
}

// deltaAudio decodes an audio delta event's pcm16.
func deltaAudio(t *testing.T, e wsEvent) (respID, itemID string, pcm []float32) {
	t.Helper()
	var d struct {
		ResponseID string `json:"response_id"`
		ItemID     string `json:"item_id"`
		Delta      string `json:"delta"`
	}
	if err := json.Unmarshal(e.raw, &d); err != nil {
		t.Fatal(err)
	}
	b, err := base64.StdEncoding.DecodeString(d.Delta)
	if err != nil || len(b)%2 != 0 {
		t.Fatalf("delta of %d bytes: %v", len(b), err)
	}
	pcm = make([]float32, len(b)/2)
	for i := range pcm {
		pcm[i] = float32(int16(binary.LittleEndian.Uint16(b[2*i:]))) / 32768
	}
	return d.ResponseID, d.ItemID, pcm
}

func audioNames(d events.Dialect) (delta, done string) {
	if d == events.Preview {
		return "response.audio.delta", "response.audio.done"
	}
	return "response.output_audio.delta", "response.output_audio.done"
}

// speech24k is the demo's spoken question at 24 kHz.
func speech24k(t *testing.T) []float32 {
	t.Helper()
	b, err := os.ReadFile("../cmd/edgevoice/assets/question.wav")
	if err != nil {
		t.Fatal(err)
	}
	var pcm []float32
	rate := 0
	for p := 12; p+8 <= len(b); {
		id, n := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:]))
		body := b[p+8 : min(len(b), p+8+n)]
		switch id {
		case "fmt ":
			rate = int(binary.LittleEndian.Uint32(body[4:]))
		case "data":
			for i := 0; i+1 < len(body); i += 2 {
				pcm = append(pcm, float32(int16(binary.LittleEndian.Uint16(body[i:])))/32768)
			}
		}
		p += 8 + n + n&1
	}
	if rate == 0 || len(pcm) == 0 {
		t.Fatal("question.wav: no fmt or data chunk")
	}
	return resampleTo(t, pcm, rate, wsRate)
}

func resampleTo(t *testing.T, x []float32, from, to int) []float32 {
	t.Helper()
	if from == to {
		return x
	}
	r, err := resample.New(from, to)
	if err != nil {
		t.Fatal(err)
	}
	src := append(slices.Clone(x), make([]float32, from/10)...)
	out := make([]float32, r.MaxOut(len(src)))
	return out[:r.Process(out, src)]
}

// TestWSHandshake: each dialect's endpoint upgrades with the credentials the emulator
// accepts there, and session.created comes first in the endpoint's shape.
func TestWSHandshake(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t)
	defer srv.Close()
	ctx := ctxT(t, 10*time.Second)
	for _, profile := range []string{"azure-preview", "azure", "openai"} {
		key, err := srv.MintKey(ctx, profile)
		if err != nil {
			t.Fatal(err)
		}
		c := wsOpen(t, srv, profile, key)
		c.close()
	}
	// a broker key (the server's dialect: GA) on the broker's upstream endpoint
	key, err := srv.MintKey(ctx, "broker")
	if err != nil {
		t.Fatal(err)
	}
	if u := srv.WSURL("broker"); u != srv.WSURL("openai") || !strings.HasPrefix(u, "ws://127.0.0.1:") {
		t.Errorf("WSURL(broker) = %q", u)
	}
	wsOpen(t, srv, "broker", key).close()
	// the long-lived key: api-key header or query on Azure, Bearer on OpenAI
	for _, tc := range []struct {
		profile string
		h       http.Header
		query   string
		d       events.Dialect
	}{
		{"azure-preview", http.Header{"Api-Key": {srv.APIKey()}}, "", events.Preview},
		{"azure", nil, "&api-key=" + srv.APIKey(), events.GA},
		{"openai", bearer(srv.APIKey()), "", events.GA},
	} {
		c, _, err := wsDial(t, srv.WSURL(tc.profile)+tc.query, tc.h, tc.d, false)
		if err != nil {
			t.Fatalf("%s with the API key: %v", tc.profile, err)
		}
		e := c.next()
		if sc, ok := e.ev.(events.SessionCreated); !ok || sc.Session.Shape != tc.d {
			t.Errorf("%s: first event %s", tc.profile, e.raw)
		}
		c.close()
	}
	if err := srv.WaitStats(ctx, func(st Stats) bool { return st.CallsEnded == 7 }); err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	if st.WSRequests != 7 || st.CallsAnswered != 7 {
		t.Errorf("stats: %d handshakes, %d answered", st.WSRequests, st.CallsAnswered)
	}
	for _, call := range st.Calls {
		if call.Transport != "websocket" || !call.HungUp || call.WS == nil || call.WS.ClosedBy != "client" || call.ServerEvents[0] != "session.created" {
			t.Errorf("call %s: %+v %+v", call.ID, call, call.WS)
		}
	}
}

// TestWSAuthRefused: wrong credentials and wrong query shapes are refused before the
// upgrade with the status and code of the real endpoints.
func TestWSAuthRefused(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t)
	defer srv.Close()
	ga, pv := srv.NewKey(events.GA, time.Minute), srv.NewKey(events.Preview, time.Minute)
	old := srv.NewKey(events.GA, -time.Second)
	u := func(p string) string { return srv.WSURL(p) }
	for _, tc := range []struct {
		name   string
		url    string
		h      http.Header
		status int
		code   string
	}{
		{"no credentials", u("openai"), nil, 401, "missing_api_key"},
		{"unknown key", u("openai"), bearer("ek_nope"), 401, "invalid_api_key"},
		{"preview key on GA", u("openai"), bearer(pv.Value), 401, "invalid_api_key"},
		{"GA key on preview", u("azure-preview"), bearer(ga.Value), 401, "invalid_api_key"},
		{"expired key", u("azure"), bearer(old.Value), 401, "expired_api_key"},
		{"wrong api-key", u("azure"), http.Header{"Api-Key": {"nope"}}, 401, "401"},
		{"api-key on OpenAI", u("openai"), http.Header{"Api-Key": {srv.APIKey()}}, 401, "missing_api_key"},
		{"API key as Bearer on Azure", u("azure"), bearer(srv.APIKey()), 401, "invalid_api_key"},
		{"old api-version", strings.Replace(u("azure-preview"), "2025-04-01-preview", "2024-10-01-preview", 1), bearer(pv.Value), 404, "404"},
		{"no deployment", srv.URL() + "/openai/realtime?api-version=2025-04-01-preview", bearer(pv.Value), 400, "missing_required_parameter"},
		{"no model", srv.URL() + "/v1/realtime", bearer(ga.Value), 400, "missing_model"},
		{"api-version on GA", u("azure") + "&api-version=2025-04-01-preview", bearer(ga.Value), 400, "unknown_parameter"},
		{"OpenAI-Beta on GA", u("openai"), http.Header{"Authorization": {"Bearer " + ga.Value}, "Openai-Beta": {"realtime=v1"}}, 400, "beta_api_shape_disabled"},
		{"sideband", u("openai") + "&call_id=rtc_1", bearer(ga.Value), 400, "unsupported"},
	} {
		c, resp, err := wsDial(t, strings.Replace(tc.url, "http://", "ws://", 1), tc.h, events.GA, false)
		if err == nil {
			c.close()
			t.Errorf("%s: upgraded", tc.name)
			continue
		}
		if resp == nil || resp.StatusCode != tc.status {
			t.Errorf("%s: %v, want HTTP %d", tc.name, err, tc.status)
			continue
		}
		var body struct {
			Error struct{ Code string }
		}
		b := make([]byte, 1024)
		n, _ := resp.Body.Read(b)
		if json.Unmarshal(b[:n], &body); body.Error.Code != tc.code {
			t.Errorf("%s: body %s, want code %s", tc.name, b[:n], tc.code)
		}
	}
	// a plain POST is no handshake
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/v1/realtime?model=m", nil)
	if resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req); err != nil || resp.StatusCode != 405 {
		t.Errorf("POST: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// the connect fault applies to the handshake
	srv.SetFaults(Faults{SDPStatus: 500, SDPFailures: 1})
	if _, resp, err := wsDial(t, u("openai"), bearer(ga.Value), events.GA, false); err == nil || resp == nil || resp.StatusCode != 500 {
		t.Errorf("with SDPStatus 500: %v %v", resp, err)
	}
	c, _, err := wsDial(t, u("openai"), bearer(ga.Value), events.GA, false)
	if err != nil {
		t.Fatalf("after the one injected failure: %v", err)
	}
	c.close()
	if st := srv.Stats(); st.CallsAnswered != 1 {
		t.Errorf("%d calls answered, want 1", st.CallsAnswered)
	}
}

// TestWSWithoutGA: the Azure GA socket is 404 on an older resource, like its mint.
func TestWSWithoutGA(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t, WithoutGA())
	defer srv.Close()
	if _, resp, err := wsDial(t, srv.WSURL("azure"), bearer(srv.NewKey(events.GA, time.Minute).Value), events.GA, false); err == nil || resp == nil || resp.StatusCode != 404 {
		t.Errorf("Azure GA socket without GA: %v %v", resp, err)
	}
}

// TestWSPushToTalk: a push-to-talk turn of real speech by appends, commit and
// response.create in each dialect; the answer comes back as audio deltas that sound
// like what was sent (internal/speechmatch), paced at real time.
func TestWSPushToTalk(t *testing.T) {
	defer test.CheckRoutines(t)()
	speech := speech24k(t)
	for _, profile := range []string{"openai", "azure", "azure-preview"} {
		t.Run(profile, func(t *testing.T) {
			srv := start(t)
			defer srv.Close()
			key, err := srv.MintKey(ctxT(t, 5*time.Second), profile)
			if err != nil {
				t.Fatal(err)
			}
			c := wsOpen(t, srv, profile, key)
			defer c.close()
			c.send(sessionUpdatePTT())
			if e := c.next(); e.name != "session.updated" {
				t.Fatalf("got %s", e.raw)
			}
			c.send(events.InputAudioBufferClear{})
			c.until("input_audio_buffer.cleared")
			// 100 ms appends, sent as fast as the socket takes them: the service plays
			// them at real time and a commit takes only what has played
			c.appendPCM(speech, wsRate/10)
			dur := time.Duration(len(speech)) * time.Second / wsRate
			whole := dur.Truncate(20 * time.Millisecond)
			call, _ := srv.Stats().LastCall()
			if call.Played >= whole {
				t.Fatalf("%v of %v played right after sending: not real time", call.Played, dur)
			}
			waitPlayed(t, srv, whole)
			c.send(events.InputAudioBufferCommit{})
			evs := c.until("conversation.item.created")
			if evs[0].name != "input_audio_buffer.committed" {
				t.Fatalf("after commit: %s", evs[0].raw)
			}
			asked := time.Now()
			c.send(events.ResponseCreate{})
			deltaName, doneName := audioNames(key.Dialect)
			var got []float32
			var first, last time.Time
			var respID string
			var names []string
			for {
				e := c.next()
				names = append(names, e.name)
				if e.name == deltaName {
					r, _, pcm := deltaAudio(t, e)
					if respID != "" && r != respID {
						t.Fatalf("delta of response %s inside %s", r, respID)
					}
					respID = r
					if first.IsZero() {
						first = time.Now()
					}
					last = time.Now()
					got = append(got, pcm...)
					continue
				}
				if e.name == "response.done" {
					break
				}
			}
			for _, n := range names {
				if strings.HasPrefix(n, "output_audio_buffer.") {
					t.Errorf("WebRTC-only event %s on a WebSocket", n)
				}
			}
			if !slices.Contains(names, doneName) || slices.Index(names, doneName) > slices.Index(names, "response.done") {
				t.Errorf("events %v: want %s before response.done", names, doneName)
			}
			report, problems := speechmatch.Match(resampleTo(t, speech, wsRate, 48000), resampleTo(t, got, wsRate, 48000))
			t.Logf("answer: response.create → first delta %v; %d ms of audio in %v; %s", first.Sub(asked), len(got)*1000/wsRate, last.Sub(first), report)
			if len(problems) > 0 {
				t.Errorf("the answer does not sound like the turn: %v", problems)
			}
			// paced at real time, DefaultWSAudioLead ahead: the deltas of the answer
			// arrive over its length minus the lead (a wide margin for a busy machine)
			span, want := last.Sub(first), time.Duration(len(got))*time.Second/wsRate-DefaultWSAudioLead
			if span < want*7/10 || span > want*3 {
				t.Errorf("deltas of %v of audio arrived over %v, want about %v", time.Duration(len(got))*time.Second/wsRate, span, want)
			}
			st := srv.Stats()
			call, _ = st.LastCall()
			if len(call.Turns) != 1 || call.Turns[0].Duration != whole || call.WS.Appends == 0 || call.WS.AudioIn != dur {
				t.Errorf("turns %+v, ws %+v (sent %v)", call.Turns, call.WS, dur)
			}
			wantEv := []string{"session.update", "input_audio_buffer.clear", "input_audio_buffer.commit", "response.create"}
			if !slices.Equal(call.ClientEvents, wantEv) {
				t.Errorf("client events %v, want %v", call.ClientEvents, wantEv)
			}
		})
	}
}
