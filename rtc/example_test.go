package rtc_test

import (
	"context"
	"log/slog"

	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/edgevoice/edgevoice/rtc"
)

// The appliance's use of a session: a key from provisioning, fresh keys on reconnect,
// the mic fed from the capture ring, the speaker read by the playback callback, the
// button driving Press/Release, events driving the LEDs.
func Example() {
	ctx := context.Background()
	var key realtime.Key // from the key socket (keyd.Client.Get)
	var keys rtc.KeySource = rtc.KeySourceFunc(func(ctx context.Context) (realtime.Key, error) { return key, nil })
	s, err := rtc.New(key,
		rtc.WithKeySource(keys),
		rtc.WithSessionConfig(events.Session{Voice: "marin", TurnDetection: events.TurnDetection{Type: events.TurnDetectionNone}}),
		rtc.WithLogger(slog.Default()),
	)
	if err != nil {
		return
	}
	defer s.Close() // joins every goroutine and closes Events
	if err := s.Start(ctx); err != nil {
		return
	}
	go func() {
		mic := make([]float32, 480) // 10 ms at 48 kHz from the capture ring
		for range 100 {
			s.WriteMic(mic) // never blocks
		}
	}()
	out := make([]float32, 480)
	_ = s.ReadSpeaker(out) // from the playback callback; silence when nothing is due

	s.Press()   // button down: listen (barge-in if the model is speaking)
	s.Release() // button up: commit the turn, ask for the answer

	// until the session is closed
	for ev := range s.Events() {
		switch ev.Kind {
		case rtc.EventState: // connecting / connected / disconnected / reconnecting / closed → LEDs
			if ev.State == rtc.StateClosed {
				return
			}
		case rtc.EventSpeakingStarted, rtc.EventSpeakingStopped:
		case rtc.EventError:
		}
		st := s.Stats() // RTT, jitter, loss, concealment, press → first packet
		_ = st
	}
}
