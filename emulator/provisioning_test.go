package emulator

import (
	"context"
	"net/http"
	"strings"
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
