package realtime

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// Dialect is the event dialect a realtime session speaks.
type Dialect int

const (
	// DialectGA is the generally available protocol (Azure /openai/v1, OpenAI /v1):
	// response.output_audio.delta, session.type "realtime", audio.input/output.
	DialectGA Dialect = iota
	// DialectPreview is the preview/beta protocol (Azure api-version=2025-04-01-preview):
	// response.audio.delta, flat session fields.
	DialectPreview
)

// String returns "ga" or "preview".
func (d Dialect) String() string {
	switch d {
	case DialectGA:
		return "ga"
	case DialectPreview:
		return "preview"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// ParseDialect parses "ga" or "preview" (also "beta" for preview).
func ParseDialect(s string) (Dialect, error) {
	switch s {
	case "ga", "GA", "":
		return DialectGA, nil
	case "preview", "beta":
		return DialectPreview, nil
	}
	return 0, fmt.Errorf("realtime: unknown dialect %q (want \"ga\" or \"preview\")", s)
}

// Key is one ephemeral key with everything a session needs to use it.
//
// Value is a secret: String and LogValue mask it, so a Key may be logged.
type Key struct {
	Value     string    // the ephemeral key (ek_...); never logged
	ExpiresAt time.Time // when the provider stops accepting it
	SDPURL    string    // where the SDP offer is POSTed with "Authorization: Bearer <Value>"
	Dialect   Dialect   // event dialect of sessions made with this key
	Profile   string    // provider profile that minted it ("azure-preview", "azure", "openai", "broker")
	MintedAt  time.Time // when it was minted (for key age)
	// Session is what a broker says the key was minted with (nil: not known), and
	// SessionPinned that the broker pins it for its fleet: a device must not override
	// those settings with its own session.update.
	Session       *SessionDefaults
	SessionPinned bool
}

// ValidFor reports whether k is still valid for at least d after now.
func (k Key) ValidFor(now time.Time, d time.Duration) bool {
	return k.Value != "" && !k.ExpiresAt.IsZero() && k.ExpiresAt.Sub(now) >= d
}

// String describes k with its value masked.
func (k Key) String() string {
	return fmt.Sprintf("key{%s %s expires=%s url=%s}", k.Profile, Mask(k.Value), k.ExpiresAt.UTC().Format(time.RFC3339), k.SDPURL)
}

// LogValue implements slog.LogValuer so that any slog handler (text or JSON) logs the
// key masked.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("profile", k.Profile), slog.String("value", Mask(k.Value)),
		slog.Time("expires_at", k.ExpiresAt), slog.String("sdp_url", k.SDPURL), slog.String("dialect", k.Dialect.String()))
}

// Mask hides a secret for logs: it keeps at most a short prefix (such as "ek_") and the
// length, never enough to use it.
func Mask(secret string) string {
	if secret == "" {
		return "<none>"
	}
	prefix := ""
	if len(secret) >= 12 && secret[2] == '_' {
		prefix = secret[:3]
	}
	return fmt.Sprintf("%s***(%d chars)", prefix, len(secret))
}

// SessionDefaults are the session settings a key is minted with: the backend applies them
// to every session opened with the key. A broker may pin them for its whole fleet.
type SessionDefaults struct {
	Instructions string          `json:"instructions,omitempty"`
	Voice        string          `json:"voice,omitempty"`
	Tools        json.RawMessage `json:"tools,omitempty"` // a JSON array of tool definitions
}

// Merged returns d with the non-empty fields of o applied (o may be nil).
func (d SessionDefaults) Merged(o *SessionDefaults) SessionDefaults {
	if o == nil {
		return d
	}
	if o.Instructions != "" {
		d.Instructions = o.Instructions
	}
	if o.Voice != "" {
		d.Voice = o.Voice
	}
	if len(o.Tools) > 0 {
		d.Tools = o.Tools
	}
	return d
}

// IsZero reports whether no field is set.
func (d SessionDefaults) IsZero() bool {
	return d.Instructions == "" && d.Voice == "" && len(d.Tools) == 0
}

// DefaultModel is the realtime model used when none is configured (OpenAI's GA model;
// Azure names a deployment instead).
const DefaultModel = "gpt-realtime"

// Key lifetimes the services document: a preview key lives one minute (the shortest any
// backend gives, so also what a key without expires_at is assumed to live); a GA key
// lives ten minutes unless expires_after asks otherwise.
const (
	PreviewKeyLifetime = time.Minute
	GAKeyLifetime      = 10 * time.Minute
)
