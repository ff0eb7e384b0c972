package rtc

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/webrtc/v4"
)

// TestHotPathsNoAllocs: the per-frame uplink (WriteMic → frame → Opus → WriteSample on
// a track pion has not bound, so only our code and libopus run), the downlink decode
// step and ReadSpeaker allocate nothing.
func TestHotPathsNoAllocs(t *testing.T) {
	s, err := New(testKey(), WithLoopbackOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tgt := unboundTarget(t)
	s.upTrack.Store(tgt)
	s.micLive.Store(true)
	u := &uplinker{s: s, tokens: 3}
	chunk := make([]float32, 960)
	for i := range chunk {
		chunk[i] = float32(0.3 * math.Sin(float64(i)*0.13))
	}
	if a := testing.AllocsPerRun(100, func() {
		s.WriteMic(chunk)
		u.tokens = 3
		u.step()
	}); a != 0 {
		t.Errorf("uplink: %v allocs per frame", a)
	}
	if s.st.packetsSent.Load() < 100 {
		t.Fatalf("uplink sent %d frames, want ≥ 100", s.st.packetsSent.Load())
	}
	pkt := make([]byte, 1500)
	n, _ := s.enc.Encode(chunk, pkt)
	dec := newTestDecoder(t)
	pcm := make([]float32, 5760)
	last := frameLen
	out := make([]float32, 480)
	if a := testing.AllocsPerRun(100, func() {
		s.decodeStep(dec, stepPacket(pkt[:n]), pcm, &last)
		s.ReadSpeaker(out)
		s.ReadSpeaker(out)
	}); a != 0 {
		t.Errorf("downlink: %v allocs per frame", a)
	}
}

// BenchmarkUplinkFrame: one 20 ms frame through the uplink. "ours" stops at pion's
// WriteSample on an unbound track (our code + libopus); "pion" writes to a connected
// track (pion's packetizer, interceptors and SRTP included).
func BenchmarkUplinkFrame(b *testing.B) {
	chunk := make([]float32, 960)
	for i := range chunk {
		chunk[i] = float32(0.3 * math.Sin(float64(i)*0.13))
	}
	b.Run("ours", func(b *testing.B) {
		s, _ := New(testKey(), WithLoopbackOnly())
		defer s.Close()
		s.upTrack.Store(unboundTarget(b))
		s.micLive.Store(true)
		u := &uplinker{s: s}
		b.ReportAllocs()
		for b.Loop() {
			s.WriteMic(chunk)
			u.tokens = 3
			u.step()
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/frame")
	})
	b.Run("pion", func(b *testing.B) {
		srv := startEmulator(b)
		defer srv.Close()
		s, _ := New(srv.NewKey(events.GA, time.Minute), WithLoopbackOnly())
		defer s.Close()
		s.Start(context.Background())
		for s.upTrack.Load() == nil {
			time.Sleep(time.Millisecond)
		}
		tgt := s.upTrack.Load()
		s.upTrack.Store(nil) // keep the session's own uplink goroutine out of the way
		u := &uplinker{s: s}
		b.ReportAllocs()
		for b.Loop() {
			u.frame = [frameLen]float32(chunk)
			u.send(tgt)
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/frame")
	})
}

// connectOnce makes a fresh session with a prefetched key and the push-to-talk session
// config (as the appliance does: the first packet waits for session.updated), presses,
// starts, feeds the mic in real time, and returns press → first RTP packet and the
// connect figures.
func connectOnce(tb testing.TB, srv *emulator.Server) (first, connect, handshake time.Duration) {
	key := srv.NewKey(events.GA, time.Minute)
	s, err := New(key, WithLoopbackOnly(), WithSessionConfig(pttConfig()))
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	s.Press()
	go func() { // the capture: 10 ms of audio every 10 ms from the press on
		defer wg.Done()
		chunk := make([]float32, 480)
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		for {
			s.WriteMic(chunk)
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	}()
	if err := s.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.st.pressToFirst.Load() == 0 {
		if time.Now().After(deadline) {
			tb.Fatalf("no packet 5 s after the press (state %v)", s.State())
		}
		time.Sleep(500 * time.Microsecond)
	}
	close(stop)
	wg.Wait()
	st := s.Stats()
	return st.PressToFirstPacket, st.ConnectTime, st.HandshakeTime
}

func pct(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(math.Ceil(p*float64(len(s))))-1)]
}

// BenchmarkPressToFirstPacket: press → first RTP packet on loopback against the
// emulator, prefetched key, cold peer connection. Run with -benchtime=50x or more.
func BenchmarkPressToFirstPacket(b *testing.B) {
	srv := startEmulator(b)
	defer srv.Close()
	var first, conn, hs []time.Duration
	for b.Loop() {
		f, c, h := connectOnce(b, srv)
		first, conn, hs = append(first, f), append(conn, c), append(hs, h)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(pct(first, 0.5)), "first-median-ms")
	b.ReportMetric(ms(pct(first, 0.95)), "first-p95-ms")
	b.ReportMetric(ms(pct(conn, 0.5)), "connect-median-ms")
	b.ReportMetric(ms(pct(hs, 0.5)), "ice+dtls-median-ms")
	b.ReportMetric(ms(pct(hs, 0.95)), "ice+dtls-p95-ms")
	b.ReportMetric(ms(slices.Max(first)), "first-max-ms")
}

// TestConnectStalls: 200 loopback connects, none of them ≥ 1 s (EDGEVOICE_SLOW=1).
func TestConnectStalls(t *testing.T) {
	slow(t)
	srv := startEmulator(t)
	defer srv.Close()
	bounds := []time.Duration{25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond,
		250 * time.Millisecond, 500 * time.Millisecond, time.Second}
	hist := make([]int, len(bounds)+1)
	var all []time.Duration
	for range 200 {
		f, _, _ := connectOnce(t, srv)
		all = append(all, f)
		i, _ := slices.BinarySearch(bounds, f)
		if i < len(bounds) && bounds[i] == f {
			i++
		}
		hist[i]++
	}
	var sb strings.Builder
	lo := time.Duration(0)
	for i, n := range hist {
		hi := "∞"
		if i < len(bounds) {
			hi = bounds[i].String()
		}
		fmt.Fprintf(&sb, "\n  [%v, %s): %d", lo, hi, n)
		if i < len(bounds) {
			lo = bounds[i]
		}
	}
	t.Logf("press → first packet over %d connects: median %v, p95 %v, max %v%s", len(all), pct(all, 0.5), pct(all, 0.95), slices.Max(all), sb.String())
	if hist[len(hist)-1] > 0 {
		t.Errorf("%d connects stalled ≥ 1 s", hist[len(hist)-1])
	}
}

var _ = webrtc.MimeTypeOpus
