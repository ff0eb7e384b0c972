package rtc

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/edgevoice/edgevoice/rtc/jitter"
	"github.com/edgevoice/edgevoice/rtc/opus"
	"github.com/pion/ice/v4"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// fakePeer is an in-test answerer that follows the realtime wire protocol: SDP POST with
// a Bearer key, the data-channel events of both dialects, and audio answers over RTP.
// By default a response plays back the committed user audio; with respTone > 0 it
// plays that tone for respDur instead.
type fakePeer struct {
	t       *testing.T
	dialect realtime.Dialect
	srv     *httptest.Server
	api     *webrtc.API

	goodKey  func(string) bool
	failSDP  atomic.Int32 // answer this many POSTs with failStatus
	failCode int
	failBody string
	delay    time.Duration // before answering
	updDelay time.Duration // before answering session.update with session.updated

	respTone float64
	respDur  time.Duration
	lossPerc int

	mu       sync.Mutex
	posts    int
	auths    []string
	peers    []*peerSide
	clientEv []string // client event names in arrival order (all connections)
	firstRTP []time.Time
	updated  []time.Time // when each session.updated was sent
	wg       sync.WaitGroup
}

type peerSide struct {
	f      *fakePeer
	pc     *webrtc.PeerConnection
	dcp    atomic.Pointer[webrtc.DataChannel]
	out    *webrtc.TrackLocalStaticSample
	mu     sync.Mutex
	buf    []float32 // input buffer since the last clear/commit
	commit []float32
	all    []float32 // everything received
	pkts   int
	stop   chan struct{} // stops the current response
	respN  int
	done   chan struct{}
}

type peerOpts struct {
	net transport.Net // vnet; nil = loopback
}

func newFakePeer(t *testing.T, d realtime.Dialect, po peerOpts) *fakePeer {
	f := &fakePeer{t: t, dialect: d, goodKey: func(k string) bool { return strings.HasPrefix(k, "ek_good") }, respDur: time.Second}
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111},
		webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if po.net != nil {
		se.SetNet(po.net)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	} else {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4})
		se.SetInterfaceFilter(func(n string) bool { return n == "lo" })
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
		se.SetIncludeLoopbackCandidate(true)
	}
	f.api = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
	f.srv = httptest.NewServer(http.HandlerFunc(f.serveSDP))
	t.Cleanup(f.close)
	return f
}

func (f *fakePeer) key(v string) realtime.Key {
	return realtime.Key{Value: v, ExpiresAt: time.Now().Add(time.Minute), SDPURL: f.srv.URL + "/v1/realtime/calls", Dialect: f.dialect, Profile: "test", MintedAt: time.Now()}
}

func (f *fakePeer) close() {
	f.srv.Close()
	f.mu.Lock()
	peers := f.peers
	f.mu.Unlock()
	for _, p := range peers {
		p.close()
	}
	f.wg.Wait()
}

func (p *peerSide) close() {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	p.pc.Close()
}

func (f *fakePeer) serveSDP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/hangup") { // the session hangs up on close: not an SDP POST
		w.WriteHeader(http.StatusOK)
		return
	}
	f.mu.Lock()
	f.posts++
	f.auths = append(f.auths, r.Header.Get("Authorization"))
	f.mu.Unlock()
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
			return
		}
	}
	if f.failSDP.Add(-1) >= 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.failCode)
		io.WriteString(w, f.failBody)
		return
	}
	if r.Header.Get("Content-Type") != "application/sdp" {
		http.Error(w, `{"error":{"message":"want application/sdp"}}`, 400)
		return
	}
	key, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !f.goodKey(key) {
		w.WriteHeader(401)
		io.WriteString(w, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`)
		return
	}
	offer, _ := io.ReadAll(r.Body)
	p, answer, err := f.answer(string(offer))
	if err != nil {
		http.Error(w, fmt.Sprintf(`{"error":{"message":%q}}`, err.Error()), 500)
		return
	}
	f.mu.Lock()
	f.peers = append(f.peers, p)
	n := len(f.peers)
	f.mu.Unlock()
	w.Header().Set("Location", fmt.Sprintf("/v1/realtime/calls/rtc_test%d", n))
	w.Header().Set("Content-Type", "application/sdp")
	w.WriteHeader(201)
	io.WriteString(w, answer)
}

func (f *fakePeer) answer(offer string) (*peerSide, string, error) {
	pc, err := f.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", err
	}
	p := &peerSide{f: f, pc: pc, done: make(chan struct{})}
	p.out, _ = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "server")
	if _, err := pc.AddTrack(p.out); err != nil {
		return nil, "", err
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		f.wg.Add(1)
		go func() { defer f.wg.Done(); p.readAudio(tr) }()
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		p.dcp.Store(dc)
		dc.OnOpen(func() { p.send(events.SessionCreated{Session: events.Session{ID: "sess_test", Model: "test"}}) })
		dc.OnMessage(func(m webrtc.DataChannelMessage) { p.onClient(m.Data) })
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return nil, "", err
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return nil, "", err
	}
	g := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return nil, "", err
	}
	<-g
	return p, pc.LocalDescription().SDP, nil
}

func (p *peerSide) readAudio(tr *webrtc.TrackRemote) {
	dec, _ := opus.NewDecoder(48000)
	pcm := make([]float32, 5760)
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		n, err := dec.Decode(pkt.Payload, pcm)
		if err != nil {
			continue
		}
		p.mu.Lock()
		if p.pkts == 0 {
			p.f.mu.Lock()
			p.f.firstRTP = append(p.f.firstRTP, time.Now())
			p.f.mu.Unlock()
		}
		p.pkts++
		p.buf = append(p.buf, pcm[:n]...)
		p.all = append(p.all, pcm[:n]...)
		p.mu.Unlock()
	}
}

func (p *peerSide) send(ev events.Event) {
	b, err := events.Marshal(p.f.dialect, ev)
	if err != nil {
		p.f.t.Errorf("fake peer: Marshal: %v", err)
		return
	}
	if dc := p.dcp.Load(); dc != nil {
		dc.SendText(string(b))
	}
}

func (p *peerSide) onClient(data []byte) {
	ev, err := events.Decode(data)
	if err != nil {
		p.send(events.Error{Error: events.ErrorInfo{Type: "invalid_request_error", Message: err.Error()}})
		return
	}
	p.f.mu.Lock()
	p.f.clientEv = append(p.f.clientEv, ev.Type().Name(p.f.dialect))
	p.f.mu.Unlock()
	switch ev.(type) {
	case events.SessionUpdate:
		if p.f.updDelay > 0 {
			time.Sleep(p.f.updDelay) // pion delivers messages one at a time: later ones wait too
		}
		p.f.mu.Lock()
		p.f.updated = append(p.f.updated, time.Now())
		p.f.mu.Unlock()
		p.send(events.SessionUpdated{Session: events.Session{ID: "sess_test"}})
	case events.InputAudioBufferClear:
		p.mu.Lock()
		p.buf = nil
		p.mu.Unlock()
		p.send(events.InputAudioBufferCleared{})
	case events.InputAudioBufferCommit:
		p.mu.Lock()
		p.commit, p.buf = p.buf, nil
		p.mu.Unlock()
		p.send(events.InputAudioBufferCommitted{ItemID: "item_1"})
	case events.ResponseCreate:
		p.mu.Lock()
		p.respN++
		id := fmt.Sprintf("resp_%d", p.respN)
		audio := p.commit
		stop := make(chan struct{})
		p.stop = stop
		p.mu.Unlock()
		p.send(events.ResponseCreated{Response: events.Response{ID: id, Status: events.StatusInProgress}})
		p.f.wg.Add(1)
		go func() { defer p.f.wg.Done(); p.respond(id, audio, stop) }()
	case events.ResponseCancel:
		p.mu.Lock()
		if p.stop != nil {
			close(p.stop)
			p.stop = nil
		}
		p.mu.Unlock()
	case events.OutputAudioBufferClear:
		p.send(events.OutputAudioBufferCleared{})
	}
}

func (p *peerSide) respond(id string, audio []float32, stop chan struct{}) {
	if p.f.respTone > 0 {
		audio = make([]float32, int(p.f.respDur.Seconds()*48000))
		for i := range audio {
			audio[i] = 0.3 * float32(math.Sin(2*math.Pi*p.f.respTone*float64(i)/48000))
		}
	}
	o := opus.DefaultEncoderOpts()
	if p.f.lossPerc > 0 {
		o.PacketLossPerc = p.f.lossPerc
	}
	enc, _ := opus.NewEncoder(o)
	pkt := make([]byte, opus.MaxPacket)
	p.send(events.OutputAudioBufferStarted{ResponseID: id})
	p.send(events.TranscriptDelta{ResponseID: id, Delta: "echo"})
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	status := events.StatusCompleted
	for i := 0; i+960 <= len(audio); i += 960 {
		select {
		case <-stop:
			status = events.StatusCancelled
		case <-p.done:
			return
		case <-tick.C:
		}
		if status == events.StatusCancelled {
			break
		}
		n, err := enc.Encode(audio[i:i+960], pkt)
		if err != nil {
			return
		}
		p.out.WriteSample(media.Sample{Data: pkt[:n], Duration: 20 * time.Millisecond})
	}
	p.send(events.TranscriptDone{ResponseID: id, Transcript: "echo"})
	p.send(events.ResponseDone{Response: events.Response{ID: id, Status: status}})
	if status == events.StatusCompleted {
		p.send(events.OutputAudioBufferStopped{ResponseID: id})
	}
}

func (f *fakePeer) events() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.clientEv...)
}

func (f *fakePeer) peer(i int) *peerSide {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.peers) {
		return nil
	}
	return f.peers[i]
}

// waitFor reads session events until one matches or the timeout passes.
func waitFor(t *testing.T, s *Session, timeout time.Duration, match func(Event) bool) Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-s.Events():
			if !ok {
				t.Fatalf("events closed while waiting")
			}
			t.Logf("event: %v", e)
			if match(e) {
				return e
			}
		case <-deadline:
			t.Fatalf("timed out after %v (state %v)", timeout, s.State())
		}
	}
}

func isState(st State) func(Event) bool {
	return func(e Event) bool { return e.Kind == EventState && e.State == st }
}

func isKind(k EventKind) func(Event) bool { return func(e Event) bool { return e.Kind == k } }

var _ = context.Background

func testKey() realtime.Key {
	return realtime.Key{Value: "ek_good_test", ExpiresAt: time.Now().Add(time.Minute), SDPURL: "http://127.0.0.1:1/v1/realtime/calls"}
}

// unboundTarget is an uplink target whose track pion never bound: WriteSample returns
// at once, so only our code and libopus run.
func unboundTarget(tb testing.TB) *upTarget {
	tr, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "a", "b")
	if err != nil {
		tb.Fatal(err)
	}
	return &upTarget{track: tr, c: &conn{done: make(chan struct{})}}
}

func newTestDecoder(tb testing.TB) opus.Decoder {
	d, err := opus.NewDecoder(48000)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func stepPacket(p []byte) jitter.Step { return jitter.Step{Kind: jitter.KindPacket, Payload: p} }
