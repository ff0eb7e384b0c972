package rtc

import (
	"testing"

	"github.com/edgevoice/edgevoice/realtime/events"
)

// TestLateClearedOfACancelledResponse: after a barge-in the service's
// output_audio_buffer.cleared (and .stopped) for the cancelled response can arrive after
// the next response was created (a loaded service, or the emulator under load in the lab). It is
// news of the old response: the new one must still play. The server's own cut of the
// current response (its VAD heard the user) still silences it.
func TestLateClearedOfACancelledResponse(t *testing.T) {
	g := newLoopRig(t, &countRunner{calls: map[string]int{}})
	g.server(events.ResponseCreated{Response: events.Response{ID: "resp_1", Status: events.StatusInProgress}})
	g.server(events.OutputAudioBufferStarted{ResponseID: "resp_1"})
	g.s.bargeIn(g.c, &g.u)
	if !g.s.discard.Load() || g.u.cancelled != "resp_1" {
		t.Fatalf("after the barge-in: discard %v, cancelled %q", g.s.discard.Load(), g.u.cancelled)
	}
	g.server(events.ResponseCreated{Response: events.Response{ID: "resp_2", Status: events.StatusInProgress}})
	g.server(events.OutputAudioBufferCleared{ResponseID: "resp_1"}) // late
	g.server(events.OutputAudioBufferStarted{ResponseID: "resp_2"})
	g.server(events.OutputAudioBufferStopped{ResponseID: "resp_1"}) // late too
	if g.s.discard.Load() || !g.u.speaking || g.u.cancelled != "resp_1" {
		t.Fatalf("resp_2 after a late cleared of resp_1: discard %v, speaking %v, cancelled %q; want it playing",
			g.s.discard.Load(), g.u.speaking, g.u.cancelled)
	}
	g.server(events.OutputAudioBufferCleared{ResponseID: "resp_2"}) // the service cut resp_2
	if !g.s.discard.Load() || g.u.speaking || g.u.cancelled != "resp_2" {
		t.Fatalf("after the service cut resp_2: discard %v, speaking %v, cancelled %q", g.s.discard.Load(), g.u.speaking, g.u.cancelled)
	}
}
