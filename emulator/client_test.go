package emulator

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"
)

// testClient is a plain pion client written for these tests (not package rtc), doing
// what the appliance does on the wire.
type testClient struct {
	t       *testing.T
	d       events.Dialect
	pc      *webrtc.PeerConnection
	dc      *webrtc.DataChannel
	track   *webrtc.TrackLocalStaticRTP
	events  chan events.Event
	open    chan struct{}
	dcDone  chan struct{}
	status  int
	loc     string
	seq     uint16
	ts      uint32
	mu      sync.Mutex
	rtpIn   []*rtp.Packet
	rtpAt   []time.Time
	states  []webrtc.PeerConnectionState
	stateCh chan webrtc.PeerConnectionState
	// rateLimits are the rate_limits.updated events seen; next skips them
	rateLimits []events.RateLimitsUpdated
}

func loopbackAPI(t testing.TB) *webrtc.API { return clientAPI(t, nil, false) }

// clientAPI: Opus-only, NACK; ICE on loopback (UDP4, or TCP4 only with tcpOnly) or on
// the virtual network vn.
func clientAPI(t testing.TB, vn transport.Net, tcpOnly bool, tweak ...func(*webrtc.SettingEngine)) *webrtc.API {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(me, ir); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if vn != nil {
		se.SetNet(vn)
	} else {
		se.SetIncludeLoopbackCandidate(true)
		se.SetInterfaceFilter(func(n string) bool { return n == "lo" })
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() && ip.To4() != nil })
	}
	for _, f := range tweak {
		f(&se)
	}
	if tcpOnly {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	} else {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// postOffer sends the SDP offer like the appliance; it returns the status, Location
// header and body.
func postOffer(t testing.TB, url, bearer, contentType, offer string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(offer))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req.Header.Set("Content-Type", contentType)
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// newClient builds the offer (Opus sendrecv + data channel, non-trickle) and returns
// the client and its offer SDP without posting it.
func newClient(t *testing.T, d events.Dialect) (*testClient, string) {
	return newClientWith(t, d, loopbackAPI(t))
}

func newClientWith(t *testing.T, d events.Dialect, api *webrtc.API) (*testClient, string) {
	t.Helper()
	c := &testClient{t: t, d: d, events: make(chan events.Event, 256), open: make(chan struct{}), dcDone: make(chan struct{}),
		stateCh: make(chan webrtc.PeerConnectionState, 16)}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	c.pc = pc
	c.track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "edgevoice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTransceiverFromTrack(c.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}); err != nil {
		t.Fatal(err)
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		c.mu.Lock()
		c.states = append(c.states, s)
		c.mu.Unlock()
		select {
		case c.stateCh <- s:
		default:
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			c.mu.Lock()
			c.rtpIn = append(c.rtpIn, p)
			c.rtpAt = append(c.rtpAt, time.Now())
			c.mu.Unlock()
		}
	})
	c.dc, err = pc.CreateDataChannel("oai-events", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.dc.OnOpen(func() { close(c.open) })
	c.dc.OnClose(func() { close(c.dcDone) })
	c.dc.OnMessage(func(m webrtc.DataChannelMessage) {
		ev, err := events.Decode(m.Data)
		if err != nil {
			t.Errorf("server sent a malformed event %q: %v", m.Data, err)
			return
		}
		if rl, ok := ev.(events.RateLimitsUpdated); ok { // informational, at the start of each response
			c.mu.Lock()
			c.rateLimits = append(c.rateLimits, rl)
			c.mu.Unlock()
			return
		}
		c.events <- ev
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return c, pc.LocalDescription().SDP
}

// dial connects to the key's SDP URL and waits for the data channel to open.
func dial(t *testing.T, key realtime.Key) *testClient {
	t.Helper()
	return dialWith(t, key, loopbackAPI(t))
}

func dialWith(t *testing.T, key realtime.Key, api *webrtc.API) *testClient {
	t.Helper()
	c, offer := newClientWith(t, key.Dialect, api)
	status, loc, body := postOffer(t, key.SDPURL, key.Value, "application/sdp", offer)
	c.status, c.loc = status, loc
	if status/100 != 2 {
		c.close()
		t.Fatalf("SDP POST: HTTP %d: %s", status, body)
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
		c.close()
		t.Fatal(err)
	}
	select {
	case <-c.open:
	case <-time.After(10 * time.Second):
		c.close()
		t.Fatal("data channel did not open")
	}
	return c
}

func (c *testClient) close() {
	c.pc.Close()
}

func (c *testClient) send(ev events.Event) {
	c.t.Helper()
	b, err := events.Marshal(c.d, ev)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.dc.SendText(string(b)); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next server event.
func (c *testClient) next() events.Event {
	c.t.Helper()
	select {
	case ev := <-c.events:
		return ev
	case <-time.After(5 * time.Second):
		c.t.Fatal("no server event within 5 s")
	}
	return nil
}

// expect reads events and checks their types in order.
func (c *testClient) expect(types ...events.Type) []events.Event {
	c.t.Helper()
	var got []events.Event
	for _, want := range types {
		ev := c.next()
		got = append(got, ev)
		if ev.Type() != want {
			c.t.Fatalf("event %d: got %v (%+v), want %v", len(got), ev.Type(), ev, want)
		}
	}
	return got
}

// sendAudio writes n synthetic 20 ms Opus packets (CELT FB 20 ms TOC, then a marker
// byte pattern unique per packet) paced every `every`; it returns the payloads.
func (c *testClient) sendAudio(n int, every time.Duration) [][]byte {
	c.t.Helper()
	var out [][]byte
	for i := range n {
		p := []byte{0xF8, byte(i), byte(i >> 8), 0xAB, 0xCD, byte(len(out))}
		out = append(out, p)
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: c.seq, Timestamp: c.ts, Marker: i == 0}, Payload: p}
		c.seq++
		c.ts += 960
		if err := c.track.WriteRTP(pkt); err != nil {
			c.t.Fatal(err)
		}
		time.Sleep(every)
	}
	return out
}

func (c *testClient) received() []*rtp.Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*rtp.Packet(nil), c.rtpIn...)
}

// arrivalSpan is the time between the first and the last packet received.
func (c *testClient) arrivalSpan() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.rtpAt) < 2 {
		return 0
	}
	return c.rtpAt[len(c.rtpAt)-1].Sub(c.rtpAt[0])
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func start(t *testing.T, opts ...Option) *Server {
	t.Helper()
	s, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	return s
}

func sessionUpdatePTT() events.SessionUpdate {
	return events.SessionUpdate{EventID: "c_upd", Session: events.Session{
		Instructions: "You are a test.", Voice: "verse",
		TurnDetection:  events.TurnDetection{Type: events.TurnDetectionNone},
		NoiseReduction: events.NoiseReductionFarField,
		Transcription:  &events.Transcription{Model: "whisper-1", Language: "en"},
	}}
}

var _ = fmt.Sprint

// waitPlayed waits until the last call's jitter buffer has played at least d of audio
// into the input buffer (the service commits only what has played).
func waitPlayed(t *testing.T, srv *Server, d time.Duration) {
	t.Helper()
	err := srv.WaitStats(ctxT(t, 10*time.Second), func(st Stats) bool {
		c, ok := st.LastCall()
		return ok && c.Played >= d
	})
	if err != nil {
		t.Fatalf("waiting for %v of audio to play: %v", d, err)
	}
}
