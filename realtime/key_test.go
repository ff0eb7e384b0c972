package realtime

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestMaskNeverShowsSecret(t *testing.T) {
	for _, s := range []string{"ek_68af0123456789abcdef", "sk-test-0123456789abcdef0123", "short"} {
		m := Mask(s)
		if strings.Contains(m, s[3:]) {
			t.Errorf("Mask(%q) = %q", s, m)
		}
	}
	k := Key{Value: "ek_68af0123456789abcdef", SDPURL: "https://x"}
	if strings.Contains(k.String(), "68af01") {
		t.Errorf("Key.String leaks: %s", k)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("minted", "key", k)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("minted", "key", k, "ptr", &k)
	if strings.Contains(buf.String(), "68af01") || !strings.Contains(buf.String(), "ek_***") {
		t.Errorf("slog leaks the key: %s", buf.String())
	}
}

func TestDialectRoundTrip(t *testing.T) {
	for _, d := range []Dialect{DialectGA, DialectPreview} {
		got, err := ParseDialect(d.String())
		if err != nil || got != d {
			t.Errorf("ParseDialect(%q) = %v, %v; want %v", d.String(), got, err, d)
		}
	}
	if d, err := ParseDialect("beta"); err != nil || d != DialectPreview {
		t.Errorf("beta = %v, %v", d, err)
	}
	if _, err := ParseDialect("v2"); err == nil {
		t.Error("ParseDialect(v2) succeeded")
	}
	if s := Dialect(7).String(); s != "Dialect(7)" {
		t.Errorf("Dialect(7) = %q", s)
	}
}

func TestKeyValidFor(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k := Key{Value: "ek_x", ExpiresAt: now.Add(time.Minute)}
	for _, tc := range []struct {
		k    Key
		d    time.Duration
		want bool
	}{
		{k, 30 * time.Second, true},
		{k, time.Minute, true},
		{k, time.Minute + time.Nanosecond, false},
		{Key{ExpiresAt: now.Add(time.Hour)}, 0, false}, // no value
		{Key{Value: "ek_x"}, 0, false},                 // no expiry
		{Key{Value: "ek_x", ExpiresAt: now}, time.Second, false},
	} {
		if got := tc.k.ValidFor(now, tc.d); got != tc.want {
			t.Errorf("%v.ValidFor(%s) = %v, want %v", tc.k, tc.d, got, tc.want)
		}
	}
}

func TestSessionDefaultsMerged(t *testing.T) {
	d := SessionDefaults{Instructions: "be brief", Voice: "alloy"}
	if got := d.Merged(nil); got.Instructions != "be brief" || got.Voice != "alloy" {
		t.Errorf("Merged(nil) = %+v", got)
	}
	got := d.Merged(&SessionDefaults{Voice: "verse", Tools: json.RawMessage(`[]`)})
	if got.Instructions != "be brief" || got.Voice != "verse" || string(got.Tools) != "[]" {
		t.Errorf("Merged = %+v", got)
	}
	if !(SessionDefaults{}).IsZero() || got.IsZero() {
		t.Error("IsZero")
	}
}
