package emulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzMintBodies posts arbitrary bodies to the four mint endpoints (handler called
// directly, no network): never a panic, always 200 with a key or a 4xx JSON error.
func FuzzMintBodies(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `{"model":"d","voice":"verse"}`, `{"type":"realtime"}`,
		`{"session":{"type":"realtime","model":"gpt-realtime","audio":{"output":{"voice":"marin"}}}}`,
		`{"expires_after":{"anchor":"created_at","seconds":5},"session":{"type":"realtime"}}`,
		`{"session":{"instructions":"x","tools":[{"name":"t","parameters":{}}]}}`,
		`{"session":{"type":"realtime","audio":{"input":{"turn_detection":{"type":"semantic_vad","eagerness":"high"}}}}}`,
		`[1,2]`, `{"session":null}`, `{"session":{"type":7}}`, "\x00\xff",
	} {
		f.Add(seed)
	}
	s, err := New()
	if err != nil {
		f.Fatal(err)
	}
	s.url = "http://127.0.0.1:9" // never dialled: only used to build URLs
	paths := []struct{ path, header, value string }{
		{"/openai/realtimeapi/sessions?api-version=2025-04-01-preview", "api-key", DefaultAPIKey},
		{"/openai/v1/realtime/client_secrets", "api-key", DefaultAPIKey},
		{"/v1/realtime/client_secrets", "Authorization", "Bearer " + DefaultAPIKey},
		{"/v1/keys", "Authorization", "Bearer " + DefaultDeviceToken},
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, p := range paths {
			req := httptest.NewRequest(http.MethodPost, p.path, strings.NewReader(body))
			req.Header.Set(p.header, p.value)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			var out map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("%s %q: HTTP %d, body not JSON: %q", p.path, body, rec.Code, rec.Body.String())
			}
			switch {
			case rec.Code == http.StatusOK:
				if out["value"] == nil && out["client_secret"] == nil {
					t.Fatalf("%s %q: 200 without a key: %s", p.path, body, rec.Body.String())
				}
			case rec.Code >= 400 && rec.Code < 500:
				if out["error"] == nil {
					t.Fatalf("%s %q: HTTP %d without an error object", p.path, body, rec.Code)
				}
			default:
				t.Fatalf("%s %q: HTTP %d", p.path, body, rec.Code)
			}
		}
	})
}
