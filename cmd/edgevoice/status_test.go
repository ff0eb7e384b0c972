package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/edgevoice/edgevoice/appliance"
	"github.com/edgevoice/edgevoice/internal/control"
)

// TestStatusShowsTransport: the session line names the transport, so a device that fell
// back to WebSocket says so.
func TestStatusShowsTransport(t *testing.T) {
	for _, tr := range []string{"webrtc", "websocket"} {
		var b bytes.Buffer
		printStatus(&b, &control.Status{Appliance: appliance.Status{Session: &appliance.SessionStatus{State: "connected", Transport: tr}}})
		if want := "session:      connected over " + tr + ","; !strings.Contains(b.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, b.String())
		}
	}
}
