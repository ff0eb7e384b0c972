package provisioning

import (
	"context"
	"crypto/x509"
	"errors"
	"github.com/edgevoice/edgevoice/realtime"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func azureGA(t *testing.T, b *fakeBackend, extra ...ProviderOption) Provider {
	t.Helper()
	opts := append([]ProviderOption{WithDeployment(testDeploy), WithMintURL(b.gaURL()),
		WithSDPURL(b.srv.URL + "/openai/v1/realtime/calls"), WithCredential(StaticCredential(testAPIKey)),
		WithClock(b.clk), WithHTTPClient(b.srv.Client()), WithSessionDefaults(realtime.SessionDefaults{Voice: "marin", Instructions: "be brief"})}, extra...)
	p, err := NewProvider(ProfileAzure, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func noSecret(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testAPIKey) {
		t.Errorf("error text leaks the credential: %v", err)
	}
}

func TestProviderWireFormats(t *testing.T) {
	checkGoroutines(t)
	clk := newFakeClock(testStart)
	b := newFakeBackend(t, clk)
	ctx := context.Background()

	t.Run("azure GA api-key", func(t *testing.T) {
		k, err := azureGA(t, b).Mint(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		rec := b.requests()[len(b.requests())-1]
		if rec.APIKey != testAPIKey || rec.Auth != "" {
			t.Errorf("headers api-key=%q auth=%q, want the api-key only", rec.APIKey, rec.Auth)
		}
		sess := rec.Body["session"].(map[string]any)
		voice := sess["audio"].(map[string]any)["output"].(map[string]any)["voice"]
		if sess["model"] != testDeploy || voice != "marin" || sess["instructions"] != "be brief" {
			t.Errorf("GA body %v", rec.Body)
		}
		if k.Dialect != realtime.DialectGA || k.Profile != ProfileAzure || !strings.HasSuffix(k.SDPURL, "/openai/v1/realtime/calls") ||
			!k.ExpiresAt.Equal(testStart.Add(10*time.Minute).Truncate(time.Second)) || !k.MintedAt.Equal(testStart) {
			t.Errorf("key %v dialect %v minted %v", k, k.Dialect, k.MintedAt)
		}
	})
	t.Run("azure GA entra bearer + expires_after", func(t *testing.T) {
		if _, err := azureGA(t, b, WithAuth(AuthBearer), WithKeyLifetime(600*time.Second)).Mint(ctx, nil); err != nil {
			t.Fatal(err)
		}
		rec := b.requests()[len(b.requests())-1]
		if rec.Auth != "Bearer "+testAPIKey || rec.APIKey != "" {
			t.Errorf("headers api-key=%q auth=%q, want Bearer only", rec.APIKey, rec.Auth)
		}
		ea := rec.Body["expires_after"].(map[string]any)
		if ea["anchor"] != "created_at" || ea["seconds"] != float64(600) {
			t.Errorf("expires_after %v", ea)
		}
	})
	t.Run("openai GA", func(t *testing.T) {
		p, err := NewProvider(ProfileOpenAI, WithMintURL(b.openaiURL()), WithCredential(StaticCredential(testAPIKey)), WithClock(clk))
		if err != nil {
			t.Fatal(err)
		}
		k, err := p.Mint(ctx, &realtime.SessionDefaults{Voice: "cedar"})
		if err != nil {
			t.Fatal(err)
		}
		rec := b.requests()[len(b.requests())-1]
		if rec.Auth != "Bearer "+testAPIKey || rec.Body["session"].(map[string]any)["model"] != "gpt-realtime" {
			t.Errorf("openai request %+v", rec)
		}
		if k.SDPURL != "https://api.openai.com/v1/realtime/calls" || k.Dialect != realtime.DialectGA {
			t.Errorf("openai key %v", k)
		}
	})
	t.Run("azure preview", func(t *testing.T) {
		p, err := NewProvider(ProfileAzurePreview, WithMintURL(b.previewURL()), WithRegion("swedencentral"),
			WithDeployment(testDeploy), WithCredential(StaticCredential(testAPIKey)), WithClock(clk),
			WithSessionDefaults(realtime.SessionDefaults{Voice: "verse"}))
		if err != nil {
			t.Fatal(err)
		}
		k, err := p.Mint(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		rec := b.requests()[len(b.requests())-1]
		if rec.APIKey != testAPIKey || rec.Body["model"] != testDeploy || rec.Body["voice"] != "verse" {
			t.Errorf("preview request %+v", rec)
		}
		want := "https://swedencentral.realtimeapi-preview.ai.azure.com/v1/realtimertc?model=" + testDeploy
		if k.SDPURL != want || k.Dialect != realtime.DialectPreview || k.ExpiresAt.Sub(testStart) != time.Minute {
			t.Errorf("preview key %v, want SDP %s, 1 min", k, want)
		}
	})
	t.Run("GA answer in client_secret shape", func(t *testing.T) {
		b.handle = func(w http.ResponseWriter, r *http.Request, rec recorded) bool {
			writeJSON(w, map[string]any{"id": "sess_x", "client_secret": map[string]any{"value": "ek_nested_value_123", "expires_at": testStart.Add(time.Minute).Unix()}})
			return true
		}
		defer func() { b.handle = nil }()
		k, err := azureGA(t, b).Mint(ctx, nil)
		if err != nil || k.Value != "ek_nested_value_123" {
			t.Fatalf("got %v, %v", k, err)
		}
	})
}

func TestProviderConfigErrors(t *testing.T) {
	cred := WithCredential(StaticCredential("x"))
	for _, tc := range []struct {
		name    string
		profile string
		opts    []ProviderOption
		want    string
	}{
		{"unknown profile", "azure-ga", nil, "profiles: azure-preview, azure, openai, broker"},
		{"wrong region", ProfileAzurePreview, []ProviderOption{cred, WithResource("r"), WithDeployment("d"), WithRegion("westeurope")}, "regions that exist: eastus2, swedencentral"},
		{"no credential", ProfileOpenAI, nil, "no credential"},
		{"preview bearer", ProfileAzurePreview, []ProviderOption{cred, WithResource("r"), WithDeployment("d"), WithRegion("eastus2"), WithAuth(AuthBearer)}, "api-key"},
		{"bad url", ProfileOpenAI, []ProviderOption{cred, WithMintURL("ftp://x")}, "bad URL"},
		{"resource with dots", ProfileAzure, []ProviderOption{cred, WithResource("r.openai.azure.com")}, "bare resource name"},
		{"broker without url", ProfileBroker, []ProviderOption{cred}, "no broker URL"},
		{"ttl", ProfileOpenAI, []ProviderOption{cred, WithKeyLifetime(3 * time.Hour)}, "out of range"},
	} {
		_, err := NewProvider(tc.profile, tc.opts...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	p, err := NewProvider(ProfileAzure, cred, WithResource("myres"), WithDeployment("dep"), WithPreviewFallback(true, "", ""), WithRegion("eastus2"))
	if err != nil {
		t.Fatal(err)
	}
	pp := p.(*provider)
	if pp.mintURL != "https://myres.openai.azure.com/openai/v1/realtime/client_secrets" ||
		pp.sdpURL != "https://myres.openai.azure.com/openai/v1/realtime/calls" ||
		pp.previewMintURL != "https://myres.openai.azure.com/openai/realtimeapi/sessions?api-version=2025-04-01-preview" ||
		pp.previewSDPURL != "https://eastus2.realtimeapi-preview.ai.azure.com/v1/realtimertc?model=dep" {
		t.Errorf("derived URLs: %s %s %s %s", pp.mintURL, pp.sdpURL, pp.previewMintURL, pp.previewSDPURL)
	}
}

func TestProviderFaults(t *testing.T) {
	checkGoroutines(t)
	clk := newFakeClock(testStart)
	ctx := context.Background()
	status := func(code int, hdr ...string) func(http.ResponseWriter, *http.Request, recorded) bool {
		return func(w http.ResponseWriter, _ *http.Request, _ recorded) bool {
			for i := 0; i+1 < len(hdr); i += 2 {
				w.Header().Set(hdr[i], hdr[i+1])
			}
			apiError(w, code, "error", "backend says no")
			return true
		}
	}
	body := func(s string) func(http.ResponseWriter, *http.Request, recorded) bool {
		return func(w http.ResponseWriter, _ *http.Request, _ recorded) bool {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(s))
			return true
		}
	}
	for _, tc := range []struct {
		name       string
		handle     func(http.ResponseWriter, *http.Request, recorded) bool
		want       string
		permanent  bool
		notFound   bool
		retryAfter time.Duration
	}{
		{"401", status(401), "HTTP 401", true, false, 0},
		{"403", status(403), "credential rejected", true, false, 0},
		{"404 no fallback", status(404), "HTTP 404", false, true, 0},
		{"429 retry-after seconds", status(429, "Retry-After", "7"), "HTTP 429", false, false, 7 * time.Second},
		{"429 retry-after date", status(429, "Retry-After", testStart.Add(90*time.Second).Format(http.TimeFormat)), "HTTP 429", false, false, 90 * time.Second},
		{"429 without retry-after", status(429), "HTTP 429", false, false, 0},
		{"500", status(500), "HTTP 500", false, false, 0},
		{"502", status(502), "HTTP 502", false, false, 0},
		{"503 retry-after", status(503, "Retry-After", "30"), "HTTP 503", false, false, 30 * time.Second},
		{"malformed JSON", body(`{"value": "ek_abc",`), "not the expected JSON", false, false, 0},
		{"no key field", body(`{"expires_at": 1900000000, "session": {}}`), "no key", false, false, 0},
		{"empty key", body(`{"value": "", "expires_at": 1900000000}`), "no key", false, false, 0},
		{"expiry in the past", body(`{"value": "ek_abcdefghijkl", "expires_at": 1700000000}`), "not in the future", false, false, 0},
		{"bad expiry", body(`{"value": "ek_abcdefghijkl", "expires_at": "soon"}`), "not the expected JSON", false, false, 0},
		{"oversized", func(w http.ResponseWriter, _ *http.Request, _ recorded) bool {
			w.Write([]byte(`{"value":"ek_x","pad":"`))
			w.Write([]byte(strings.Repeat("A", 1<<20)))
			w.Write([]byte(`"}`))
			return true
		}, "larger than 65536 bytes", false, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newFakeBackend(t, clk)
			b.handle = tc.handle
			_, err := azureGA(t, b).Mint(ctx, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			noSecret(t, err)
			if IsPermanent(err) != tc.permanent || errors.Is(err, ErrNotFound) != tc.notFound {
				t.Errorf("permanent=%v notfound=%v, want %v %v", IsPermanent(err), errors.Is(err, ErrNotFound), tc.permanent, tc.notFound)
			}
			if got := retryAfterOf(err); got != tc.retryAfter {
				t.Errorf("retry after %s, want %s", got, tc.retryAfter)
			}
		})
	}
}

func TestProviderGAFallbackToPreview(t *testing.T) {
	checkGoroutines(t)
	clk := newFakeClock(testStart)
	b := newFakeBackend(t, clk)
	gaHits := 0
	b.handle = func(w http.ResponseWriter, r *http.Request, _ recorded) bool {
		if r.URL.Path == "/openai/v1/realtime/client_secrets" {
			gaHits++
			apiError(w, 404, "404", "Resource not found")
			return true
		}
		return false
	}
	p := azureGA(t, b, WithPreviewFallback(true, b.previewURL(), ""), WithRegion("eastus2"))
	for i := range 2 {
		k, err := p.Mint(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if k.Dialect != realtime.DialectPreview || k.Profile != ProfileAzurePreview ||
			k.SDPURL != "https://eastus2.realtimeapi-preview.ai.azure.com/v1/realtimertc?model="+testDeploy {
			t.Errorf("mint %d: key %v dialect %v, want a preview key", i, k, k.Dialect)
		}
	}
	if gaHits != 1 {
		t.Errorf("GA endpoint asked %d times, want once (the fallback sticks)", gaHits)
	}
	reqs := b.requests()
	if last := reqs[len(reqs)-1]; last.Body["voice"] != "marin" || last.Body["type"] != nil {
		t.Errorf("preview body %v", last.Body)
	}
}

func TestProviderSlowBackendTimesOut(t *testing.T) {
	checkGoroutines(t)
	clk := newFakeClock(testStart)
	b := newFakeBackend(t, clk)
	release := make(chan struct{})
	defer close(release)
	b.handle = func(w http.ResponseWriter, r *http.Request, _ recorded) bool {
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return true
	}
	start := time.Now()
	_, err := azureGA(t, b, WithRequestTimeout(100*time.Millisecond)).Mint(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "no answer within 100ms") {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("timeout took %s", el)
	}
}

func TestProviderConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p, err := NewProvider(ProfileOpenAI, WithMintURL("http://"+addr+"/v1/realtime/client_secrets"), WithCredential(StaticCredential(testAPIKey)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Mint(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "connection refused") || IsPermanent(err) {
		t.Fatalf("err = %v", err)
	}
	noSecret(t, err)
}

func TestProviderRefusesRedirectToOtherHost(t *testing.T) {
	checkGoroutines(t)
	clk := newFakeClock(testStart)
	evil := newFakeBackend(t, clk)
	b := newFakeBackend(t, clk)
	b.handle = func(w http.ResponseWriter, r *http.Request, _ recorded) bool {
		http.Redirect(w, r, evil.gaURL(), http.StatusTemporaryRedirect)
		return true
	}
	_, err := azureGA(t, b).Mint(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "refusing redirect") {
		t.Fatalf("err = %v", err)
	}
	if n := len(evil.requests()); n != 0 {
		t.Errorf("the other host got %d requests (with the credential)", n)
	}
}

func TestProviderTLS(t *testing.T) {
	checkGoroutines(t)
	clk := newFakeClock(testStart)
	fb := &fakeBackend{t: t, clk: clk, ttl: time.Minute}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(fb.serve))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	mint := srv.URL + "/v1/realtime/client_secrets"
	transport := &http.Transport{} // a client of its own, not the test server's
	t.Cleanup(transport.CloseIdleConnections)
	p, err := NewProvider(ProfileOpenAI, WithMintURL(mint), WithCredential(StaticCredential(testAPIKey)), WithClock(clk),
		WithHTTPClient(&http.Client{Transport: transport}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Mint(context.Background(), nil)
	var uerr x509.UnknownAuthorityError
	if err == nil || !errors.As(err, &uerr) {
		t.Fatalf("untrusted certificate: err = %v, want x509.UnknownAuthorityError", err)
	}
	if fb.n.Load() != 0 {
		t.Errorf("the handler ran %d times although TLS failed", fb.n.Load())
	}
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	p, err = NewProvider(ProfileOpenAI, WithMintURL(mint), WithCredential(StaticCredential(testAPIKey)), WithClock(clk),
		WithHTTPClient(&http.Client{Transport: transport}), WithRootCAs(pool))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Mint(context.Background(), nil); err != nil {
		t.Fatalf("with the CA bundle: %v", err)
	}
	p.(*provider).client.CloseIdleConnections()
}
