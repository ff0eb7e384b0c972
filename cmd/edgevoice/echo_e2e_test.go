package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/appliance"
	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/hw/button"
	"github.com/edgevoice/edgevoice/hw/sim"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/edgevoice/edgevoice/rtc"
	"github.com/edgevoice/edgevoice/rtc/opus"
)

// loopRun is one appliance with server VAD in the emulator and the speaker → mic loop
// closed through a simulated room.
type loopRun struct {
	a    *appliance.Appliance
	room *sim.Room
	srv  *emulator.Server
	mu   sync.Mutex
	evs  []rtc.Event
	log  []string
}

func (l *loopRun) event(e rtc.Event) {
	l.mu.Lock()
	l.evs = append(l.evs, e)
	l.log = append(l.log, e.String())
	l.mu.Unlock()
}

// waitFor waits (at most d) for an event after index from matching ok and returns its
// index.
func (l *loopRun) waitFor(t *testing.T, d time.Duration, from int, what string, ok func(rtc.Event) bool) int {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		l.mu.Lock()
		for i := from; i < len(l.evs); i++ {
			if ok(l.evs[i]) {
				l.mu.Unlock()
				return i
			}
		}
		l.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c, _ := l.srv.Stats().LastCall()
	t.Fatalf("no %s within %v; events: %q; emulator: %d packets in (%d bytes), server events %q", what, d, l.log, c.PacketsIn, c.BytesIn, c.ServerEvents)
	return 0
}

func isKindE(k rtc.EventKind) func(rtc.Event) bool {
	return func(e rtc.Event) bool { return e.Kind == k }
}

// responseDone returns the status and reason of a response.done event.
func responseDone(e rtc.Event) (status, reason string, ok bool) {
	if e.Kind != rtc.EventResponseDone {
		return "", "", false
	}
	if d, isDone := e.Server.(events.ResponseDone); isDone {
		return d.Response.Status.String(), d.Response.StatusReason, true
	}
	return "", "", true
}

// levelDetector is a speech detector for the emulator's server VAD that decodes each
// packet and counts it as speech when its level is above minDBFS: like a service's VAD,
// it ignores a hiss or a residual echo far below speech. (The emulator's default
// counts packet sizes, and libopus spends more than its threshold on a -75 dBFS hiss.)
func levelDetector(t *testing.T, minDBFS float64) emulator.SpeechDetector {
	dec, err := opus.NewDecoder(48000)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	pcm := make([]float32, 5760)
	floor := math.Pow(10, minDBFS/10)
	return func(p []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		n, err := dec.Decode(p, pcm)
		if err != nil || n == 0 {
			return false
		}
		var e float64
		for _, v := range pcm[:n] {
			e += float64(v) * float64(v)
		}
		return e/float64(n) > floor
	}
}

// roomQueue is how far the simulated speaker takes audio ahead of playing it: long
// enough that a goroutine stalled on a busy machine does not underrun it (which would
// move the echo path under the canceller).
const roomQueue = 200 * time.Millisecond

// startLoop runs the appliance (keep-warm, server VAD, talk tapped on) against the emulator with its
// speaker and mic in a simulated room (60 ms, echo 6 dB below the speaker).
func startLoop(t *testing.T, echo appliance.EchoConfig) *loopRun {
	t.Helper()
	srv, err := emulator.New(emulator.WithServerVAD(levelDetector(t, -45)))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(""); err != nil {
		t.Fatal(err)
	}
	room, err := sim.NewRoom(sim.RoomOpts{Rate: 16000, Delay: 60 * time.Millisecond, GainDB: -6, Seed: 15,
		NoiseDB: -75, Queue: roomQueue})
	if err != nil {
		t.Fatal(err)
	}
	l := &loopRun{room: room, srv: srv}
	keys := rtc.KeySourceFunc(func(ctx context.Context) (realtime.Key, error) { return srv.MintKey(ctx, "openai") })
	sessCfg := events.Session{Instructions: "test", Voice: "marin",
		TurnDetection: events.TurnDetection{Type: events.TurnDetectionServerVAD, SilenceDurationMS: 400}}
	factory := func(key realtime.Key, ks rtc.KeySource) (appliance.Session, error) {
		return rtc.New(key, rtc.WithLoopbackOnly(), rtc.WithKeySource(ks), rtc.WithSessionConfig(sessCfg))
	}
	// Under server VAD the mic opens with talk (a tap in toggle mode) and stays open
	// while the service ends each turn itself.
	buttons := make(chan button.Event, 1)
	a, err := appliance.New(appliance.Config{KeepWarm: true, Volume: 1, Echo: echo, TalkMode: appliance.Toggle, VAD: true},
		appliance.Deps{Keys: keys, NewSession: factory, OnEvent: l.event, Buttons: buttons})
	if err != nil {
		t.Fatal(err)
	}
	l.a = a
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); _ = a.Run(ctx) }()
	go func() { defer wg.Done(); _ = a.RunMic(ctx, room.Mic(), nil) }()
	go func() { defer wg.Done(); _ = a.RunSpeaker(ctx, room.Speaker()) }()
	t.Cleanup(func() {
		cancel()
		room.Close()
		wg.Wait()
		srv.Close()
	})
	l.waitFor(t, 15*time.Second, 0, "connected session", func(e rtc.Event) bool {
		return e.Kind == rtc.EventState && e.State == rtc.StateConnected
	})
	buttons <- button.Event{Button: appliance.ButtonTalk, Kind: button.Press}
	l.waitFor(t, 15*time.Second, 0, "the mic opened by the talk tap", isKindE(rtc.EventListening))
	return l
}

// TestEchoLoopServerVAD: end to end with the loop closed and server VAD. The emulator
// answers with the user's own words; the answer's echo reaches the mic 6 dB down.
//   - echo = "off": the answer is interrupted by its own echo (turn_detected).
//   - echo = "aec": the answer plays to the end.
//   - echo = "aec" and the user talks over the answer: it is interrupted (barge-in). The
//     barge-in is on the second answer: until the canceller has shown it cancels (about
//     1.5 s of the first answer), the path holds the uplink while the answer plays.
//
// Real time, about 17 s: it runs with EDGEVOICE_SLOW=1 (make test-slow), one case at a
// time (three sessions at once on a busy 2-core machine lag the loop by seconds).
func TestEchoLoopServerVAD(t *testing.T) {
	if os.Getenv("EDGEVOICE_SLOW") != "1" {
		t.Skip("real-time end-to-end echo loop (about 17 s); set EDGEVOICE_SLOW=1 (make test-slow)")
	}
	question := loadQuestion(t, 16000)
	// the reference delay is the simulated speaker's queue, as echoConfig sets it from
	// playback_queue_periods on a device
	aecOn := appliance.EchoConfig{Mode: appliance.EchoAEC, NoiseSuppression: true, Delay: roomQueue}
	for _, tc := range []struct {
		name    string
		echo    appliance.EchoConfig
		bargeIn bool
		want    string // status/reason of the answer's response.done
	}{
		{"off", appliance.EchoConfig{}, false, "cancelled/turn_detected"},
		{"aec", aecOn, false, "completed/"},
		{"aec barge-in", aecOn, true, "cancelled/turn_detected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := startLoop(t, tc.echo)
			l.room.Say(question)
			start := l.waitFor(t, 15*time.Second, 0, "the answer", isKindE(rtc.EventSpeakingStarted))
			if tc.bargeIn {
				first := l.waitFor(t, 15*time.Second, start, "the first answer's end", isKindE(rtc.EventSpeakingStopped))
				l.room.Say(question)
				start = l.waitFor(t, 15*time.Second, first, "the second answer", isKindE(rtc.EventSpeakingStarted))
				time.Sleep(500 * time.Millisecond)
				l.room.Say(question) // the whole question: it outlasts the answer's rest
			}
			i := l.waitFor(t, 15*time.Second, start, "response.done of the answer", func(e rtc.Event) bool { _, _, ok := responseDone(e); return ok })
			l.mu.Lock()
			status, reason, _ := responseDone(l.evs[i])
			log := l.log
			l.mu.Unlock()
			if got := fmt.Sprintf("%s/%s", status, reason); got != tc.want {
				c, _ := l.srv.Stats().LastCall()
				t.Errorf("the answer ended %s, want %s; events %q; echo %s; emulator server events %q", got, tc.want, log, l.a.Echo(), c.ServerEvents)
			}
		})
	}
}
