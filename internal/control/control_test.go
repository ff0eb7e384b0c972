package control

import (
	"bytes"
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/appliance"
)

func TestWriteMetrics(t *testing.T) {
	var b bytes.Buffer
	WriteMetrics(&b, Status{Appliance: appliance.Status{State: appliance.Speaking, Turns: 3, Volume: 0.5,
		Session: &appliance.SessionStatus{PacketsSent: 7}}, Audio: []AudioStatus{{Role: "mic", Overruns: 2}}})
	for _, w := range []string{`edgevoice_state{state="speaking"} 1`, `edgevoice_state{state="idle"} 0`, "edgevoice_turns_total 3",
		"edgevoice_packets_sent_total 7", `edgevoice_audio_overruns_total{role="mic"} 2`} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("metrics lack %q:\n%s", w, b.String())
		}
	}
}

// TestSocketRoundTrip: Ask gets what the status function returns; a second server on
// the same socket is refused; Close removes nothing it should not and joins its
// goroutines.
func TestSocketRoundTrip(t *testing.T) {
	before := runtime.NumGoroutine()
	path := filepath.Join(t.TempDir(), "run", "control.sock")
	srv, err := Listen(path, func(context.Context) Status { return Status{Version: "v1", PID: 42} }, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := Ask(ctx, path)
	if err != nil || st.Version != "v1" || st.PID != 42 {
		t.Fatalf("Ask: %+v %v", st, err)
	}
	if _, err := Listen(path, nil, nil); err == nil || !strings.Contains(err.Error(), "another edgevoice run") {
		t.Errorf("a second server on a live socket: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := Ask(ctx, path); err == nil {
		t.Error("Ask after Close succeeded")
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left after Close (%d before)", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var b bytes.Buffer
	WriteMetrics(&b, Status{Appliance: appliance.Status{State: appliance.Idle}})
	if !strings.Contains(b.String(), `edgevoice_state{state="idle"} 1`) {
		t.Errorf("metrics: %s", b.String())
	}
}
