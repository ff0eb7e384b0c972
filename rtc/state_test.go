package rtc

import (
	"errors"
	"testing"
	"time"
)

func TestStrings(t *testing.T) {
	for s, want := range map[State]string{StateNew: "new", StateConnecting: "connecting", StateConnected: "connected",
		StateDisconnected: "disconnected", StateReconnecting: "reconnecting", StateClosed: "closed", State(42): "State(42)"} {
		if s.String() != want {
			t.Errorf("%d: %q want %q", int(s), s.String(), want)
		}
	}
	for k, want := range map[EventKind]string{EventState: "state", EventSpeakingStarted: "speaking-started",
		EventError: "error", EventBargeIn: "barge-in", EventKind(0): "EventKind(0)"} {
		if k.String() != want {
			t.Errorf("%d: %q want %q", int(k), k.String(), want)
		}
	}
}

func TestHTTPErrorAndBackoff(t *testing.T) {
	e := httpError(401, []byte(`{"error":{"message":"Incorrect API key","code":"invalid_api_key"}}`))
	if !errors.Is(e, ErrUnauthorized) || e.Error() != "rtc: SDP exchange: HTTP 401: Incorrect API key (code invalid_api_key)" {
		t.Errorf("401: %v", e)
	}
	if e := httpError(502, []byte("<html>bad gateway</html>")); errors.Is(e, ErrUnauthorized) || !retryable(e) || e.Message != "<html>bad gateway</html>" {
		t.Errorf("502: %v", e)
	}
	if e := httpError(404, nil); retryable(e) || e.Message != "Not Found" {
		t.Errorf("404: %v retryable=%v", e, retryable(e))
	}
	c := config{backoffMin: 100 * time.Millisecond, backoffMax: time.Second}
	for range 20 {
		b := c.newBackoff()
		hi := 100 * time.Millisecond // the wait before attempt n is in [hi/2, hi]
		for n := 1; n <= 50; n++ {
			if d := b.Next(); d < hi/2 || d > hi {
				t.Errorf("wait before attempt %d = %v, want %v..%v", n, d, hi/2, hi)
			}
			hi = min(2*hi, time.Second)
		}
	}
}
