package emulator

import (
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/logging"
	"github.com/pion/transport/v5/test"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"
)

// TestICETCP: a client with only TCP4 enabled reaches the emulator's passive ICE-TCP
// candidate (the service's TCP 443 fallback).
func TestICETCP(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t, WithICETCP())
	defer srv.Close()
	key := srv.NewKey(events.GA, time.Minute)
	c, offer := newClientWith(t, events.GA, clientAPI(t, nil, true))
	defer c.close()
	status, _, answer := postOffer(t, key.SDPURL, key.Value, "application/sdp", offer)
	if status != 201 || !strings.Contains(answer, "tcptype passive") {
		t.Fatalf("HTTP %d; answer without a passive TCP candidate:\n%s", status, answer)
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.open:
	case <-time.After(10 * time.Second):
		t.Fatal("no data channel over ICE-TCP")
	}
	c.expect(events.TypeSessionCreated)
	pair, err := selectedPair(c.pc)
	if err != nil || !strings.Contains(pair, "tcp") {
		t.Errorf("selected pair %q (%v), want TCP", pair, err)
	}
}

func selectedPair(pc *webrtc.PeerConnection) (string, error) {
	for _, tr := range pc.GetTransceivers() {
		if s := tr.Sender(); s != nil {
			p, err := s.Transport().ICETransport().GetSelectedCandidatePair()
			if err != nil || p == nil {
				return "", err
			}
			return p.Local.Protocol.String() + " " + p.String(), nil
		}
	}
	return "", nil
}

// TestVirtualNetworkLoss: over pion's virtual network with 10% random loss on media the
// call stays up, a turn gets through (NACK recovers part of the loss) and the counters
// show what arrived.
func TestVirtualNetworkLoss(t *testing.T) {
	defer test.CheckRoutines(t)()
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.200.0.0/24", MinDelay: 5 * time.Millisecond, LoggerFactory: logging.NewDefaultLoggerFactory()})
	if err != nil {
		t.Fatal(err)
	}
	var lossOn atomic.Bool
	var dropped atomic.Int64
	wan.AddChunkFilter(func(c vnet.Chunk) bool {
		if lossOn.Load() && rand.Float64() < 0.10 {
			dropped.Add(1)
			return false
		}
		return true
	})
	srvNet, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.200.0.2"}})
	if err != nil {
		t.Fatal(err)
	}
	cliNet, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.200.0.3"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := wan.AddNet(srvNet); err != nil {
		t.Fatal(err)
	}
	if err := wan.AddNet(cliNet); err != nil {
		t.Fatal(err)
	}
	if err := wan.Start(); err != nil {
		t.Fatal(err)
	}
	defer wan.Stop()

	srv := start(t, WithNet(srvNet))
	defer srv.Close()
	c := dialWith(t, srv.NewKey(events.Preview, time.Minute), clientAPI(t, cliNet, false))
	defer c.close()
	c.expect(events.TypeSessionCreated)
	c.send(sessionUpdatePTT())
	c.expect(events.TypeSessionUpdated)

	lossOn.Store(true)
	const n = 60
	c.sendAudio(n, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // in-flight packets and retransmissions land
	c.send(events.InputAudioBufferCommit{})
	var committed bool
	for !committed {
		_, committed = c.next().(events.InputAudioBufferCommitted)
	}
	c.send(events.ResponseCreate{})
	for {
		if _, ok := c.next().(events.OutputAudioBufferStopped); ok {
			break
		}
	}
	lossOn.Store(false)
	st := srv.Stats()
	call, _ := st.LastCall()
	got := len(c.received())
	t.Logf("10%% loss: %d chunks dropped; server got %d/%d packets (turn %d), client got %d/%d echoed",
		dropped.Load(), call.PacketsIn, n, call.Turns[0].Packets, got, call.Turns[0].Packets)
	if dropped.Load() == 0 {
		t.Error("the loss filter dropped nothing")
	}
	if call.PacketsIn < n*7/10 || call.Turns[0].Packets < n*7/10 || got < call.Turns[0].Packets*6/10 {
		t.Errorf("too little came through 10%% loss: server %d, client %d", call.PacketsIn, got)
	}
	if call.State != webrtc.PeerConnectionStateConnected.String() {
		t.Errorf("call state %s after the loss run", call.State)
	}
}
