package rtc

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/edgevoice/edgevoice/dsp/resample"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/pion/transport/v5/test"
)

// fakeWS is a tiny realtime service on WebSocket (coder/websocket): the events of both
// dialects that a push-to-talk turn needs, the appended audio kept per connection, and
// an answer of respTone for respDur as output audio deltas of 100 ms, sent at pace ×
// real time (0 = all at once).
type fakeWS struct {
	t   *testing.T
	srv *httptest.Server

	respTone float64
	respDur  time.Duration
	pace     float64
	noRead   bool // stop reading after the handshake (a stalled peer)
	quit     chan struct{}
	onOpen   func(*wsSide) // after session.created

	mu    sync.Mutex
	conns []*wsSide
	auths []string
	paths []string
	wg    sync.WaitGroup
}

type wsSide struct {
	f       *fakeWS
	c       *websocket.Conn
	mu      sync.Mutex
	ev      []string // client event types in order
	buf     []int16  // input buffer since clear/commit
	commit  []int16
	appends int
	trunc   []map[string]any
	stop    chan struct{}
	respN   int
}

func newFakeWS(t *testing.T) *fakeWS {
	f := &fakeWS{t: t, respTone: 600, respDur: 600 * time.Millisecond, quit: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

func (f *fakeWS) close() {
	close(f.quit)
	f.srv.CloseClientConnections()
	f.srv.Close()
	f.mu.Lock()
	for _, c := range f.conns {
		c.c.CloseNow()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func (f *fakeWS) key() realtime.Key {
	return realtime.Key{Value: "ek_good_ws", ExpiresAt: time.Now().Add(time.Hour), SDPURL: f.srv.URL + "/v1/realtime/calls", Dialect: realtime.DialectGA}
}

func (f *fakeWS) conn(i int) *wsSide {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.conns) {
		return nil
	}
	return f.conns[i]
}

func (f *fakeWS) nconns() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

func (f *fakeWS) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.auths = append(f.auths, r.Header.Get("Authorization"))
	f.paths = append(f.paths, r.URL.RequestURI())
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer ek_good_ws" {
		http.Error(w, `{"error":{"message":"bad key","code":"invalid_api_key"}}`, http.StatusUnauthorized)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	c.SetReadLimit(32 << 20)
	ws := &wsSide{f: f, c: c}
	f.mu.Lock()
	f.conns = append(f.conns, ws)
	f.wg.Add(1)
	f.mu.Unlock()
	defer f.wg.Done()
	defer c.CloseNow()
	ws.sendJSON(map[string]any{"type": "session.created", "session": map[string]any{"id": "sess_1"}})
	if f.onOpen != nil {
		f.onOpen(ws)
	}
	if f.noRead {
		<-f.quit
		return
	}
	for {
		_, data, err := c.Read(context.Background())
		if err != nil {
			ws.stopResp()
			return
		}
		ws.onClient(data)
	}
}

func (ws *wsSide) sendJSON(v any) {
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = ws.c.Write(ctx, websocket.MessageText, b)
}

func (ws *wsSide) events() []string {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return append([]string(nil), ws.ev...)
}

func (ws *wsSide) stopResp() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.stop != nil {
		close(ws.stop)
		ws.stop = nil
	}
}

func (ws *wsSide) onClient(data []byte) {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		ws.f.t.Errorf("fakeWS: bad client JSON %.80q", data)
		return
	}
	typ, _ := m["type"].(string)
	ws.mu.Lock()
	ws.ev = append(ws.ev, typ)
	ws.mu.Unlock()
	switch typ {
	case "session.update":
		ws.sendJSON(map[string]any{"type": "session.updated", "session": m["session"]})
	case "input_audio_buffer.append":
		a, _ := m["audio"].(string)
		raw, err := base64.StdEncoding.DecodeString(a)
		if err != nil || len(raw)%2 != 0 {
			ws.f.t.Errorf("fakeWS: bad append audio")
			return
		}
		ws.mu.Lock()
		ws.appends++
		for i := 0; i+1 < len(raw); i += 2 {
			ws.buf = append(ws.buf, int16(binary.LittleEndian.Uint16(raw[i:])))
		}
		ws.mu.Unlock()
	case "input_audio_buffer.clear":
		ws.mu.Lock()
		ws.buf = nil
		ws.mu.Unlock()
		ws.sendJSON(map[string]any{"type": "input_audio_buffer.cleared"})
	case "input_audio_buffer.commit":
		ws.mu.Lock()
		ws.commit, ws.buf = ws.buf, nil
		ws.mu.Unlock()
		ws.sendJSON(map[string]any{"type": "input_audio_buffer.committed", "item_id": "item_user"})
	case "response.create":
		ws.mu.Lock()
		ws.respN++
		id := fmt.Sprintf("resp_%d", ws.respN)
		if ws.stop != nil {
			close(ws.stop)
		}
		stop := make(chan struct{})
		ws.stop = stop
		ws.mu.Unlock()
		ws.f.wg.Add(1)
		go func() { defer ws.f.wg.Done(); ws.respond(id, stop) }()
	case "response.cancel":
		ws.stopResp()
	case "conversation.item.truncate":
		ws.mu.Lock()
		ws.trunc = append(ws.trunc, m)
		ws.mu.Unlock()
	}
}

// respond sends the answer tone as 100 ms deltas, then response.done (cancelled if stopped).
func (ws *wsSide) respond(id string, stop chan struct{}) {
	f := ws.f
	item := "item_" + id
	ws.sendJSON(map[string]any{"type": "response.created", "response": map[string]any{"id": id, "status": "in_progress"}})
	n := int(f.respDur / (100 * time.Millisecond))
	status := "completed"
	phase := 0.0
	for i := range n {
		select {
		case <-stop:
			status = "cancelled"
		default:
		}
		if status == "cancelled" {
			break
		}
		pcm := make([]byte, 2400*2)
		for j := range 2400 {
			binary.LittleEndian.PutUint16(pcm[2*j:], uint16(int16(0.4*32767*math.Sin(phase))))
			phase += 2 * math.Pi * f.respTone / 24000
		}
		ws.sendJSON(map[string]any{"type": "response.output_audio.delta", "response_id": id, "item_id": item,
			"output_index": 0, "content_index": 0, "delta": base64.StdEncoding.EncodeToString(pcm)})
		if f.pace > 0 && i < n-1 {
			select {
			case <-stop:
				status = "cancelled"
			case <-time.After(time.Duration(float64(100*time.Millisecond) / f.pace)):
			}
		}
	}
	ws.sendJSON(map[string]any{"type": "response.done", "response": map[string]any{"id": id, "status": status}})
}

func wsOpts(extra ...Option) []Option {
	return append([]Option{WithTransport(TransportWebSocket), WithBackoff(20*time.Millisecond, 200*time.Millisecond),
		WithSessionConfig(pttConfig())}, extra...)
}

func TestWSURL(t *testing.T) {
	for _, c := range []struct{ sdp, model, want string }{
		{"https://api.openai.com/v1/realtime/calls", "gpt-realtime", "wss://api.openai.com/v1/realtime?model=gpt-realtime"},
		{"https://res.openai.azure.com/openai/v1/realtime/calls", "dep1", "wss://res.openai.azure.com/openai/v1/realtime?model=dep1"},
		{"https://res.openai.azure.com/openai/v1/realtime/calls?webrtcfilter=on", "", "wss://res.openai.azure.com/openai/v1/realtime"},
		{"http://127.0.0.1:8080/v1/realtimertc?model=dep2", "", "ws://127.0.0.1:8080/openai/realtime?api-version=2025-04-01-preview&deployment=dep2"},
	} {
		got, err := wsURL(realtime.Key{SDPURL: c.sdp}, "", c.model)
		if err != nil || got != c.want {
			t.Errorf("wsURL(%s, %q) = %q, %v; want %q", c.sdp, c.model, got, err, c.want)
		}
	}
	for _, bad := range []string{"https://eastus2.realtimeapi-preview.ai.azure.com/v1/realtimertc?model=x", "https://h/other", "ftp://h/v1/realtime/calls", ""} {
		if u, err := wsURL(realtime.Key{SDPURL: bad}, "", "m"); err == nil {
			t.Errorf("wsURL(%q) = %q, want an error", bad, u)
		} else if !strings.Contains(err.Error(), "websocket_url") {
			t.Errorf("wsURL(%q) error %q does not say what to set", bad, err)
		}
	}
	if u, _ := wsURL(realtime.Key{SDPURL: "https://x/v1/realtime/calls"}, "wss://o/p", "m"); u != "wss://o/p" {
		t.Errorf("override ignored: %q", u)
	}
	if _, err := ParseTransport("udp"); err == nil {
		t.Error("ParseTransport(udp) accepted")
	}
	for _, tr := range []Transport{TransportWebRTC, TransportWebSocket, TransportAuto} {
		if got, err := ParseTransport(tr.String()); err != nil || got != tr {
			t.Errorf("ParseTransport(%v) = %v, %v", tr, got, err)
		}
	}
}

// wsTurn runs one push-to-talk turn of d of a 440 Hz tone and returns the speaker output.
func wsTurn(t *testing.T, s *Session, d time.Duration) {
	t.Helper()
	s.Press()
	var ph float64
	feedTone(s, 440, d, &ph)
	s.Release()
	waitFor(t, s, 10*time.Second, isKind(EventResponseDone))
	waitFor(t, s, 10*time.Second, isKind(EventSpeakingStopped))
}

func TestWSPushToTalkTurn(t *testing.T) {
	defer test.CheckRoutines(t)()
	f := newFakeWS(t)
	defer f.close()
	s, err := New(f.key(), wsOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	sp := startSpeaker(s)
	e := waitFor(t, s, 10*time.Second, isState(StateConnected))
	if e.Transport != TransportWebSocket {
		t.Errorf("connected event says transport %v, want websocket", e.Transport)
	}
	wsTurn(t, s, 500*time.Millisecond)
	sp.close()
	s.Close()
	ws := f.conn(0)
	ev := ws.events()
	// the commit follows the last append and comes before response.create
	last := -1
	for i, e := range ev {
		if e == "input_audio_buffer.append" {
			last = i
		}
	}
	if last < 0 || last+2 >= len(ev) || ev[last+1] != "input_audio_buffer.commit" || ev[last+2] != "response.create" {
		t.Fatalf("client events %v: want …append, commit, response.create", ev)
	}
	if slicesContains(ev, "output_audio_buffer.clear") {
		t.Errorf("output_audio_buffer.clear (WebRTC only) sent on WebSocket: %v", ev)
	}
	ws.mu.Lock()
	got := len(ws.commit)
	ws.mu.Unlock()
	// 500 ms at 24 kHz = 12000 samples; the resampler's delay and a partial frame may
	// shift the end by a little
	if got < 11500 || got > 12500 {
		t.Errorf("committed %d samples at 24 kHz, want ~12000 (500 ms)", got)
	}
	out, _ := sp.snapshot()
	at, _ := toneAt(trimQuiet(out), 600)
	if at < 0.2 {
		t.Errorf("answer tone level %.3f in the speaker output, want ≥ 0.2 (0.4 sent)", at)
	}
	st := s.Stats()
	if st.Transport != TransportWebSocket || st.PacketsSent == 0 || st.PacketsReceived != 6 {
		t.Errorf("stats: transport %v, %d appends, %d deltas (want websocket, >0, 6)", st.Transport, st.PacketsSent, st.PacketsReceived)
	}
	if f.auths[0] != "Bearer ek_good_ws" || f.paths[0] != "/v1/realtime?model="+realtime.DefaultModel {
		t.Errorf("handshake: auth %q path %q", realtime.Mask(f.auths[0]), f.paths[0])
	}
}

func slicesContains(x []string, s string) bool {
	for _, v := range x {
		if v == s {
			return true
		}
	}
	return false
}

// trimQuiet drops near-silent samples at both ends.
func trimQuiet(x []float32) []float32 {
	i, j := 0, len(x)
	for i < j && math.Abs(float64(x[i])) < 0.01 {
		i++
	}
	for j > i && math.Abs(float64(x[j-1])) < 0.01 {
		j--
	}
	return x[i:j]
}

func TestWSBargeInTruncates(t *testing.T) {
	defer test.CheckRoutines(t)()
	f := newFakeWS(t)
	f.respDur, f.pace = 5*time.Second, 1.5 // slower than it plays: the ring stays short
	defer f.close()
	s, err := New(f.key(), wsOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	sp := startSpeaker(s)
	defer sp.close()
	waitFor(t, s, 10*time.Second, isState(StateConnected))
	s.Press()
	var ph float64
	feedTone(s, 440, 200*time.Millisecond, &ph)
	s.Release()
	waitFor(t, s, 10*time.Second, isKind(EventSpeakingStarted))
	time.Sleep(500 * time.Millisecond) // let some of it play
	s.Press()
	waitFor(t, s, 5*time.Second, isKind(EventBargeIn))
	ws := f.conn(0)
	waitUntil(t, 5*time.Second, func() bool {
		ws.mu.Lock()
		defer ws.mu.Unlock()
		return len(ws.trunc) > 0
	})
	ev := ws.events()
	ci, ti := indexOfStr(ev, "response.cancel"), indexOfStr(ev, "conversation.item.truncate")
	if ci < 0 || ti < ci {
		t.Errorf("events %v: want response.cancel then conversation.item.truncate", ev)
	}
	ws.mu.Lock()
	tr := ws.trunc[0]
	ws.mu.Unlock()
	ms, _ := tr["audio_end_ms"].(float64)
	if tr["item_id"] != "item_resp_1" || tr["content_index"] != float64(0) || ms < 100 || ms > 3000 {
		t.Errorf("truncate %v: want item_resp_1, content_index 0, audio_end_ms of what played (100..3000)", tr)
	}
	// nothing of the cancelled response plays after the barge-in
	_, real0 := sp.snapshot()
	time.Sleep(400 * time.Millisecond)
	_, real1 := sp.snapshot()
	if n := sumInts(real1[len(real0):]); n > 0 {
		t.Errorf("%d samples of the cancelled response played after the barge-in", n)
	}
	s.Release()
}

func indexOfStr(x []string, s string) int {
	for i, v := range x {
		if v == s {
			return i
		}
	}
	return -1
}

func sumInts(x []int) int {
	n := 0
	for _, v := range x {
		n += v
	}
	return n
}

func TestWSRefusesOversizedAndMalformed(t *testing.T) {
	defer test.CheckRoutines(t)()
	f := newFakeWS(t)
	defer f.close()
	f.onOpen = func(ws *wsSide) {
		if f.nconns() > 1 {
			return
		}
		ctx := context.Background()
		_ = ws.c.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3})
		_ = ws.c.Write(ctx, websocket.MessageText, []byte(`{"type":`))
		_ = ws.c.Write(ctx, websocket.MessageText, []byte(`{"type":"response.output_audio.delta","response_id":"r","item_id":"i","delta":"!!notbase64"}`))
		_ = ws.c.Write(ctx, websocket.MessageText, []byte(`{"type":"response.output_audio.delta","response_id":"r","item_id":"i","delta":"AAA="}`)) // odd byte count
		big := `{"type":"response.output_audio.delta","delta":"` + strings.Repeat("A", 80<<10) + `"}`
		_ = ws.c.Write(ctx, websocket.MessageText, []byte(big))
	}
	s, err := New(f.key(), wsOpts(WithWebSocketLimits(64<<10, time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := waitFor(t, s, 10*time.Second, func(e Event) bool {
		return e.Kind == EventState && e.State == StateDisconnected
	})
	if e.Err == nil || !strings.Contains(e.Err.Error(), "read limit") {
		t.Errorf("disconnect cause %v, want the read limit", e.Err)
	}
	waitFor(t, s, 10*time.Second, isState(StateConnected)) // and it reconnects
	if st := s.Stats(); st.Malformed < 4 {
		t.Errorf("malformed = %d, want ≥ 4 (binary, bad JSON, bad base64, odd length)", st.Malformed)
	}
}

// stallListener makes the server's socket buffers tiny so a peer that stops reading
// stalls the client's writes quickly.
type stallListener struct{ net.Listener }

func (l stallListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	return c, err
}

func TestWSStalledSocketIsBounded(t *testing.T) {
	defer test.CheckRoutines(t)()
	f := &fakeWS{t: t, noRead: true, quit: make(chan struct{})}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Listener = stallListener{f.srv.Listener}
	f.srv.Start()
	defer f.close()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetWriteBuffer(4096)
		}
		return c, err
	}
	defer tr.CloseIdleConnections()
	s, err := New(f.key(), wsOpts(WithHTTPClient(&http.Client{Transport: tr}), WithWebSocketLimits(1<<20, 300*time.Millisecond),
		WithPreRoll(10*time.Second, 2))...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// 10 s of pre-roll, far more than the socket and the write queue hold
	s.Press()
	feedSilenceFast(s, 10*time.Second)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := waitFor(t, s, 15*time.Second, func(e Event) bool { return e.Kind == EventState && e.State == StateDisconnected })
	if e.Err == nil || !(strings.Contains(e.Err.Error(), "stalled")) {
		t.Errorf("disconnect cause %v, want a stalled socket", e.Err)
	}
	if st := s.Stats(); st.BytesSent > 2<<20 {
		t.Errorf("%d bytes queued for a stalled socket", st.BytesSent)
	}
}

// feedSilenceFast writes d of quiet noise at once (10 ms chunks).
func feedSilenceFast(s *Session, d time.Duration) {
	chunk := make([]float32, 480)
	for i := range chunk {
		chunk[i] = 0.001 * float32(i%7)
	}
	for range int(d / (10 * time.Millisecond)) {
		s.WriteMic(chunk)
	}
}

func TestWSUnauthorizedIsClear(t *testing.T) {
	defer test.CheckRoutines(t)()
	f := newFakeWS(t)
	defer f.close()
	k := f.key()
	k.Value = "ek_bad_secret"
	s, err := New(k, wsOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := waitFor(t, s, 10*time.Second, isState(StateClosed))
	if !errors.Is(e.Err, ErrUnauthorized) {
		t.Errorf("final error %v, want ErrUnauthorized", e.Err)
	}
	if strings.Contains(fmt.Sprint(e.Err), "ek_bad_secret") {
		t.Errorf("the key leaked into the error: %v", e.Err)
	}
}

// TestWSUplinkAllocs: one 20 ms frame through the WebSocket uplink (resample, pcm16,
// base64, queue) allocates nothing in our code.
func TestWSUplinkAllocs(t *testing.T) {
	s, tgt := newWSUplinkBench(t)
	u := &uplinker{s: s, tokens: 2}
	frame := make([]float32, frameLen)
	for i := range frame {
		frame[i] = float32(math.Sin(float64(i) / 10))
	}
	w := tgt.c.ws
	allocs := testing.AllocsPerRun(200, func() {
		s.mic.Write(frame)
		u.stepWS(tgt)
		m := <-w.queue
		w.free <- m
	})
	if allocs != 0 {
		t.Errorf("%.1f allocs per 20 ms frame on the WebSocket uplink, want 0", allocs)
	}
}

func BenchmarkWSUplinkFrame(b *testing.B) {
	s, tgt := newWSUplinkBench(b)
	u := &uplinker{s: s, tokens: 2}
	frame := make([]float32, frameLen)
	w := tgt.c.ws
	b.ReportAllocs()
	for b.Loop() {
		s.mic.Write(frame)
		u.stepWS(tgt)
		m := <-w.queue
		w.free <- m
	}
}

// newWSUplinkBench is a live session with a WebSocket target that no socket drains
// (the caller takes the messages off the queue).
func newWSUplinkBench(tb testing.TB) (*Session, *upTarget) {
	s, err := New(testKey(), WithTransport(TransportWebSocket))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	s.micLive.Store(true)
	c := &conn{s: s, done: make(chan struct{})}
	w := &wsLink{c: c, queue: make(chan *wsMsg, wsQueueLen), free: make(chan *wsMsg, wsAudioBufs)}
	for range wsAudioBufs {
		w.free <- &wsMsg{b: make([]byte, 0, len(appendPrefix)+base64.StdEncoding.EncodedLen(wsChunkFrames*wsFrame24*2)+2), audio: true}
	}
	w.down, _ = resample.New(sampleRate, wsRate)
	w.res = make([]float32, w.down.MaxOut(frameLen))
	w.raw = make([]byte, 0, wsChunkFrames*(wsFrame24+1)*2)
	c.ws = w
	return s, &upTarget{c: c}
}
