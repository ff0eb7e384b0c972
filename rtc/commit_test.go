package rtc

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/transport/v5/test"
)

// Marked utterances: a tone with a marker tone of another pitch at its very end, so the
// receiver's committed audio shows whether the tail of the turn made it.
const (
	uttTone    = 440.0
	uttMarker  = 2500.0
	markerDur  = 100 * time.Millisecond
	uttSamples = 96000 // 2.0 s
)

func markedUtterance() []float32 {
	x := make([]float32, uttSamples)
	m := uttSamples - int(markerDur.Seconds()*48000)
	for i := range x {
		f := uttTone
		if i >= m {
			f = uttMarker
		}
		x[i] = 0.4 * float32(math.Sin(2*math.Pi*f*float64(i)/48000))
	}
	return x
}

// markerFrames decodes a committed turn and counts its 20 ms frames dominated by the
// marker tone.
func markerFrames(t testing.TB, turn emulator.Turn) int {
	dec := newTestDecoder(t)
	out := make([]float32, 5760)
	n := 0
	for _, p := range turn.Payloads {
		k, err := dec.Decode(p, out)
		if err != nil {
			t.Fatalf("decoding the committed turn: %v", err)
		}
		if at, total := toneAt(out[:k], uttMarker); total > 0.05 && at > 0.6*total {
			n++
		}
	}
	return n
}

// turnRun is one marked 2.0 s push-to-talk turn against the emulator.
type turnRun struct {
	releaseToAudio time.Duration // release → first answer sample read from the speaker
	commitWait     time.Duration
	pressToFirst   time.Duration // Stats().PressToFirstPacket
	turn           emulator.Turn
	markers        int
}

// runMarkedTurn says the marked utterance at real time in one turn on a fresh session,
// pressing before the connect (cold, with the pre-roll) when cold is set, and waits
// for the first answer audio.
func runMarkedTurn(t *testing.T, srv *emulator.Server, cold bool, opts ...Option) turnRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := srv.NewKey(events.GA, time.Minute)
	s, err := New(key, append(testOpts(WithSessionConfig(pttConfig())), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	sp := startSpeaker(s)
	rec := recordEvents(s)
	defer func() { sp.close(); s.Close(); <-rec.done }()
	calls := len(srv.Stats().Calls)
	if cold {
		s.Press()
		s.Start(ctx)
	} else {
		s.Start(ctx)
		rec.wait(t, 5*time.Second, isState(StateConnected))
		waitSessionUpdated(ctx, t, srv, key.Dialect)
		s.Press()
	}
	feedSamples(s, markedUtterance())
	released := time.Now()
	s.Release()
	rec.wait(t, 10*time.Second, isKind(EventSpeakingStarted))
	if err := srv.WaitStats(ctx, func(st emulator.Stats) bool {
		return len(st.Calls) > calls && len(st.Calls[len(st.Calls)-1].Turns) > 0
	}); err != nil {
		t.Fatal(err)
	}
	var r turnRun
	deadline := time.Now().Add(10 * time.Second)
	for r.releaseToAudio == 0 && time.Now().Before(deadline) {
		sp.mu.Lock()
		for i, at := range sp.at {
			if at.Before(released) {
				continue
			}
			for _, v := range sp.out[i*480 : (i+1)*480] {
				if math.Abs(float64(v)) > 0.05 {
					r.releaseToAudio = at.Sub(released)
					break
				}
			}
			if r.releaseToAudio != 0 {
				break
			}
		}
		sp.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	c, _ := srv.Stats().LastCall()
	r.turn = c.Turns[0]
	r.markers = markerFrames(t, r.turn)
	r.commitWait = s.Stats().CommitWait
	r.pressToFirst = s.Stats().PressToFirstPacket
	return r
}

// TestSlowConnectCommitsWholeUtterance (issue 13 defect 3): after a slow connect (SDP
// answer held 1.5 s) the pre-roll is sent as a catch-up faster than real time; the
// emulator plays it out at real time like a libwebrtc receiver, and the commit must
// still cover the whole 2.0 s utterance, its end marker included.
func TestSlowConnectCommitsWholeUtterance(t *testing.T) {
	defer test.CheckRoutines(t)()
	for _, catchUp := range []float64{2, 1.1} {
		t.Run(fmt.Sprintf("catch_up=%.1f", catchUp), func(t *testing.T) {
			srv := startEmulator(t, emulator.WithFaults(emulator.Faults{AnswerDelay: 1500 * time.Millisecond}))
			defer srv.Close()
			r := runMarkedTurn(t, srv, true, WithPreRoll(2*time.Second, catchUp))
			t.Logf("committed %v (%v still queued at the receiver), %d marker frames; commit waited %v after the last packet; release → answer audio %v",
				r.turn.Duration, r.turn.Queued, r.markers, r.commitWait, r.releaseToAudio)
			if r.turn.Duration < 2*time.Second || r.turn.Queued != 0 {
				t.Errorf("the emulator committed %v of the 2.0 s utterance (%v not yet played at the commit)", r.turn.Duration, r.turn.Queued)
			}
			if r.markers < 3 {
				t.Errorf("the committed audio holds %d frames of the end marker, want ≥ 3 of its 5", r.markers)
			}
		})
	}
}

// TestMeasureCommitRule measures release → first answer audio and what the emulator
// committed, for each commit rule at catch_up 1.1 and 2 with and without a 1.5 s SDP
// answer delay (a 2.0 s marked utterance said at real time; the warm runs press after
// the connect). It prints a table and fails if a rule that claims to lose nothing
// lost the end of a turn; then the same against the libwebrtc peer when node is
// there (TestLibwebrtcPeer). About 4.5 minutes:
//
//	EDGEVOICE_MEASURE=1 go test -run TestMeasureCommitRule -v ./rtc/
func TestMeasureCommitRule(t *testing.T) {
	if os.Getenv("EDGEVOICE_MEASURE") != "1" {
		t.Skip("a measurement (about 4.5 minutes): set EDGEVOICE_MEASURE=1")
	}
	reps := 3
	rules := []struct {
		name     string
		lossless bool
		opts     []Option
	}{
		{"after-last-packet (before)", false, []Option{WithCommitRule(CommitAfterLastPacket)}},
		{"after-media (A)", true, []Option{WithCommitRule(CommitAfterMedia)}},
		{"lead ≤ 50 ms (B)", true, []Option{WithCommitRule(CommitAfterLastPacket), WithUplinkLead(50 * time.Millisecond)}},
		// B with the margin of A: the settle also covers the 50 ms lead and the frame
		// sent at it
		{"lead ≤ 50 ms, settle 220 (B')", true, []Option{WithCommitRule(CommitAfterLastPacket), WithUplinkLead(50 * time.Millisecond), WithReleaseSettle(220 * time.Millisecond)}},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "%-30s %-8s %-9s %-26s %-12s %-22s %s\n", "rule", "catch_up", "sdp delay", "release→audio med (min–max)", "commit wait", "committed / queued", "marker frames")
	for _, delay := range []time.Duration{0, 1500 * time.Millisecond} {
		for _, catchUp := range []float64{1.1, 2} {
			for _, rule := range rules {
				srv := startEmulator(t, emulator.WithFaults(emulator.Faults{AnswerDelay: delay}))
				var lat, waits []time.Duration
				worst := turnRun{turn: emulator.Turn{Duration: time.Hour}, markers: 99}
				for range reps {
					opts := append([]Option{WithPreRoll(2*time.Second, catchUp)}, rule.opts...) // settle: testOpts' 150 ms
					r := runMarkedTurn(t, srv, delay > 0, opts...)
					lat = append(lat, r.releaseToAudio)
					waits = append(waits, r.commitWait)
					if r.turn.Duration < worst.turn.Duration || r.markers < worst.markers {
						worst = r
					}
					if rule.lossless && (r.turn.Duration < 2*time.Second || r.markers < 3) {
						t.Errorf("%s, catch_up %.1f, delay %v: committed %v (%d marker frames), lost the end", rule.name, catchUp, delay, r.turn.Duration, r.markers)
					}
				}
				srv.Close()
				slices.Sort(lat)
				slices.Sort(waits)
				ms := func(d time.Duration) string { return fmt.Sprintf("%d", d.Milliseconds()) }
				fmt.Fprintf(&table, "%-30s %-8.1f %-9v %-26s %-12s %-22s %d\n", rule.name, catchUp, delay,
					fmt.Sprintf("%s (%s–%s) ms", ms(lat[len(lat)/2]), ms(lat[0]), ms(lat[len(lat)-1])),
					fmt.Sprintf("%s ms", ms(waits[len(waits)/2])),
					fmt.Sprintf("%v / %v", worst.turn.Duration, worst.turn.Queued), worst.markers)
			}
		}
	}
	t.Logf("emulator: worst committed turn of %d runs each; a 2.0 s utterance with a 100 ms marker (5 frames) at its end:\n%s", reps, table.String())

	// the same against the libwebrtc peer (NetEq time-stretches a full buffer, which
	// the emulator does not model)
	if _, err := exec.LookPath("node"); err != nil {
		t.Log("no node: the libwebrtc peer's half of the measurement is skipped")
		return
	}
	table.Reset()
	fmt.Fprintf(&table, "%-30s %-8s %-9s %-26s %-12s %s\n", "rule", "catch_up", "sdp delay", "release→done med (min–max)", "commit wait", "media played at commit: min (marker ms)")
	for _, delay := range []time.Duration{0, 1500 * time.Millisecond} {
		p := startWRTCPeer(t, delay)
		for _, catchUp := range []float64{1.1, 2} {
			for _, rule := range rules {
				var lat, waits []time.Duration
				worst := wrtcCommit{MediaMS: 1e9}
				for range reps {
					opts := append([]Option{WithPreRoll(2*time.Second, catchUp)}, rule.opts...)
					c, d, w := runWRTCTurn(t, p, delay > 0, opts...)
					lat = append(lat, d)
					waits = append(waits, w)
					if c.MediaMS < worst.MediaMS {
						worst = c
					}
					if rule.lossless && (c.MediaMS < 1980 || c.MarkerMS <= 0) {
						t.Errorf("libwebrtc peer, %s, catch_up %.1f, delay %v: %.0f ms of media played at the commit (marker %.0f ms), lost the end", rule.name, catchUp, delay, c.MediaMS, c.MarkerMS)
					}
				}
				slices.Sort(lat)
				slices.Sort(waits)
				ms := func(d time.Duration) string { return fmt.Sprintf("%d", d.Milliseconds()) }
				fmt.Fprintf(&table, "%-30s %-8.1f %-9v %-26s %-12s %.0f (%.0f)\n", rule.name, catchUp, delay,
					fmt.Sprintf("%s (%s–%s) ms", ms(lat[len(lat)/2]), ms(lat[0]), ms(lat[len(lat)-1])),
					fmt.Sprintf("%s ms", ms(waits[len(waits)/2])), worst.MediaMS, worst.MarkerMS)
			}
		}
		p.close()
	}
	t.Logf("libwebrtc peer (@roamhq/wrtc): %d runs each, release → response.done (sent at once after response.created):\n%s", reps, table.String())
}

// TestPacer: the media time sent runs ahead of real time by what a burst sent beyond
// it, restarts after a pause and on a new target, and hold keeps it within a bound.
func TestPacer(t *testing.T) {
	var p pacer
	a, b := &upTarget{}, &upTarget{}
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for range 10 { // a 200 ms burst at 0 ms
		p.sent(a, at(0), frameDur)
	}
	if l := p.lead(a, at(50)); l != 150*time.Millisecond {
		t.Errorf("lead %v at 50 ms after a 200 ms burst, want 150 ms", l)
	}
	if w := p.hold(a, at(50), 100*time.Millisecond); w != 50*time.Millisecond {
		t.Errorf("hold %v with a 100 ms bound, want 50 ms", w)
	}
	if w := p.hold(a, at(50), 0); w != 0 {
		t.Errorf("hold %v without a bound, want 0", w)
	}
	if l := p.lead(b, at(50)); l != 0 {
		t.Errorf("lead %v on another target, want 0", l)
	}
	p.sent(a, at(1000), frameDur) // after a pause: real time again
	if l := p.lead(a, at(1000)); l != frameDur {
		t.Errorf("lead %v after a pause, want one frame", l)
	}
	p.sent(b, at(1005), frameDur) // a new connection starts its own timeline
	if l := p.lead(b, at(1005)); l != frameDur {
		t.Errorf("lead %v on a new target, want one frame", l)
	}
}

// TestCommitWait: CommitAfterMedia adds the lead beyond one frame to the settle;
// CommitAfterLastPacket waits the settle alone.
func TestCommitWait(t *testing.T) {
	for _, c := range []struct {
		rule CommitRule
		lead time.Duration
		want time.Duration
	}{
		{CommitAfterMedia, 15 * time.Millisecond, 150 * time.Millisecond},
		{CommitAfterMedia, 520 * time.Millisecond, 650 * time.Millisecond},
		{CommitAfterLastPacket, 520 * time.Millisecond, 150 * time.Millisecond},
	} {
		s := &Session{}
		s.cfg.settle, s.cfg.commitRule = 150*time.Millisecond, c.rule
		s.pace.leadAtDrain.Store(int64(c.lead))
		if got := s.commitWait(); got != c.want || time.Duration(s.pace.lastWait.Load()) != c.want {
			t.Errorf("%v, lead %v: wait %v, want %v", c.rule, c.lead, got, c.want)
		}
	}
	if err := CheckOptions(WithCommitRule(CommitRule(7))); err == nil {
		t.Error("an unknown commit rule was accepted")
	}
	if err := CheckOptions(WithUplinkLead(5 * time.Millisecond)); err == nil {
		t.Error("a 5 ms uplink lead was accepted")
	}
}
