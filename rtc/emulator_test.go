package rtc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/logging"
	"github.com/pion/transport/v5/test"
	"github.com/pion/transport/v5/vnet"
)

func startEmulator(t testing.TB, opts ...emulator.Option) *emulator.Server {
	t.Helper()
	srv, err := emulator.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	return srv
}

func mintSource(srv *emulator.Server, profile string, n *atomic.Int32) KeySource {
	return KeySourceFunc(func(ctx context.Context) (realtime.Key, error) {
		n.Add(1)
		return srv.MintKey(ctx, profile)
	})
}

// TestEmulatorTurn: a push-to-talk turn against the emulator in both dialects; the
// emulator plays the turn back, so the 1 kHz tone must come back at its level, with the
// client and server events in protocol order.
func TestEmulatorTurn(t *testing.T) {
	defer test.CheckRoutines(t)()
	for _, tr := range []Transport{TransportWebRTC, TransportWebSocket} {
		for _, profile := range []string{"openai", "azure", "azure-preview"} {
			t.Run(tr.String()+"/"+profile, func(t *testing.T) { emulatorTurn(t, tr, profile) })
		}
	}
}

func emulatorTurn(t *testing.T, tr Transport, profile string) {
	{
		{
			srv := startEmulator(t)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			key, err := srv.MintKey(ctx, profile)
			if err != nil {
				t.Fatal(err)
			}
			s, err := New(key, testOpts(WithSessionConfig(pttConfig()), WithTransport(tr))...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			sp := startSpeaker(s)
			defer sp.close()
			s.Start(ctx)
			if e := waitFor(t, s, 5*time.Second, isState(StateConnected)); e.Transport != tr {
				t.Errorf("connected over %v, want %v", e.Transport, tr)
			}
			waitSessionUpdated(ctx, t, srv, key.Dialect)
			s.Press()
			var ph float64
			feedTone(s, 1000, 400*time.Millisecond, &ph)
			s.Release()
			waitFor(t, s, 3*time.Second, isKind(EventSpeakingStarted))
			waitFor(t, s, 3*time.Second, isKind(EventSpeakingStopped))
			// The emulator echoes the committed turn.
			c := waitPlayedOut(t, srv, s)
			if len(c.Turns) != 1 {
				t.Fatalf("emulator committed %d turns, want 1", len(c.Turns))
			}
			turn := c.Turns[0]
			if turn.Duration < 350*time.Millisecond {
				t.Errorf("committed turn holds %v (%d packets) of the 400 ms fed, want ≥ 350 ms", turn.Duration, turn.Packets)
			}
			out, _ := sp.snapshot()
			a := active(out)
			// What was played is measured against what the emulator echoed (the turn),
			// not against the wall clock.
			if played := time.Duration(len(a)) * time.Second / 48000; played < turn.Duration-20*time.Millisecond { // one packet; the Opus delay trims ~7 ms
				t.Fatalf("played %v of the %v turn the emulator echoed (%d packets sent, %d received, %d lost; stats %+v)",
					played, turn.Duration, c.PacketsOut, s.Stats().PacketsReceived, s.Stats().PacketsLost, s.Stats())
			}
			at, total := toneAt(a[4800:len(a)-4800], 1000)
			want := 0.5 / math.Sqrt2
			if math.Abs(at-want) > 0.2*want || at < 0.9*total {
				t.Errorf("1 kHz RMS %.3f (total %.3f), want %.3f ±20%%", at, total, want)
			}
			checkTurnEvents(t, srv, key.Dialect, tr)
			sent := s.Stats().PacketsSent
			feedTone(s, 1000, 100*time.Millisecond, &ph) // released: the mic is not sent
			if now := s.Stats().PacketsSent; now != sent {
				t.Errorf("%d packets sent while released", now-sent)
			}
			st := s.Stats()
			t.Logf("%s: press→first packet %v, connect %v (ICE+DTLS %v), sent %d, received %d, played %v (active %v of a %v turn)", profile,
				st.PressToFirstPacket, st.ConnectTime, st.HandshakeTime, st.PacketsSent, st.PacketsReceived, st.PlayedTime,
				time.Duration(len(a))*time.Second/48000, turn.Duration)
		}
	}
}

// waitSessionUpdated waits until the emulator has answered the session.update.
func waitSessionUpdated(ctx context.Context, t *testing.T, srv *emulator.Server, d realtime.Dialect) {
	t.Helper()
	if err := srv.WaitStats(ctx, func(st emulator.Stats) bool {
		c, ok := st.LastCall()
		return ok && slices.Contains(c.ServerEvents, events.TypeSessionUpdated.Name(d))
	}); err != nil {
		t.Fatal(err)
	}
}

// waitPlayedOut waits until every packet the emulator echoed arrived (or was declared
// lost) and the speaker played all that was decoded: on a loaded machine the speaker
// goroutine runs late, and a fixed sleep cut off the tail of the answer. It returns the
// emulator's view of the call.
func waitPlayedOut(t *testing.T, srv *emulator.Server, s *Session) emulator.CallStats {
	t.Helper()
	c, _ := srv.Stats().LastCall()
	deadline := time.Now().Add(5 * time.Second)
	for st := s.Stats(); st.PacketsReceived+st.PacketsLost < c.PacketsOut || st.DecodedTime == 0 || st.PlayedTime < st.DecodedTime; st = s.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("answer not played out within 5 s: emulator sent %d packets; received %d, lost %d, decoded %v, played %v",
				c.PacketsOut, st.PacketsReceived, st.PacketsLost, st.DecodedTime, st.PlayedTime)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return c
}

// checkTurnEvents checks the client and server events of one push-to-talk turn on the
// emulator's last call, in protocol order.
func checkTurnEvents(t *testing.T, srv *emulator.Server, d realtime.Dialect, tr Transport) {
	t.Helper()
	c, _ := srv.Stats().LastCall()
	wantClient := []string{"session.update", "input_audio_buffer.clear", "input_audio_buffer.commit", "response.create"}
	if !slices.Equal(c.ClientEvents, wantClient) {
		t.Errorf("client events %q, want %q", c.ClientEvents, wantClient)
	}
	order := []string{events.TypeSessionCreated.Name(d), events.TypeSessionUpdated.Name(d), events.TypeInputAudioBufferCleared.Name(d),
		events.TypeInputAudioBufferCommitted.Name(d), events.TypeResponseCreated.Name(d), events.TypeOutputAudioBufferStarted.Name(d),
		events.TypeResponseDone.Name(d), events.TypeOutputAudioBufferStopped.Name(d)}
	if tr == TransportWebSocket { // output_audio_buffer.* is WebRTC-only: the audio arrives as deltas
		order = []string{events.TypeSessionCreated.Name(d), events.TypeSessionUpdated.Name(d), events.TypeInputAudioBufferCleared.Name(d),
			events.TypeInputAudioBufferCommitted.Name(d), events.TypeResponseCreated.Name(d), events.TypeResponseDone.Name(d)}
	}
	if !subsequence(c.ServerEvents, order) {
		t.Errorf("server events %q do not contain %q in order", c.ServerEvents, order)
	}
}

func subsequence(have, want []string) bool {
	i := 0
	for _, h := range have {
		if i < len(want) && h == want[i] {
			i++
		}
	}
	return i == len(want)
}

// TestEmulatorFaults: each emulator fault ends in the documented state.
// faultCase is one fault of TestEmulatorFaults and what it must end in.
type faultCase struct {
	name      string
	faults    emulator.Faults
	noSource  bool
	clearOn   State // clear the faults once this state is seen (0 = never)
	want      State
	wantErr   error
	minMints  int32
	reconnect bool // expect Connected → Disconnected → Reconnecting → Connected
	mintAfter bool // mint the first key with the faults on
}

func TestEmulatorFaults(t *testing.T) {
	defer test.CheckRoutines(t)()
	cases := []faultCase{
		{name: "SDP 401 without a key source: closed", faults: emulator.Faults{SDPStatus: 401}, noSource: true, want: StateClosed, wantErr: ErrUnauthorized},
		{name: "SDP 401 once: fresh key connects", faults: emulator.Faults{SDPStatus: 401, SDPFailures: 1}, want: StateConnected, minMints: 1},
		{name: "SDP 500 twice: retried", faults: emulator.Faults{SDPStatus: 500, SDPFailures: 2}, want: StateConnected, minMints: 2},
		{name: "expired keys: retried with fresh keys", faults: emulator.Faults{ExpiredKeys: true}, mintAfter: true, clearOn: StateDisconnected, want: StateConnected, minMints: 2},
		{name: "expired key without a key source: closed", faults: emulator.Faults{ExpiredKeys: true}, mintAfter: true, noSource: true, want: StateClosed, wantErr: ErrNoKey},
		{name: "answer delayed past the connect timeout", faults: emulator.Faults{AnswerDelay: 1500 * time.Millisecond}, clearOn: StateDisconnected, want: StateConnected, minMints: 1},
		{name: "peer connection dropped", faults: emulator.Faults{DropAfter: 300 * time.Millisecond}, reconnect: true, want: StateConnected, minMints: 1},
		{name: "session lifetime reached", faults: emulator.Faults{SessionLifetime: 300 * time.Millisecond}, reconnect: true, want: StateConnected, minMints: 1},
		{name: "data channel closed", faults: emulator.Faults{CloseDataChannelAfter: 300 * time.Millisecond}, reconnect: true, want: StateConnected, minMints: 1},
	}
	for _, tr := range []Transport{TransportWebRTC, TransportWebSocket} {
		for _, tc := range cases {
			t.Run(tr.String()+"/"+tc.name, func(t *testing.T) { emulatorFault(t, tr, tc) })
		}
	}
}

// emulatorFault runs one case of TestEmulatorFaults over tr.
func emulatorFault(t *testing.T, tr Transport, tc faultCase) {
	{
		{
			srv := startEmulator(t)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var key realtime.Key
			if tc.mintAfter {
				// the service mints keys that are already expired: the real provider
				// refuses them, so the session starts with an expired key handed to it
				// directly (as one that aged in the key daemon would be)
				srv.SetFaults(tc.faults)
				if _, err := srv.MintKey(ctx, "openai"); err == nil || !strings.Contains(err.Error(), "not in the future") {
					t.Fatalf("minting with the expired-keys fault: %v, want the provider to refuse the key", err)
				}
				key = srv.NewKey(events.GA, -time.Second)
			} else {
				var err error
				if key, err = srv.MintKey(ctx, "openai"); err != nil {
					t.Fatal(err)
				}
			}
			srv.SetFaults(tc.faults)
			var mints atomic.Int32
			opts := testOpts(WithConnectTimeout(time.Second), WithTransport(tr))
			if !tc.noSource {
				opts = append(opts, WithKeySource(mintSource(srv, "openai", &mints)))
			}
			s, err := New(key, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.Start(ctx)
			var seen []State
			var last Event
			for done := false; !done; {
				e := waitFor(t, s, 10*time.Second, isKind(EventState))
				seen = append(seen, e.State)
				last = e
				if tc.clearOn != 0 && e.State == tc.clearOn {
					srv.SetFaults(emulator.Faults{})
				}
				switch {
				case e.State == StateClosed:
					done = true
				case e.State == StateConnected && tc.reconnect:
					if slices.Contains(seen, StateReconnecting) {
						done = true
					}
				case e.State == StateConnected:
					done = true
				}
			}
			if last.State != tc.want {
				t.Fatalf("ended in %v (%v), want %v; states %v", last.State, last.Err, tc.want, seen)
			}
			if tc.wantErr != nil && !errors.Is(last.Err, tc.wantErr) {
				t.Errorf("err %v, want %v", last.Err, tc.wantErr)
			}
			if errors.Is(tc.wantErr, ErrUnauthorized) {
				var he *HTTPError
				if !errors.As(last.Err, &he) || he.Message == "" {
					t.Errorf("err %v does not carry the server's message", last.Err)
				}
			}
			if mints.Load() < tc.minMints {
				t.Errorf("%d fresh keys, want ≥ %d", mints.Load(), tc.minMints)
			}
			if tc.reconnect {
				i := slices.Index(seen, StateDisconnected)
				if i < 0 || !slices.Equal(seen[:i+1], []State{StateConnecting, StateConnected, StateDisconnected}) {
					t.Errorf("states %v", seen)
				}
			}
			t.Logf("states %v; last cause %v", seen, last.Err)
		}
	}
}

// lossNet is a pion virtual network: emulator at 10.210.0.2, client at 10.210.0.3, with
// random loss on the server→client direction while on.
type lossNet struct {
	router       *vnet.Router
	srv, cli     *vnet.Net
	rate         atomic.Uint64 // math.Float64bits of the loss probability
	dropped, all atomic.Int64
	mu           sync.Mutex
	rng          *rand.Rand // seeded: the same drop pattern each run
}

func newLossNet(t *testing.T) *lossNet {
	ln := &lossNet{rng: rand.New(rand.NewPCG(1, 2))}
	var err error
	ln.router, err = vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.210.0.0/24", MinDelay: 2 * time.Millisecond, LoggerFactory: logging.NewDefaultLoggerFactory()})
	if err != nil {
		t.Fatal(err)
	}
	srvIP := net.ParseIP("10.210.0.2")
	ln.router.AddChunkFilter(func(c vnet.Chunk) bool {
		if c.Network() != "udp" || !c.SourceAddr().(*net.UDPAddr).IP.Equal(srvIP) {
			return true
		}
		p := math.Float64frombits(ln.rate.Load())
		if p == 0 {
			return true
		}
		ln.all.Add(1)
		ln.mu.Lock()
		drop := ln.rng.Float64() < p
		ln.mu.Unlock()
		if drop {
			ln.dropped.Add(1)
			return false
		}
		return true
	})
	if ln.srv, err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.210.0.2"}}); err != nil {
		t.Fatal(err)
	}
	if ln.cli, err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.210.0.3"}}); err != nil {
		t.Fatal(err)
	}
	if err := ln.router.AddNet(ln.srv); err != nil {
		t.Fatal(err)
	}
	if err := ln.router.AddNet(ln.cli); err != nil {
		t.Fatal(err)
	}
	if err := ln.router.Start(); err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestLoss: over a virtual network with random loss on the downlink the session stays
// up and FEC/PLC keep concealed time at most 0.6 × the loss rate.
func TestLoss(t *testing.T) {
	rates := []float64{0.10}
	if testingSlow() {
		rates = []float64{0.05, 0.10, 0.20}
	}
	for _, p := range rates {
		t.Run(fmt.Sprintf("%.0f%%", p*100), func(t *testing.T) { lossRun(t, p) })
	}
}

func testingSlow() bool { return slowEnv() }

func lossRun(t *testing.T, p float64) {
	defer test.CheckRoutines(t)()
	ln := newLossNet(t)
	defer ln.router.Stop()
	srv := startEmulator(t, emulator.WithNet(ln.srv))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key, err := srv.MintKey(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(key, WithNet(ln.cli), WithNetworkTypes("udp4"), WithLoopbackCandidates(false),
		WithReleaseSettle(100*time.Millisecond), WithSessionConfig(pttConfig()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sp := startSpeaker(s)
	defer sp.close()
	s.Start(ctx)
	waitFor(t, s, 10*time.Second, isState(StateConnected))
	time.Sleep(200 * time.Millisecond)
	speech := speechClip(t, 2*time.Second)
	s.Press()
	tk := time.NewTicker(10 * time.Millisecond)
	for i := 0; i+480 <= len(speech); i += 480 {
		s.WriteMic(speech[i : i+480])
		<-tk.C
	}
	tk.Stop()
	s.Release()
	waitFor(t, s, 5*time.Second, isKind(EventThinking))
	before := s.Stats()
	ln.rate.Store(math.Float64bits(p))
	waitFor(t, s, 10*time.Second, isKind(EventSpeakingStarted))
	waitFor(t, s, 10*time.Second, isKind(EventSpeakingStopped))
	time.Sleep(300 * time.Millisecond)
	ln.rate.Store(0)
	st := s.Stats()
	lost := st.PacketsLost - before.PacketsLost
	rec := st.PacketsRecovered - before.PacketsRecovered
	conc := st.ConcealedTime - before.ConcealedTime
	total := st.DecodedTime - before.DecodedTime
	frac := conc.Seconds() / total.Seconds()
	t.Logf("loss %.0f%%: dropped %d/%d downlink chunks; jitter buffer: %d lost, %d FEC-recovered, concealed %v of %v (%.1f%%, limit %.1f%%); state %v",
		p*100, ln.dropped.Load(), ln.all.Load(), lost, rec, conc, total, frac*100, p*60, s.State())
	if s.State() != StateConnected {
		t.Errorf("state %v after the loss run", s.State())
	}
	if ln.dropped.Load() == 0 || lost == 0 {
		t.Errorf("no loss happened (dropped %d, lost %d)", ln.dropped.Load(), lost)
	}
	if total < time.Second {
		t.Errorf("only %v decoded", total)
	}
	if frac > p*0.6 {
		t.Errorf("concealed %.1f%% of the response, want ≤ %.1f%% (0.6 × loss)", frac*100, p*60)
	}
}

// TestOpenMicServerVAD: with server_vad the mic is sent from the press on and the emulator's VAD
// ends the turn and answers; talking over the answer makes the server clear its audio
// (speech_started, output_audio_buffer.cleared), and the local playout stops at once.
func TestOpenMicServerVAD(t *testing.T) {
	defer test.CheckRoutines(t)()
	for _, tr := range []Transport{TransportWebRTC, TransportWebSocket} {
		t.Run(tr.String(), func(t *testing.T) { openMicServerVAD(t, tr) })
	}
}

// openMicServerVAD runs TestOpenMicServerVAD over tr. On WebSocket the service sends
// no output_audio_buffer.cleared: the client stops the audio on speech_started and
// truncates the item itself.
func openMicServerVAD(t *testing.T, tr Transport) {
	srv := startEmulator(t, emulator.WithServerVAD(nil))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	key, err := srv.MintKey(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	cfg := events.Session{TurnDetection: events.TurnDetection{Type: events.TurnDetectionServerVAD, SilenceDurationMS: 300}}
	s, err := New(key, testOpts(WithSessionConfig(cfg), WithTransport(tr))...)
	if err != nil {
		t.Fatal(err)
	}
	sp := startSpeaker(s)
	defer sp.close()
	rec := recordEvents(s)
	defer func() { s.Close(); <-rec.done }()
	s.Start(ctx)
	rec.wait(t, 5*time.Second, isState(StateConnected))
	s.Press() // talk opens the mic; the service's VAD ends each turn while it is open
	var ph float64
	feedTone(s, 1000, 600*time.Millisecond, &ph)
	feedSilence(s, 500*time.Millisecond) // the mic stays open: silence ends the turn
	rec.wait(t, 5*time.Second, isKind(EventSpeakingStarted))
	time.Sleep(150 * time.Millisecond)
	if _, real := sp.snapshot(); sum(real) == 0 {
		t.Fatal("the answer is not playing")
	}
	feedTone(s, 1000, 300*time.Millisecond, &ph) // the user talks over the answer
	stopped := rec.wait(t, 3*time.Second, isKind(EventSpeakingStopped))
	time.Sleep(150 * time.Millisecond)
	sp.mu.Lock()
	late := 0
	for i, at := range sp.at {
		if at.After(stopped) {
			late += sp.real[i]
		}
	}
	sp.mu.Unlock()
	if late > 0 {
		t.Errorf("%d samples of the interrupted answer played after the server cleared it", late)
	}
	c, _ := srv.Stats().LastCall()
	if slices.Contains(c.ClientEvents, "input_audio_buffer.commit") || slices.Contains(c.ClientEvents, "input_audio_buffer.clear") {
		t.Errorf("open mic: the client managed the input buffer itself: %q", c.ClientEvents)
	}
	if tr == TransportWebSocket {
		if !slices.Contains(c.ClientEvents, "conversation.item.truncate") || len(c.Turns) == 0 {
			t.Errorf("no VAD turn or no truncate of the interrupted answer; client events %q", c.ClientEvents)
		}
		return
	}
	if !slices.Contains(c.ServerEvents, "output_audio_buffer.cleared") || len(c.Turns) == 0 {
		t.Errorf("no VAD turn or no server-side clear; server events %q", c.ServerEvents)
	}
}

// eventRecorder drains a session's events with their arrival times.
type eventRecorder struct {
	mu   sync.Mutex
	evs  []Event
	at   []time.Time
	done chan struct{}
	next int
}

func recordEvents(s *Session) *eventRecorder {
	r := &eventRecorder{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for e := range s.Events() {
			r.mu.Lock()
			r.evs, r.at = append(r.evs, e), append(r.at, time.Now())
			r.mu.Unlock()
		}
	}()
	return r
}

// wait returns the arrival time of the next event (after the previous match) that matches.
func (r *eventRecorder) wait(t *testing.T, d time.Duration, match func(Event) bool) time.Time {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		r.mu.Lock()
		for ; r.next < len(r.evs); r.next++ {
			if match(r.evs[r.next]) {
				at := r.at[r.next]
				t.Logf("event: %v", r.evs[r.next])
				r.next++
				r.mu.Unlock()
				return at
			}
		}
		r.mu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("no matching event in %v", d)
	return time.Time{}
}

func feedSilence(s *Session, d time.Duration) {
	chunk := make([]float32, 480)
	tk := time.NewTicker(10 * time.Millisecond)
	defer tk.Stop()
	for range int(d / (10 * time.Millisecond)) {
		s.WriteMic(chunk)
		<-tk.C
	}
}

func sum(x []int) int {
	n := 0
	for _, v := range x {
		n += v
	}
	return n
}

// TestICETCPOnly: with only TCP4 allowed (outbound UDP blocked) the session reaches the
// emulator's passive ICE-TCP candidate, as it would the service's TCP 443 one.
func TestICETCPOnly(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := startEmulator(t, emulator.WithICETCP())
	defer srv.Close()
	s, err := New(srv.NewKey(events.GA, time.Minute), testOpts(WithNetworkTypes("tcp4"))...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Start(context.Background())
	waitFor(t, s, 10*time.Second, isState(StateConnected))
	s.Press()
	var ph float64
	feedTone(s, 1000, 200*time.Millisecond, &ph)
	s.Release()
	waitFor(t, s, 3*time.Second, isKind(EventSpeakingStarted))
	c, _ := srv.Stats().LastCall()
	if c.PacketsIn < 9 {
		t.Errorf("emulator got %d packets over ICE-TCP, want ≥ 9", c.PacketsIn)
	}
}

// TestPreRollBoundedSkip: when connecting takes longer than the pre-roll, the oldest
// audio is dropped (counted in MicDropped) and the rest arrives.
func TestPreRollBoundedSkip(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := startEmulator(t)
	defer srv.Close()
	srv.SetFaults(emulator.Faults{AnswerDelay: 400 * time.Millisecond})
	s, err := New(srv.NewKey(events.GA, time.Minute), testOpts(WithSessionConfig(pttConfig()), WithPreRoll(100*time.Millisecond, 2))...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Press()
	s.Start(context.Background())
	var ph float64
	feedTone(s, 1000, 800*time.Millisecond, &ph)
	s.Release()
	waitFor(t, s, 3*time.Second, isKind(EventThinking))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.WaitStats(ctx, func(st emulator.Stats) bool { c, ok := st.LastCall(); return ok && len(c.Turns) > 0 }); err != nil {
		t.Fatal(err)
	}
	c, _ := srv.Stats().LastCall()
	st := s.Stats()
	got := c.Turns[0].Duration
	dropped := time.Duration(st.MicDropped) * time.Second / 48000
	t.Logf("800 ms spoken, connect %v: peer got %v, %v dropped from the 100 ms pre-roll", st.ConnectTime.Round(time.Millisecond), got, dropped)
	if dropped < 200*time.Millisecond || got > 700*time.Millisecond || got < 300*time.Millisecond {
		t.Errorf("peer got %v with %v dropped; want the oldest ≥ 200 ms dropped and the rest delivered", got, dropped)
	}
	if sum := got + dropped; sum < 780*time.Millisecond || sum > 840*time.Millisecond {
		t.Errorf("delivered + dropped = %v, want ≈ 800 ms (nothing else lost)", sum)
	}
}
