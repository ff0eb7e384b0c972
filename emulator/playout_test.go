package emulator

import (
	"bytes"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/transport/v5/test"
)

// TestPlayoutRealTime: audio sent faster than real time waits in the jitter buffer; a
// commit takes only what has played, and the rest lands in the next turn, in order.
func TestPlayoutRealTime(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t)
	defer srv.Close()
	c := dial(t, srv.NewKey(events.GA, time.Minute))
	defer c.close()
	c.expect(events.TypeSessionCreated)
	c.send(sessionUpdatePTT())
	c.expect(events.TypeSessionUpdated)
	const n = 150 // 3 s of audio sent in a burst
	sent := c.sendAudio(n, 0)
	if err := srv.WaitStats(ctxT(t, 5*time.Second), func(st Stats) bool { return st.PacketsIn >= n }); err != nil {
		t.Fatal(err)
	}
	waitPlayed(t, srv, 200*time.Millisecond)
	c.send(events.InputAudioBufferCommit{})
	c.expect(events.TypeInputAudioBufferCommitted, events.TypeConversationItemCreated, events.TypeInputTranscriptionCompleted)
	waitPlayed(t, srv, n*20*time.Millisecond)
	c.send(events.InputAudioBufferCommit{})
	c.expect(events.TypeInputAudioBufferCommitted, events.TypeConversationItemCreated, events.TypeInputTranscriptionCompleted)

	call, _ := srv.Stats().LastCall()
	if len(call.Turns) != 2 {
		t.Fatalf("%d turns, want 2", len(call.Turns))
	}
	first, second := call.Turns[0], call.Turns[1]
	t.Logf("first commit: %v played, %v queued; second: %v", first.Duration, first.Queued, second.Duration)
	if first.Duration >= n*20*time.Millisecond || first.Queued <= 0 || first.Duration+first.Queued != n*20*time.Millisecond {
		t.Errorf("first commit holds %v with %v queued, want part of the %v burst (it plays at 1×)", first.Duration, first.Queued, n*20*time.Millisecond)
	}
	if second.Queued != 0 || first.Duration+second.Duration != n*20*time.Millisecond {
		t.Errorf("second commit holds %v (%v queued), want the rest of the burst", second.Duration, second.Queued)
	}
	got := append(first.Payloads, second.Payloads...)
	if len(got) != n {
		t.Fatalf("%d packets committed, want %d", len(got), n)
	}
	for i := range got {
		if !bytes.Equal(got[i], sent[i]) {
			t.Fatalf("packet %d = %x, want %x (out of order)", i, got[i], sent[i])
		}
	}
	if call.Queued != 0 || call.Played != n*20*time.Millisecond || call.LatePackets != 0 {
		t.Errorf("call played %v, queued %v, late %d; want %v, 0, 0", call.Played, call.Queued, call.LatePackets, n*20*time.Millisecond)
	}
}

// TestPlayoutSchedule: the timeline follows RTP timestamps at 1× from playoutDelay
// after a talk spurt's first packet; a gap is played as concealment, a packet behind
// the timeline is late, and a sender that paused starts a new spurt.
func TestPlayoutSchedule(t *testing.T) {
	srv, err := New(WithPlayoutDelay(40 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	c := &call{s: srv, done: make(chan struct{})}
	c.po.started = true // no player goroutine: playLocked is driven by hand
	c.po.kick = make(chan struct{}, 1)
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	const d = 20 * time.Millisecond
	c.receiveLocked([]byte{1}, 9600, d, ms(0))  // plays 40..60
	c.receiveLocked([]byte{2}, 10560, d, ms(1)) // 60..80
	c.receiveLocked([]byte{3}, 12480, d, ms(2)) // one packet missing: 100..120
	if c.receiveLocked([]byte{4}, 10560, d, ms(3)) || c.st.LatePackets != 1 {
		t.Errorf("a packet behind the timeline was accepted (late %d)", c.st.LatePackets)
	}
	if c.playLocked(ms(59)); c.bufDur != 0 {
		t.Errorf("played %v by 59 ms, want nothing (delay 40 ms + 20 ms packet)", c.bufDur)
	}
	if c.playLocked(ms(80)); c.bufDur != 2*d || c.po.queued != d {
		t.Errorf("by 80 ms played %v, queued %v; want 40 ms, 20 ms", c.bufDur, c.po.queued)
	}
	if c.playLocked(ms(119)); c.bufDur != 2*d {
		t.Errorf("by 119 ms played %v, want 40 ms (the gap is concealment)", c.bufDur)
	}
	c.playLocked(ms(120))
	// the buffer ran dry: the next packet (timestamps contiguous, the sender paused)
	// starts a new spurt 40 ms after it arrives
	c.receiveLocked([]byte{5}, 13440, d, ms(500))
	if c.playLocked(ms(559)); c.bufDur != 3*d {
		t.Errorf("by 559 ms played %v, want 60 ms", c.bufDur)
	}
	if c.playLocked(ms(560)); c.bufDur != 4*d || c.st.Played != 4*d || c.st.Queued != 0 {
		t.Errorf("by 560 ms played %v (stats %v, queued %v), want 80 ms", c.bufDur, c.st.Played, c.st.Queued)
	}
	for i, want := range []byte{1, 2, 3, 5} {
		if c.buf[i][0] != want {
			t.Errorf("input buffer packet %d = %d, want %d", i, c.buf[i][0], want)
		}
	}
}
