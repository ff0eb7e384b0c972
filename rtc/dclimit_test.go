package rtc

import (
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// dcPair connects a peer connection set up as the appliance's (limitSCTP) with a plain
// pion peer on loopback and returns the peer's end of the appliance's data channel and
// the sizes of the messages the appliance's end receives. munge makes the peer ignore
// the a=max-message-size the appliance advertises (a hostile or broken peer).
func dcPair(t *testing.T, munge bool) (*webrtc.DataChannel, <-chan int) {
	t.Helper()
	ours := webrtc.SettingEngine{}
	ours.SetIncludeLoopbackCandidate(true)
	ours.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	limitSCTP(&ours)
	theirs := webrtc.SettingEngine{}
	theirs.SetIncludeLoopbackCandidate(true)
	theirs.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	a, err := webrtc.NewAPI(webrtc.WithSettingEngine(ours)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := webrtc.NewAPI(webrtc.WithSettingEngine(theirs)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	got := make(chan int, 16)
	ordered := true
	dc, err := a.CreateDataChannel("oai-events", &webrtc.DataChannelInit{Ordered: &ordered})
	if err != nil {
		t.Fatal(err)
	}
	dc.OnMessage(func(m webrtc.DataChannelMessage) { got <- len(m.Data) })
	open := make(chan *webrtc.DataChannel, 1)
	b.OnDataChannel(func(d *webrtc.DataChannel) { d.OnOpen(func() { open <- d }) })
	offer, err := a.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	ga := webrtc.GatheringCompletePromise(a)
	if err := a.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-ga
	sdp := a.LocalDescription().SDP
	if want := "a=max-message-size:1048576"; !strings.Contains(sdp, want) {
		t.Fatalf("our offer does not advertise %s:\n%s", want, sdp)
	}
	if munge {
		sdp = maxMsgRe.ReplaceAllString(sdp, "a=max-message-size:1073741823")
	}
	if err := b.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		t.Fatal(err)
	}
	answer, err := b.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gb := webrtc.GatheringCompletePromise(b)
	if err := b.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-gb
	if err := a.SetRemoteDescription(*b.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	select {
	case peer := <-open:
		small := strings.Repeat("x", 100<<10)
		if err := peer.SendText(small); err != nil {
			t.Fatal(err)
		}
		select {
		case n := <-got:
			if n != len(small) {
				t.Fatalf("got %d bytes, want %d", n, len(small))
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a 100 KiB message did not arrive within 30 s")
		}
		return peer, got
	case <-time.After(30 * time.Second):
		t.Fatal("the data channel did not open within 30 s")
	}
	return nil, nil
}

// TestDataChannelMessageCap: pion advertises (and, growing its read buffer, accepts)
// data-channel messages of about 1 GiB by default. The appliance advertises
// maxDCMessage, so a peer that honours it cannot send more; and its SCTP receive
// buffer is maxDCMessage, so a peer that ignores it cannot get a bigger message
// delivered (pion v4.2's reader does not enforce its own max message size: its check
// sees n = 0 on a short buffer).
func TestDataChannelMessageCap(t *testing.T) {
	if testing.Short() {
		t.Skip("a loopback WebRTC pair")
	}
	big := strings.Repeat("y", maxDCMessage*3/2)
	t.Run("peer honours the limit", func(t *testing.T) {
		peer, _ := dcPair(t, false)
		if err := peer.SendText(big); err == nil {
			t.Fatalf("the peer sent %d bytes over the advertised %d", len(big), maxDCMessage)
		}
	})
	t.Run("peer ignores the limit", func(t *testing.T) {
		peer, got := dcPair(t, true)
		if err := peer.SendText(big); err != nil {
			t.Fatalf("the peer could not send: %v", err)
		}
		select {
		case n := <-got:
			t.Fatalf("a %d-byte message was delivered (cap %d)", n, maxDCMessage)
		case <-time.After(3 * time.Second):
			// not delivered (the association stalls on a message its receive buffer
			// cannot hold); a slow machine can only make this pass, never fail
		}
	})
}

// TestAcceptDCMessage: the OnMessage check refuses binary and oversized events.
func TestAcceptDCMessage(t *testing.T) {
	for _, tc := range []struct {
		m    webrtc.DataChannelMessage
		want bool
	}{
		{webrtc.DataChannelMessage{IsString: true, Data: []byte(`{"type":"x"}`)}, true},
		{webrtc.DataChannelMessage{IsString: false, Data: []byte(`{"type":"x"}`)}, false},
		{webrtc.DataChannelMessage{IsString: true, Data: make([]byte, maxDCMessage)}, true},
		{webrtc.DataChannelMessage{IsString: true, Data: make([]byte, maxDCMessage+1)}, false},
	} {
		if got := acceptDCMessage(tc.m); got != tc.want {
			t.Errorf("string %v, %d bytes: %v, want %v", tc.m.IsString, len(tc.m.Data), got, tc.want)
		}
	}
}
