package rtc

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/emulator"
	"github.com/pion/logging"
	"github.com/pion/transport/v5/test"
	"github.com/pion/transport/v5/vnet"
)

// blockedNet is a pion virtual network whose router drops every packet: the emulator's
// ICE at 10.211.0.2 and the device's at 10.211.0.3 gather host candidates, but no
// connectivity check gets through, as behind a firewall that blocks UDP. The virtual
// network has no TCP at all, so ICE-TCP cannot connect either. HTTP and the WebSocket
// still go over the host's loopback, like HTTPS through a network that passes only
// TCP 443.
type blockedNet struct {
	router   *vnet.Router
	srv, cli *vnet.Net
	dropped  atomic.Int64
}

func newBlockedNet(t *testing.T) *blockedNet {
	b := &blockedNet{}
	var err error
	if b.router, err = vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.211.0.0/24", LoggerFactory: logging.NewDefaultLoggerFactory()}); err != nil {
		t.Fatal(err)
	}
	b.router.AddChunkFilter(func(vnet.Chunk) bool { b.dropped.Add(1); return false })
	if b.srv, err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.211.0.2"}}); err != nil {
		t.Fatal(err)
	}
	if b.cli, err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.211.0.3"}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*vnet.Net{b.srv, b.cli} {
		if err := b.router.AddNet(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.router.Start(); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAutoFallsBackWhenICEIsBlocked: both ends gather candidates and the SDP exchange
// works, but the network drops every ICE packet (UDP) and offers no TCP path; auto gives
// up on WebRTC at the connect timeout, connects over WebSocket, and a push-to-talk turn
// is answered there. The same session with transport webrtc stays offline, which shows
// the block is real.
func TestAutoFallsBackWhenICEIsBlocked(t *testing.T) {
	defer test.CheckRoutines(t)()
	bn := newBlockedNet(t)
	defer func() { _ = bn.router.Stop() }()
	srv := startEmulator(t, emulator.WithNet(bn.srv))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	key, err := srv.MintKey(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	opts := func(tr Transport) []Option {
		return []Option{WithTransport(tr), WithNet(bn.cli), WithNetworkTypes("udp4", "tcp4"), WithLoopbackCandidates(false),
			WithConnectTimeout(2 * time.Second), WithICETimeouts(time.Second, 1500*time.Millisecond, 500*time.Millisecond),
			WithBackoff(20*time.Millisecond, 200*time.Millisecond), WithSessionConfig(pttConfig())}
	}

	// WebRTC alone cannot connect: the router drops its checks.
	only, err := New(key, opts(TransportWebRTC)...)
	if err != nil {
		t.Fatal(err)
	}
	recOnly := recordEvents(only)
	only.Start(ctx)
	recOnly.wait(t, 20*time.Second, func(e Event) bool { return e.Kind == EventState && e.State == StateDisconnected })
	if err := only.Close(); err != nil {
		t.Fatal(err)
	}
	if n := bn.dropped.Load(); n == 0 {
		t.Fatal("the router dropped nothing: ICE did not even try the virtual network")
	}
	if n := srv.Stats().CallsConnected; n != 0 {
		t.Fatalf("%d WebRTC calls connected through the blocked network", n)
	}

	key, err = srv.MintKey(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(key, opts(TransportAuto)...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sp := startSpeaker(s)
	defer sp.close()
	fallbackTurn(ctx, t, srv, s, recordEvents(s), key.Dialect, fmt.Sprintf("ICE blocked (%d packets dropped)", bn.dropped.Load()))
}
