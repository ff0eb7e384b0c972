package emulator

import (
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5/test"
)

// sendPackets sends n 20 ms packets of size bytes (big = speech for the default
// detector, small = silence), paced every 20 ms/speedup.
func (c *testClient) sendPackets(n, size int, every time.Duration) {
	c.t.Helper()
	for i := range n {
		p := make([]byte, size)
		p[0] = 0xF8
		p[1] = byte(i)
		if err := c.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: c.seq, Timestamp: c.ts}, Payload: p}); err != nil {
			c.t.Fatal(err)
		}
		c.seq++
		c.ts += 960
		time.Sleep(every)
	}
}

// TestServerVAD: with server_vad the emulator finds the turn itself, answers it, and a
// new turn during the answer interrupts it (turn_detected).
func TestServerVAD(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t, WithServerVAD(nil))
	defer srv.Close()
	c := dial(t, srv.NewKey(events.GA, time.Minute))
	defer c.close()
	c.expect(events.TypeSessionCreated)
	c.send(events.SessionUpdate{Session: events.Session{TurnDetection: events.TurnDetection{Type: events.TurnDetectionServerVAD, SilenceDurationMS: 200, PrefixPaddingMS: 100}}})
	c.expect(events.TypeSessionUpdated)

	c.sendPackets(20, 3, 5*time.Millisecond) // 400 ms silence: not a turn
	// 1.6 s of speech: the answer (the turn played back at real time) then lasts about
	// 1.9 s, so the barge-in below lands well inside it even on a loaded machine
	c.sendPackets(80, 80, 5*time.Millisecond)
	c.sendPackets(15, 3, 5*time.Millisecond) // 300 ms silence ends it after 200 ms
	evs := c.expect(events.TypeSpeechStarted, events.TypeSpeechStopped, events.TypeInputAudioBufferCommitted,
		events.TypeConversationItemCreated, events.TypeResponseCreated, events.TypeOutputAudioBufferStarted)
	started := evs[0].(events.SpeechStarted)
	if committed := evs[2].(events.InputAudioBufferCommitted); committed.ItemID != started.ItemID {
		t.Errorf("speech_started item %s, committed %s", started.ItemID, committed.ItemID)
	}
	if started.AudioStartMS < 250 || started.AudioStartMS > 350 { // 400 ms silence - 100 ms prefix
		t.Errorf("audio_start_ms %d, want about 300", started.AudioStartMS)
	}
	st := srv.Stats()
	call, _ := st.LastCall()
	// 100 ms prefix + 1600 ms speech + 200 ms of the pause
	if tr := call.Turns[0]; tr.Duration < 1800*time.Millisecond || tr.Duration > 2000*time.Millisecond {
		t.Errorf("turn of %v (%d packets), want about 1.9 s", tr.Duration, tr.Packets)
	}
	// talk over the answer: it is cancelled and cleared
	time.Sleep(100 * time.Millisecond)
	// 200 ms of speech, over three times the 60 ms the detector needs, so a packet lost
	// on a busy loopback does not hide the barge-in
	c.sendPackets(10, 80, 5*time.Millisecond)
	var sawCleared, sawStarted bool
	for {
		switch e := c.next().(type) {
		case events.SpeechStarted:
			sawStarted = true
		case events.OutputAudioBufferCleared:
			sawCleared = true
		case events.ResponseDone:
			if e.Response.Status != events.StatusCancelled || e.Response.StatusReason != "turn_detected" || !sawCleared || !sawStarted {
				t.Fatalf("response.done %+v after started=%v cleared=%v", e.Response, sawStarted, sawCleared)
			}
			return
		case events.OutputAudioBufferStopped:
			t.Fatal("the answer played to the end despite the interruption")
		}
	}
}
