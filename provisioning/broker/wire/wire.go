// Package wire holds the broker's HTTP bodies (POST /v1/keys), so that what speaks to a
// broker (the local emulator, which serves the same endpoint) does not link the broker
// itself and its device store (SQLite, PostgreSQL drivers).
package wire

import "github.com/edgevoice/edgevoice/realtime"

// Request is the optional body of POST /v1/keys.
type Request struct {
	Session *realtime.SessionDefaults `json:"session,omitempty"` // refused if the broker pins them
}

// Response is the answer of POST /v1/keys.
type Response struct {
	Value     string                    `json:"value"`
	ExpiresAt int64                     `json:"expires_at"` // Unix seconds
	WebRTCURL string                    `json:"webrtc_url"`
	Protocol  string                    `json:"protocol"` // "ga" or "preview"
	Profile   string                    `json:"profile"`  // upstream profile that minted it
	Session   *realtime.SessionDefaults `json:"session,omitempty"`
	Pinned    bool                      `json:"pinned,omitempty"` // Session is pinned: devices must not override it
}
