package emulator

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/pion/transport/v5/test"
)

// TestProvisioningProviders: the provisioning package's four providers mint keys from
// the emulator's endpoints (their real wire shapes), and the keys open calls.
func TestProvisioningProviders(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t, WithDialect(events.Preview))
	defer srv.Close()
	u := srv.URL()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	common := []provisioning.Option{provisioning.WithHTTPClient(client),
		provisioning.WithSessionDefaults(realtime.SessionDefaults{Instructions: "be brief", Voice: "verse",
			Tools: []byte(`[{"type":"function","name":"lights","parameters":{"type":"object","properties":{}}}]`)})}
	for _, tc := range []struct {
		profile string
		opts    []provisioning.Option
		dialect events.Dialect
	}{
		{"azure-preview", []provisioning.Option{provisioning.WithDeployment("dep"), provisioning.WithCredential(provisioning.StaticCredential(srv.APIKey())),
			provisioning.WithMintURL(u + "/openai/realtimeapi/sessions?api-version=2025-04-01-preview"), provisioning.WithSDPURL(u + "/v1/realtimertc?model=dep")}, events.Preview},
		{"azure", []provisioning.Option{provisioning.WithDeployment("dep"), provisioning.WithCredential(provisioning.StaticCredential(srv.APIKey())),
			provisioning.WithMintURL(u + "/openai/v1/realtime/client_secrets"), provisioning.WithSDPURL(u + "/openai/v1/realtime/calls")}, events.GA},
		{"openai", []provisioning.Option{provisioning.WithCredential(provisioning.StaticCredential(srv.APIKey())), provisioning.WithKeyLifetime(2 * time.Minute),
			provisioning.WithMintURL(u + "/v1/realtime/client_secrets"), provisioning.WithSDPURL(u + "/v1/realtime/calls")}, events.GA},
		{"broker", []provisioning.Option{provisioning.WithCredential(provisioning.StaticCredential(srv.DeviceToken())), provisioning.WithBrokerURL(u)}, events.Preview},
	} {
		p, err := provisioning.NewProvider(tc.profile, append(tc.opts, common...)...)
		if err != nil {
			t.Fatalf("%s: %v", tc.profile, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		k, err := p.Mint(ctx, nil)
		cancel()
		if err != nil {
			t.Fatalf("%s: Mint: %v", tc.profile, err)
		}
		if k.Dialect != tc.dialect {
			t.Errorf("%s: dialect %v", tc.profile, k.Dialect)
		}
		if tc.profile == "openai" && time.Until(k.ExpiresAt) > 2*time.Minute+time.Second {
			t.Errorf("openai: expires_after not honoured: %v", k.ExpiresAt)
		}
		c := dial(t, k)
		created := c.expect(events.TypeSessionCreated)[0].(events.SessionCreated)
		if tc.profile != "broker" && (created.Session.Instructions != "be brief" || created.Session.Voice != "verse" || len(created.Session.Tools) != 1) {
			t.Errorf("%s: the mint-time session did not reach session.created: %+v", tc.profile, created.Session)
		}
		c.close()
	}

	// an injected 401 surfaces as the provider's error
	srv.SetFaults(Faults{MintStatus: 401, MintFailures: 1})
	p, err := provisioning.NewProvider("openai", provisioning.WithHTTPClient(client), provisioning.WithCredential(provisioning.StaticCredential(srv.APIKey())),
		provisioning.WithMintURL(u+"/v1/realtime/client_secrets"), provisioning.WithSDPURL(u+"/v1/realtime/calls"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Mint(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("mint with a 401 fault: %v", err)
	}
}

// TestAzureFallback: with the GA surface missing, the azure provider falls back to the
// preview endpoints and the key opens a preview call.
func TestAzureFallback(t *testing.T) {
	defer test.CheckRoutines(t)()
	srv := start(t, WithoutGA())
	defer srv.Close()
	u := srv.URL()
	p, err := provisioning.NewProvider("azure", provisioning.WithHTTPClient(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}),
		provisioning.WithDeployment("dep"), provisioning.WithCredential(provisioning.StaticCredential(srv.APIKey())),
		provisioning.WithMintURL(u+"/openai/v1/realtime/client_secrets"), provisioning.WithSDPURL(u+"/openai/v1/realtime/calls"),
		provisioning.WithPreviewFallback(true, u+"/openai/realtimeapi/sessions?api-version=2025-04-01-preview", u+"/v1/realtimertc?model=dep"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := p.Mint(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if k.Dialect != events.Preview {
		t.Fatalf("fallback key %v", k)
	}
	c := dial(t, k)
	c.expect(events.TypeSessionCreated)
	c.close()
}

// TestExtraDeviceToken: the broker endpoint accepts every configured device token and
// refuses others (HTTP 401, which the broker provider reports as a rejected credential);
// the log names the accepted token by its place and never shows a token.
func TestExtraDeviceToken(t *testing.T) {
	defer test.CheckRoutines(t)()
	var logs syncBuffer
	srv := start(t, WithDeviceToken("tok-one"), WithExtraDeviceToken("tok-two"),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	defer srv.Close()
	if srv.DeviceToken() != "tok-one" {
		t.Errorf("DeviceToken() = %q, want the first token", srv.DeviceToken())
	}
	ctx := ctxT(t, 10*time.Second)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	mint := func(tok string) error {
		p, err := provisioning.NewProvider("broker", provisioning.WithCredential(provisioning.StaticCredential(tok)),
			provisioning.WithBrokerURL(srv.URL()), provisioning.WithHTTPClient(client))
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Mint(ctx, nil)
		return err
	}
	for _, tok := range []string{"tok-one", "tok-two"} {
		if err := mint(tok); err != nil {
			t.Errorf("mint with %s: %v", tok, err)
		}
	}
	if err := mint("tok-three"); !errors.Is(err, provisioning.ErrCredentialRejected) {
		t.Errorf("mint with an unknown token: %v, want ErrCredentialRejected", err)
	}
	out := logs.String()
	for _, want := range []string{"device=1", "device=2", "broker mint refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "tok-") {
		t.Errorf("a device token reached the log:\n%s", out)
	}
	if err := WithExtraDeviceToken("")(&Server{}); err == nil {
		t.Error("WithExtraDeviceToken(\"\") accepted")
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
