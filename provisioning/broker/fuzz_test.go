package broker

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/provisioning/internal/provtest"
)

// FuzzRequest sends arbitrary bodies and authorization headers to a broker (SQLite store,
// fake upstream): it must never panic, answer only the statuses it documents, and mint
// only for the right token with a body that decodes strictly.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{"", "{}", `{"session":{"voice":"cedar"}}`, `{"session":{"tools":[{"type":"function","name":"t"}]}}`,
		`{"session":{"tools":{}}}`, `{} {}`, `{"session":null}`, `[`, "\x00", `{"session":{"instructions":"` + strings.Repeat("x", 100) + `"}}`} {
		f.Add(s, true)
		f.Add(s, false)
	}
	clk := provtest.NewClock(provtest.Start)
	up := provtest.NewBackend(f, clk)
	store := openSQLite(f)
	tok, err := store.Add(f.Context(), "kitchen", clk.Now())
	if err != nil {
		f.Fatal(err)
	}
	b, err := New(azureGA(f, up), store, WithClock(clk), WithRateLimit(6000, 1000), WithClientRateLimit(1e6, 1e6))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string, goodToken bool) {
		req := httptest.NewRequest("POST", "/v1/keys", strings.NewReader(body))
		if goodToken {
			req.Header.Set("Authorization", "Bearer "+tok)
		} else {
			req.Header.Set("Authorization", "Bearer "+body)
		}
		clk.Advance(time.Second) // keep the device under its rate limit
		rec := httptest.NewRecorder()
		b.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			if !goodToken {
				t.Fatalf("minted for token %q", body)
			}
			if _, status, _ := decodeRequest(strings.NewReader(body)); status != 0 {
				t.Fatalf("minted for a body decodeRequest refuses: %q", body)
			}
		case http.StatusUnauthorized:
			if goodToken {
				t.Fatalf("good token refused for body %q", body)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusTooManyRequests, http.StatusBadGateway:
		default:
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body)
		}
		if strings.Contains(rec.Body.String(), tok) {
			t.Fatal("the answer holds the device token")
		}
	})
}
