package emulator

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/transport/v5/test"
)

// longICE keeps the server's ICE from ending a call on its own during a test: a call that
// ends within the test's deadline ended because of what the test did.
var longICE = WithICETimeouts(30*time.Second, 60*time.Second, time.Second)

// TestHangUpGA: POST …/realtime/calls/{call_id}/hangup with the call's key ends the call
// at once (both GA paths); a wrong key or an unknown call is refused.
func TestHangUpGA(t *testing.T) {
	defer test.CheckRoutines(t)()
	for _, profile := range []string{"openai", "azure"} {
		t.Run(profile, func(t *testing.T) {
			srv := start(t, longICE)
			defer srv.Close()
			key, err := srv.MintKey(ctxT(t, 5*time.Second), profile)
			if err != nil {
				t.Fatal(err)
			}
			c := dial(t, key)
			defer c.close()
			c.expect(events.TypeSessionCreated)
			base := strings.TrimSuffix(key.SDPURL, "/calls")
			id := c.loc[strings.LastIndexByte(c.loc, '/')+1:]
			post := func(url, bearer string) int {
				req, _ := http.NewRequest(http.MethodPost, url, nil)
				req.Header.Set("Authorization", "Bearer "+bearer)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if st := post(base+"/calls/rtc_nope/hangup", key.Value); st != http.StatusNotFound {
				t.Errorf("hang-up of an unknown call: HTTP %d, want 404", st)
			}
			if st := post(base+"/calls/"+id+"/hangup", "ek_wrong"); st != http.StatusUnauthorized {
				t.Errorf("hang-up with a wrong key: HTTP %d, want 401", st)
			}
			start := time.Now()
			if st := post(base+"/calls/"+id+"/hangup", key.Value); st != http.StatusOK {
				t.Fatalf("hang-up: HTTP %d, want 200", st)
			}
			if err := srv.WaitStats(ctxT(t, 10*time.Second), func(st Stats) bool { return st.CallsEnded == 1 }); err != nil {
				t.Fatalf("the call did not end after the hang-up: %v", err)
			}
			call, _ := srv.Stats().LastCall()
			if !call.HungUp {
				t.Errorf("call stats do not record the hang-up: %+v", call)
			}
			t.Logf("%s: call ended %v after the hang-up (server ICE failed timeout 60 s)", profile, time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestHangUpPreview: the preview API has no hang-up endpoint; a client that closes its
// data channel has hung up, and the call ends at once.
func TestHangUpPreview(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t, longICE, WithDialect(events.Preview))
	defer srv.Close()
	key, err := srv.MintKey(ctxT(t, 5*time.Second), "azure-preview")
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, key)
	defer c.close()
	c.expect(events.TypeSessionCreated)
	if err := c.dc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitStats(ctxT(t, 10*time.Second), func(st Stats) bool { return st.CallsEnded == 1 }); err != nil {
		t.Fatalf("the call did not end after the client closed its data channel: %v", err)
	}
	if call, _ := srv.Stats().LastCall(); !call.HungUp {
		t.Errorf("call stats do not record the hang-up: %+v", call)
	}
}

// TestResponseDoneBeforePlayout: with WithResponseDoneBeforePlayout response.done comes
// while the audio still plays and output_audio_buffer.stopped after it; a response.cancel
// after response.done is refused with response_cancel_not_active (its event_id echoed);
// output_audio_buffer.clear still stops the audio. Each response starts with
// rate_limits.updated.
func TestResponseDoneBeforePlayout(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t, WithResponseDoneBeforePlayout())
	defer srv.Close()
	key, err := srv.MintKey(ctxT(t, 5*time.Second), "openai")
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, key)
	defer c.close()
	c.expect(events.TypeSessionCreated)
	c.send(sessionUpdatePTT())
	c.expect(events.TypeSessionUpdated)
	const n = 100 // 2 s of audio
	c.sendAudio(n, time.Millisecond)
	waitPlayed(t, srv, n*20*time.Millisecond) // sent at 20× real time, played at 1×
	c.send(events.InputAudioBufferCommit{})
	c.expect(events.TypeInputAudioBufferCommitted, events.TypeConversationItemCreated, events.TypeInputTranscriptionCompleted)
	c.send(events.ResponseCreate{})
	evs := c.expect(events.TypeResponseCreated, events.TypeOutputAudioBufferStarted)
	id := evs[0].(events.ResponseCreated).Response.ID
	for {
		ev := c.next()
		if ev.Type() == events.TypeOutputAudioBufferStopped {
			t.Fatal("output_audio_buffer.stopped before response.done")
		}
		if d, ok := ev.(events.ResponseDone); ok {
			if d.Response.ID != id || d.Response.Status != events.StatusCompleted {
				t.Errorf("response.done %+v", d.Response)
			}
			break
		}
	}
	c.send(events.ResponseCancel{EventID: "late_cancel"})
	e, ok := c.next().(events.Error)
	if !ok || e.Error.Code != "response_cancel_not_active" || e.Error.ClientEventID != "late_cancel" {
		t.Fatalf("cancel after response.done: got %+v, want error response_cancel_not_active for late_cancel", e)
	}
	c.send(events.OutputAudioBufferClear{})
	cl, ok := c.next().(events.OutputAudioBufferCleared)
	if !ok || cl.ResponseID != id {
		t.Fatalf("output_audio_buffer.clear while the answer plays: got %+v, want output_audio_buffer.cleared for %s", cl, id)
	}
	call, _ := srv.Stats().LastCall()
	if call.PacketsOut >= n {
		t.Errorf("the whole answer was sent (%d packets) despite the clear", call.PacketsOut)
	}
	c.mu.Lock()
	rl := c.rateLimits
	c.mu.Unlock()
	if len(rl) != 1 || len(rl[0].RateLimits) == 0 || rl[0].EventID == "" {
		t.Errorf("rate_limits.updated seen %+v, want one with limits and an event_id", rl)
	}
}

// TestSessionExpiresAtHonoured: session.created says when the session ends, and it
// ends then.
func TestSessionExpiresAtHonoured(t *testing.T) {
	defer test.CheckRoutines(t)()
	const life = 2 * time.Second
	srv := start(t, WithFaults(Faults{SessionLifetime: life}))
	defer srv.Close()
	c := dial(t, srv.NewKey(events.GA, time.Minute))
	defer c.close()
	created := c.expect(events.TypeSessionCreated)[0].(events.SessionCreated)
	exp := time.Unix(created.Session.ExpiresAt, 0)
	if d := time.Until(exp); d > life || d < -time.Second {
		t.Fatalf("expires_at %v is %v from now, want within (-1 s, %v]", exp, d, life)
	}
	if err := srv.WaitStats(ctxT(t, 10*time.Second), func(st Stats) bool { return st.CallsEnded == 1 }); err != nil {
		t.Fatal(err)
	}
	if now := time.Now(); now.Before(exp) {
		t.Errorf("the call ended at %v, before its expires_at %v", now, exp)
	}
}
