package provisioning

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/provisioning/internal/provtest"
	"github.com/edgevoice/edgevoice/realtime"
)

func azureGA(t *testing.T, b *provtest.Backend, extra ...Option) Provider {
	t.Helper()
	opts := append([]Option{WithDeployment(provtest.Deployment), WithMintURL(b.GAURL()),
		WithSDPURL(b.Srv.URL + "/openai/v1/realtime/calls"), WithCredential(StaticCredential(provtest.APIKey)),
		WithClock(b.Clock()), WithHTTPClient(b.Srv.Client()), WithSessionDefaults(realtime.SessionDefaults{Voice: "marin", Instructions: "be brief"})}, extra...)
	p, err := NewProvider(ProfileAzure, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func noSecret(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), provtest.APIKey) {
		t.Errorf("error text leaks the credential: %v", err)
	}
}

func TestProviderWireFormats(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	ctx := context.Background()

	t.Run("azure GA api-key", func(t *testing.T) {
		k, err := azureGA(t, b).Mint(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		rec := b.Requests()[len(b.Requests())-1]
		if rec.APIKey != provtest.APIKey || rec.Auth != "" {
			t.Errorf("headers api-key=%q auth=%q, want the api-key only", rec.APIKey, rec.Auth)
		}
		sess := rec.Body["session"].(map[string]any)
		voice := sess["audio"].(map[string]any)["output"].(map[string]any)["voice"]
		if sess["model"] != provtest.Deployment || voice != "marin" || sess["instructions"] != "be brief" {
			t.Errorf("GA body %v", rec.Body)
		}
		if k.Dialect != realtime.DialectGA || k.Profile != ProfileAzure || !strings.HasSuffix(k.SDPURL, "/openai/v1/realtime/calls") ||
			!k.ExpiresAt.Equal(provtest.Start.Add(10*time.Minute).Truncate(time.Second)) || !k.MintedAt.Equal(provtest.Start) {
			t.Errorf("key %v dialect %v minted %v", k, k.Dialect, k.MintedAt)
		}
	})
	t.Run("azure GA entra bearer + expires_after", func(t *testing.T) {
		if _, err := azureGA(t, b, WithAuth(AuthBearer), WithKeyLifetime(600*time.Second)).Mint(ctx, nil); err != nil {
			t.Fatal(err)
		}
		rec := b.Requests()[len(b.Requests())-1]
		if rec.Auth != "Bearer "+provtest.APIKey || rec.APIKey != "" {
			t.Errorf("headers api-key=%q auth=%q, want Bearer only", rec.APIKey, rec.Auth)
		}
		ea := rec.Body["expires_after"].(map[string]any)
		if ea["anchor"] != "created_at" || ea["seconds"] != float64(600) {
			t.Errorf("expires_after %v", ea)
		}
	})
	t.Run("openai GA", func(t *testing.T) {
		p, err := NewProvider(ProfileOpenAI, WithMintURL(b.OpenAIURL()), WithCredential(StaticCredential(provtest.APIKey)), WithClock(clk))
		if err != nil {
			t.Fatal(err)
		}
		k, err := p.Mint(ctx, &realtime.SessionDefaults{Voice: "cedar"})
		if err != nil {
			t.Fatal(err)
		}
		rec := b.Requests()[len(b.Requests())-1]
		if rec.Auth != "Bearer "+provtest.APIKey || rec.Body["session"].(map[string]any)["model"] != "gpt-realtime" {
			t.Errorf("openai request %+v", rec)
		}
		if k.SDPURL != "https://api.openai.com/v1/realtime/calls" || k.Dialect != realtime.DialectGA {
			t.Errorf("openai key %v", k)
		}
	})
	t.Run("azure preview", func(t *testing.T) {
		p, err := NewProvider(ProfileAzurePreview, WithMintURL(b.PreviewURL()), WithRegion("swedencentral"),
			WithDeployment(provtest.Deployment), WithCredential(StaticCredential(provtest.APIKey)), WithClock(clk),
			WithSessionDefaults(realtime.SessionDefaults{Voice: "verse"}))
		if err != nil {
			t.Fatal(err)
		}
		k, err := p.Mint(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		rec := b.Requests()[len(b.Requests())-1]
		if rec.APIKey != provtest.APIKey || rec.Body["model"] != provtest.Deployment || rec.Body["voice"] != "verse" {
			t.Errorf("preview request %+v", rec)
		}
		want := "https://swedencentral.realtimeapi-preview.ai.azure.com/v1/realtimertc?model=" + provtest.Deployment
		if k.SDPURL != want || k.Dialect != realtime.DialectPreview || k.ExpiresAt.Sub(provtest.Start) != time.Minute {
			t.Errorf("preview key %v, want SDP %s, 1 min", k, want)
		}
	})
	t.Run("GA answer in client_secret shape", func(t *testing.T) {
		b.Handle = func(w http.ResponseWriter, r *http.Request, rec provtest.Recorded) bool {
			provtest.WriteJSON(w, map[string]any{"id": "sess_x", "client_secret": map[string]any{"value": "ek_nested_value_123", "expires_at": provtest.Start.Add(time.Minute).Unix()}})
			return true
		}
		defer func() { b.Handle = nil }()
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
		opts    []Option
		want    string
	}{
		{"unknown profile", "azure-ga", nil, "profiles: azure-preview, azure, openai, broker"},
		{"wrong region", ProfileAzurePreview, []Option{cred, WithResource("r"), WithDeployment("d"), WithRegion("westeurope")}, "regions that exist: eastus2, swedencentral"},
		{"no credential", ProfileOpenAI, nil, "no credential"},
		{"preview bearer", ProfileAzurePreview, []Option{cred, WithResource("r"), WithDeployment("d"), WithRegion("eastus2"), WithAuth(AuthBearer)}, "api-key"},
		{"bad url", ProfileOpenAI, []Option{cred, WithMintURL("ftp://x")}, "bad URL"},
		{"resource with dots", ProfileAzure, []Option{cred, WithResource("r.openai.azure.com")}, "bare resource name"},
		{"broker without url", ProfileBroker, []Option{cred}, "no broker URL"},
		{"ttl", ProfileOpenAI, []Option{cred, WithKeyLifetime(3 * time.Hour)}, "out of range"},
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
	pp := p.(*Azure)
	if pp.mintURL != "https://myres.openai.azure.com/openai/v1/realtime/client_secrets" ||
		pp.sdpURL != "https://myres.openai.azure.com/openai/v1/realtime/calls" ||
		pp.fallback.mintURL != "https://myres.openai.azure.com/openai/realtimeapi/sessions?api-version=2025-04-01-preview" ||
		pp.fallback.sdpURL != "https://eastus2.realtimeapi-preview.ai.azure.com/v1/realtimertc?model=dep" {
		t.Errorf("derived URLs: %s %s %s %s", pp.mintURL, pp.sdpURL, pp.fallback.mintURL, pp.fallback.sdpURL)
	}
}

func TestProviderFaults(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	ctx := context.Background()
	status := func(code int, hdr ...string) func(http.ResponseWriter, *http.Request, provtest.Recorded) bool {
		return func(w http.ResponseWriter, _ *http.Request, _ provtest.Recorded) bool {
			for i := 0; i+1 < len(hdr); i += 2 {
				w.Header().Set(hdr[i], hdr[i+1])
			}
			provtest.APIError(w, code, "error", "backend says no")
			return true
		}
	}
	body := func(s string) func(http.ResponseWriter, *http.Request, provtest.Recorded) bool {
		return func(w http.ResponseWriter, _ *http.Request, _ provtest.Recorded) bool {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(s))
			return true
		}
	}
	for _, tc := range []struct {
		name       string
		handle     func(http.ResponseWriter, *http.Request, provtest.Recorded) bool
		want       string
		permanent  bool
		notFound   bool
		retryAfter time.Duration
	}{
		{"401", status(401), "HTTP 401", true, false, 0},
		{"403", status(403), "credential rejected", true, false, 0},
		{"404 no fallback", status(404), "HTTP 404", false, true, 0},
		{"429 retry-after seconds", status(429, "Retry-After", "7"), "HTTP 429", false, false, 7 * time.Second},
		{"429 retry-after date", status(429, "Retry-After", provtest.Start.Add(90*time.Second).Format(http.TimeFormat)), "HTTP 429", false, false, 90 * time.Second},
		{"429 without retry-after", status(429), "HTTP 429", false, false, 0},
		{"500", status(500), "HTTP 500", false, false, 0},
		{"502", status(502), "HTTP 502", false, false, 0},
		{"503 retry-after", status(503, "Retry-After", "30"), "HTTP 503", false, false, 30 * time.Second},
		{"malformed JSON", body(`{"value": "ek_abc",`), "not the expected JSON", false, false, 0},
		{"no key field", body(`{"expires_at": 1900000000, "session": {}}`), "no key", false, false, 0},
		{"empty key", body(`{"value": "", "expires_at": 1900000000}`), "no key", false, false, 0},
		{"expiry in the past", body(`{"value": "ek_abcdefghijkl", "expires_at": 1700000000}`), "not in the future", false, false, 0},
		{"bad expiry", body(`{"value": "ek_abcdefghijkl", "expires_at": "soon"}`), "not the expected JSON", false, false, 0},
		{"oversized", func(w http.ResponseWriter, _ *http.Request, _ provtest.Recorded) bool {
			w.Write([]byte(`{"value":"ek_x","pad":"`))
			w.Write([]byte(strings.Repeat("A", 1<<20)))
			w.Write([]byte(`"}`))
			return true
		}, "larger than 65536 bytes", false, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := provtest.NewBackend(t, clk)
			b.Handle = tc.handle
			_, err := azureGA(t, b).Mint(ctx, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			noSecret(t, err)
			if errors.Is(err, ErrCredentialRejected) != tc.permanent || errors.Is(err, ErrNotFound) != tc.notFound {
				t.Errorf("permanent=%v notfound=%v, want %v %v", errors.Is(err, ErrCredentialRejected), errors.Is(err, ErrNotFound), tc.permanent, tc.notFound)
			}
			if got := retryAfter(err); got != tc.retryAfter {
				t.Errorf("retry after %s, want %s", got, tc.retryAfter)
			}
		})
	}
}

func TestProviderGAFallbackToPreview(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	gaHits := 0
	b.Handle = func(w http.ResponseWriter, r *http.Request, _ provtest.Recorded) bool {
		if r.URL.Path == "/openai/v1/realtime/client_secrets" {
			gaHits++
			provtest.APIError(w, 404, "404", "Resource not found")
			return true
		}
		return false
	}
	p := azureGA(t, b, WithPreviewFallback(true, b.PreviewURL(), ""), WithRegion("eastus2"))
	for i := range 2 {
		k, err := p.Mint(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if k.Dialect != realtime.DialectPreview || k.Profile != ProfileAzurePreview ||
			k.SDPURL != "https://eastus2.realtimeapi-preview.ai.azure.com/v1/realtimertc?model="+provtest.Deployment {
			t.Errorf("mint %d: key %v dialect %v, want a preview key", i, k, k.Dialect)
		}
	}
	if gaHits != 1 {
		t.Errorf("GA endpoint asked %d times, want once (the fallback sticks)", gaHits)
	}
	reqs := b.Requests()
	if last := reqs[len(reqs)-1]; last.Body["voice"] != "marin" || last.Body["type"] != nil {
		t.Errorf("preview body %v", last.Body)
	}
}

func TestProviderSlowBackendTimesOut(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	release := make(chan struct{})
	defer close(release)
	b.Handle = func(w http.ResponseWriter, r *http.Request, _ provtest.Recorded) bool {
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
	p, err := NewProvider(ProfileOpenAI, WithMintURL("http://"+addr+"/v1/realtime/client_secrets"), WithCredential(StaticCredential(provtest.APIKey)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Mint(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "connection refused") || errors.Is(err, ErrCredentialRejected) {
		t.Fatalf("err = %v", err)
	}
	noSecret(t, err)
}

func TestProviderRefusesRedirectToOtherHost(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	evil := provtest.NewBackend(t, clk)
	b := provtest.NewBackend(t, clk)
	b.Handle = func(w http.ResponseWriter, r *http.Request, _ provtest.Recorded) bool {
		http.Redirect(w, r, evil.GAURL(), http.StatusTemporaryRedirect)
		return true
	}
	_, err := azureGA(t, b).Mint(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "refusing redirect") {
		t.Fatalf("err = %v", err)
	}
	if n := len(evil.Requests()); n != 0 {
		t.Errorf("the other host got %d requests (with the credential)", n)
	}
}

func TestProviderTLS(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	fb := provtest.NewHandler(clk)
	fb.TTL = time.Minute
	srv := httptest.NewUnstartedServer(fb)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	mint := srv.URL + "/v1/realtime/client_secrets"
	transport := &http.Transport{} // a client of its own, not the test server's
	t.Cleanup(transport.CloseIdleConnections)
	p, err := NewProvider(ProfileOpenAI, WithMintURL(mint), WithCredential(StaticCredential(provtest.APIKey)), WithClock(clk),
		WithHTTPClient(&http.Client{Transport: transport}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Mint(context.Background(), nil)
	var uerr x509.UnknownAuthorityError
	if err == nil || !errors.As(err, &uerr) {
		t.Fatalf("untrusted certificate: err = %v, want x509.UnknownAuthorityError", err)
	}
	if fb.N.Load() != 0 {
		t.Errorf("the handler ran %d times although TLS failed", fb.N.Load())
	}
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	p, err = NewProvider(ProfileOpenAI, WithMintURL(mint), WithCredential(StaticCredential(provtest.APIKey)), WithClock(clk),
		WithHTTPClient(&http.Client{Transport: transport}), WithRootCAs(pool))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Mint(context.Background(), nil); err != nil {
		t.Fatalf("with the CA bundle: %v", err)
	}
	p.(*OpenAI).client.CloseIdleConnections()
}

// retryAfter returns the Retry-After delay an *HTTPError carries.
func retryAfter(err error) time.Duration {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.RetryAfter
	}
	return 0
}

func TestAuthModeRoundTrip(t *testing.T) {
	for _, m := range []AuthMode{AuthAPIKey, AuthBearer} {
		got, err := ParseAuthMode(m.String())
		if err != nil || got != m {
			t.Errorf("auth %v: %v", m, err)
		}
	}
	if _, err := ParseAuthMode("basic"); err == nil {
		t.Error("bad auth accepted")
	}
}
