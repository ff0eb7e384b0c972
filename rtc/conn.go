package rtc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

type msgKind int

const (
	msgPCState msgKind = iota + 1
	msgBound
	msgDCOpen
	msgDCClose
	msgDCMessage
	msgDrained
	msgToolDone // a tool call finished (tools.go)
	msgClosed   // the transport ended with err (ws.go)
)

type connMsg struct {
	c       *conn
	kind    msgKind
	pcState webrtc.PeerConnectionState
	data    []byte
	gen     uint64
	tool    *toolResult // msgToolDone
	err     error       // msgClosed
}

// conn is one peer connection attempt and everything it started.
type conn struct {
	s       *Session
	dialect realtime.Dialect
	pc      *webrtc.PeerConnection
	dc      *webrtc.DataChannel
	track   *boundTrack
	ws      *wsLink // the WebSocket transport instead of pc, dc and track (ws.go)
	callID  string
	done    chan struct{}
	wg      sync.WaitGroup

	dialStart time.Time
	posted    time.Time // SDP answer received
	dcOpen    bool      // run loop only
	pending   [][]byte  // client events waiting for the data channel (run loop only)
	bound     bool
	uplinkOn  bool
	updated   bool      // session.updated seen, or given up waiting for it (run loop only)
	tools     toolBatch // the function calls of the last response (tools.go; run loop only)
	mcp       mcpConn   // server-side MCP approvals answered (mcpapproval.go; run loop only)

	mu     sync.Mutex // guards closed against late OnTrack callbacks
	closed bool

	convConn
}

// boundTrack tells the session when pion binds the local track: before that,
// WriteSample silently drops samples.
type boundTrack struct {
	*webrtc.TrackLocalStaticSample
	c *conn
}

func (t *boundTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	p, err := t.TrackLocalStaticSample.Bind(ctx)
	if err == nil {
		t.c.post(connMsg{kind: msgBound})
	}
	return p, err
}

func (c *conn) post(m connMsg) {
	m.c = c
	select {
	case c.s.inbox <- m:
	case <-c.done:
	}
}

var netTypeByName = map[string]webrtc.NetworkType{
	"udp4": webrtc.NetworkTypeUDP4, "udp6": webrtc.NetworkTypeUDP6,
	"tcp4": webrtc.NetworkTypeTCP4, "tcp6": webrtc.NetworkTypeTCP6,
}

func (s *Session) newAPI() (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("rtc: MediaEngine.RegisterCodec: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(me, ir); err != nil {
		return nil, fmt.Errorf("rtc: ConfigureNack: %w", err)
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, fmt.Errorf("rtc: ConfigureRTCPReports: %w", err)
	}
	se := webrtc.SettingEngine{}
	var types []webrtc.NetworkType
	for _, n := range s.cfg.netTypes {
		types = append(types, netTypeByName[n])
	}
	se.SetNetworkTypes(types)
	if len(s.cfg.ifaces) > 0 {
		ifaces := s.cfg.ifaces
		se.SetInterfaceFilter(func(name string) bool { return slices.Contains(ifaces, name) })
	}
	if len(s.cfg.ipNets) > 0 {
		nets := s.cfg.ipNets
		se.SetIPFilter(func(ip net.IP) bool {
			for _, n := range nets {
				if n.Contains(ip) {
					return true
				}
			}
			return false
		})
	}
	se.SetIncludeLoopbackCandidate(s.cfg.loopback)
	if s.cfg.mdns {
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeQueryAndGather)
	} else {
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	if s.cfg.portMin != 0 {
		if err := se.SetEphemeralUDPPortRange(s.cfg.portMin, s.cfg.portMax); err != nil {
			return nil, fmt.Errorf("rtc: SetEphemeralUDPPortRange: %w", err)
		}
	}
	if s.cfg.vnet != nil {
		se.SetNet(s.cfg.vnet)
	}
	se.SetICETimeouts(s.cfg.iceDisc, s.cfg.iceFailed, s.cfg.iceKeep)
	limitSCTP(&se)
	dtlsTO := s.cfg.dtlsTO
	se.SetDTLSConnectContextMaker(func() (context.Context, func()) {
		return context.WithTimeout(context.Background(), dtlsTO)
	})
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// dial builds a peer connection, exchanges SDP and returns once the answer is set; the
// connection then comes up asynchronously (msgPCState).
func (s *Session) dial(ctx context.Context, key realtime.Key) (_ *conn, err error) {
	c := &conn{s: s, dialect: key.Dialect, done: make(chan struct{}), dialStart: time.Now()}
	c.key, c.dcClosed = key, make(chan struct{})
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("rtc: NewPeerConnection: %w", err)
	}
	c.pc = pc
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		c.post(connMsg{kind: msgPCState, pcState: st})
	})
	lt, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "edgevoice")
	if err != nil {
		return nil, fmt.Errorf("rtc: NewTrackLocalStaticSample: %w", err)
	}
	c.track = &boundTrack{TrackLocalStaticSample: lt, c: c}
	tr, err := pc.AddTransceiverFromTrack(c.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		return nil, fmt.Errorf("rtc: AddTransceiverFromTrack: %w", err)
	}
	sender := tr.Sender()
	c.wg.Add(1)
	go func() { // drain RTCP so the interceptors run
		defer c.wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if t.Kind() != webrtc.RTPCodecTypeAudio {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed {
			return
		}
		c.wg.Add(1)
		go func() { defer c.wg.Done(); s.downlink(c, t) }()
	})
	ordered := true
	dc, err := pc.CreateDataChannel(s.cfg.label, &webrtc.DataChannelInit{Ordered: &ordered})
	if err != nil {
		return nil, fmt.Errorf("rtc: CreateDataChannel: %w", err)
	}
	c.dc = dc
	dc.OnOpen(func() { c.post(connMsg{kind: msgDCOpen}) })
	dc.OnClose(func() {
		c.dcCloseOnce.Do(func() { close(c.dcClosed) })
		c.post(connMsg{kind: msgDCClose})
	})
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		if acceptDCMessage(m) {
			c.post(connMsg{kind: msgDCMessage, data: m.Data})
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return nil, fmt.Errorf("rtc: CreateOffer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return nil, fmt.Errorf("rtc: SetLocalDescription: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(s.cfg.connectTO):
		return nil, fmt.Errorf("%w in %v", errGather, s.cfg.connectTO)
	}
	answer, callID, err := s.postSDP(ctx, key, pc.LocalDescription().SDP)
	if err != nil {
		return nil, err
	}
	c.callID = callID
	c.posted = time.Now()
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return nil, fmt.Errorf("rtc: SetRemoteDescription (the SDP answer was not usable): %w", err)
	}
	return c, nil
}

// postSDP POSTs the offer and returns the answer and the call id from Location.
func (s *Session) postSDP(ctx context.Context, key realtime.Key, offer string) (string, string, error) {
	if key.SDPURL == "" {
		return "", "", fmt.Errorf("rtc: key %s has no SDP URL", key)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.connectTO)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, key.SDPURL, strings.NewReader(offer))
	if err != nil {
		return "", "", fmt.Errorf("rtc: bad SDP URL %q", realtime.RedactURL(key.SDPURL))
	}
	req.Header.Set("Authorization", "Bearer "+key.Value)
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := s.cfg.httpClient.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("rtc: POST %s: %w", realtime.RedactURL(key.SDPURL), redactedError(err, append(realtime.URLSecrets(key.SDPURL), key.Value)...))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", "", fmt.Errorf("rtc: reading the SDP answer from %s: %w", realtime.RedactURL(key.SDPURL), redactedError(err, append(realtime.URLSecrets(key.SDPURL), key.Value)...))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", "", httpError(resp.StatusCode, body, append(realtime.URLSecrets(key.SDPURL), key.Value)...)
	}
	if !strings.HasPrefix(strings.TrimSpace(string(body)), "v=0") {
		return "", "", fmt.Errorf("rtc: POST %s: HTTP %d but the body is not an SDP answer (%.60q)", realtime.RedactURL(key.SDPURL), resp.StatusCode, realtime.Scrub(string(body), append(realtime.URLSecrets(key.SDPURL), key.Value)...))
	}
	callID := ""
	if loc := resp.Header.Get("Location"); loc != "" {
		callID = loc[strings.LastIndexByte(loc, '/')+1:]
	}
	return string(body), callID, nil
}

func httpError(status int, body []byte, secrets ...string) *HTTPError {
	e := &HTTPError{StatusCode: status}
	body = []byte(realtime.Scrub(string(body), secrets...)) // a backend may echo the key
	var j struct {
		Error struct {
			Message string `json:"message"`
			Code    any    `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &j) == nil && j.Error.Message != "" {
		e.Message = j.Error.Message
		if j.Error.Code != nil {
			e.Code = fmt.Sprint(j.Error.Code)
		}
		return e
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	e.Message = msg
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// send writes one client event, or queues it until the data channel opens.
func (c *conn) send(ev events.Event) {
	ev = c.tagEvent(ev)
	b, err := events.Marshal(c.dialect, ev)
	if err != nil {
		c.s.emit(Event{Kind: EventError, Err: fmt.Errorf("rtc: events.Marshal %v: %w", ev.Type(), err)})
		return
	}
	if !c.dcOpen {
		c.pending = append(c.pending, b)
		return
	}
	c.write(b)
}

func (c *conn) write(b []byte) {
	if c.ws != nil {
		c.ws.sendText(b)
		return
	}
	if err := c.dc.SendText(string(b)); err != nil {
		c.s.emit(Event{Kind: EventError, Err: fmt.Errorf("rtc: DataChannel.SendText: %w", err)})
	}
}

// close tears the connection down and joins its goroutines.
func (c *conn) close() {
	if c == nil {
		return
	}
	select {
	case <-c.done:
		return
	default:
	}
	c.hangUp()
	c.s.cancelTools(c, "the connection ended")
	close(c.done)
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	if c.ws != nil {
		c.ws.close()
	}
	if c.pc != nil {
		if err := c.pc.Close(); err != nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
			c.s.cfg.log.Debug("rtc: PeerConnection.Close", "err", err)
		}
	}
	c.wg.Wait()
}
