package realtime

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestScrub: a secret in a backend's text is replaced wherever it appears, and what
// looks like a key too; a JSON body stays JSON (the Bearer pattern once ate an escape).
func TestScrub(t *testing.T) {
	const sec = "SECRETVALUE0123"
	for _, in := range []string{
		"invalid key " + sec,
		`{"error":{"message":"invalid key \"Bearer ` + sec + `\" at /x?code=QSEC99"}}`,
		"got api-key: " + sec + ", bearer sk-abcdefgh12345 ek_abcdefgh12 evd_abcdefgh12",
	} {
		out := Scrub(in, append(URLSecrets("https://u:PW1234@h/x?code=QSEC99&api-version=2025"), sec)...)
		for _, s := range []string{sec, "QSEC99", "sk-abcdefgh", "ek_abcdefgh", "evd_abcdefgh"} {
			if strings.Contains(out, s) {
				t.Errorf("Scrub(%q) = %q: shows %q", in, out, s)
			}
		}
		if strings.HasPrefix(in, "{") && !json.Valid([]byte(out)) {
			t.Errorf("Scrub broke the JSON: %q", out)
		}
	}
	if got := URLSecrets("https://u:PW1234@h/x?code=QSEC99&api-version=2025"); len(got) != 2 {
		t.Errorf("URLSecrets = %q, want the password and code", got)
	}
	if got := RedactURL("https://u:PW1234@h/x?code=QSEC99&api-version=2025"); strings.Contains(got, "PW1234") || strings.Contains(got, "QSEC99") || !strings.Contains(got, "api-version=2025") {
		t.Errorf("RedactURL = %q", got)
	}
}
