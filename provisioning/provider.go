package provisioning

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/edgevoice/edgevoice/realtime"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Profile names of the providers.
const (
	ProfileAzurePreview = "azure-preview"
	ProfileAzure        = "azure"
	ProfileOpenAI       = "openai"
	ProfileBroker       = "broker"
)

// Profiles lists the provider profiles NewProvider accepts.
var Profiles = []string{ProfileAzurePreview, ProfileAzure, ProfileOpenAI, ProfileBroker}

// PreviewRegions are the only regions with an Azure preview WebRTC endpoint.
var PreviewRegions = []string{"eastus2", "swedencentral"}

// PreviewAPIVersion is the api-version of the Azure preview sessions endpoint.
const PreviewAPIVersion = "2025-04-01-preview"

// Defaults of the provider options.
const (
	DefaultMaxResponseBytes = 64 << 10
	DefaultRequestTimeout   = 15 * time.Second
	// DefaultKeyLifetime is assumed when a backend answers without expires_at: the
	// shortest lifetime any of them documents (the preview key lives one minute).
	DefaultKeyLifetime = time.Minute
)

// Provider mints ephemeral keys from one backend.
type Provider interface {
	// Profile is the configured profile name ("azure-preview", "azure", "openai", "broker").
	Profile() string
	// Mint asks the backend for a new key. overrides (may be nil) replace the configured
	// session defaults for this key; the broker uses it for device requests.
	Mint(ctx context.Context, overrides *realtime.SessionDefaults) (realtime.Key, error)
}

// AuthMode says how the long-lived credential is sent to an Azure endpoint.
type AuthMode int

const (
	// AuthAPIKey sends the "api-key: <key>" header (Azure); OpenAI always uses Bearer.
	AuthAPIKey AuthMode = iota
	// AuthBearer sends "Authorization: Bearer <token>" (an Entra ID token on Azure GA, the
	// API key on OpenAI, the device token on a broker).
	AuthBearer
)

// String returns "api-key" or "bearer".
func (m AuthMode) String() string {
	switch m {
	case AuthAPIKey:
		return "api-key"
	case AuthBearer:
		return "bearer"
	}
	return fmt.Sprintf("AuthMode(%d)", int(m))
}

// ParseAuthMode parses "api-key" or "bearer" ("entra" is accepted for bearer).
func ParseAuthMode(s string) (AuthMode, error) {
	switch s {
	case "api-key", "apikey", "":
		return AuthAPIKey, nil
	case "bearer", "entra":
		return AuthBearer, nil
	}
	return 0, fmt.Errorf("provisioning: unknown auth %q (want \"api-key\" or \"bearer\")", s)
}

// CredentialFunc returns the long-lived credential (API key, Entra token or device token)
// each time a key is minted, so a rotated credential file is picked up without restart.
type CredentialFunc func(ctx context.Context) (string, error)

// StaticCredential returns a CredentialFunc that always returns secret.
func StaticCredential(secret string) CredentialFunc {
	return func(context.Context) (string, error) { return secret, nil }
}

// ProviderOption configures NewProvider.
type ProviderOption func(*provider) error

// WithResource sets the Azure resource name (<resource>.openai.azure.com).
func WithResource(name string) ProviderOption {
	return func(p *provider) error {
		if strings.ContainsAny(name, "/:. ") {
			return fmt.Errorf("provisioning: resource %q must be the bare resource name (the part before .openai.azure.com); use the endpoint options for full URLs", name)
		}
		p.resource = name
		return nil
	}
}

// WithRegion sets the Azure region of the resource (preview WebRTC host).
func WithRegion(region string) ProviderOption {
	return func(p *provider) error { p.region = region; return nil }
}

// WithDeployment sets the Azure deployment name (sent as "model").
func WithDeployment(name string) ProviderOption {
	return func(p *provider) error { p.deployment = name; return nil }
}

// WithModel sets the OpenAI model (default "gpt-realtime").
func WithModel(name string) ProviderOption {
	return func(p *provider) error { p.model = name; return nil }
}

// WithSessionDefaults sets the session settings sent with every mint.
func WithSessionDefaults(s realtime.SessionDefaults) ProviderOption {
	return func(p *provider) error {
		if len(s.Tools) > 0 && !json.Valid(s.Tools) {
			return errors.New("provisioning: session tools are not valid JSON")
		}
		p.session = s
		return nil
	}
}

// WithKeyLifetime asks GA backends for keys that live d (expires_after, 10 s to 2 h).
func WithKeyLifetime(d time.Duration) ProviderOption {
	return func(p *provider) error {
		if d != 0 && (d < 10*time.Second || d > 2*time.Hour) {
			return fmt.Errorf("provisioning: key lifetime %s out of range (10s to 2h)", d)
		}
		p.keyTTL = d
		return nil
	}
}

// WithCredential sets the source of the long-lived credential.
func WithCredential(f CredentialFunc) ProviderOption {
	return func(p *provider) error { p.cred = f; return nil }
}

// WithAuth sets how the credential is sent to Azure (api-key header or Entra bearer).
func WithAuth(m AuthMode) ProviderOption {
	return func(p *provider) error { p.auth = m; return nil }
}

// WithMintURL overrides the URL keys are minted from (for the broker profile: the full
// URL of its /v1/keys endpoint).
func WithMintURL(u string) ProviderOption {
	return func(p *provider) error { p.mintURL = u; return nil }
}

// WithSDPURL overrides the SDP exchange URL returned with each key.
func WithSDPURL(u string) ProviderOption {
	return func(p *provider) error { p.sdpURL = u; return nil }
}

// WithBrokerURL sets the broker base URL; keys are minted from <base>/v1/keys.
func WithBrokerURL(base string) ProviderOption {
	return func(p *provider) error {
		p.mintURL = strings.TrimSuffix(base, "/") + "/v1/keys"
		return nil
	}
}

// WithPreviewFallback makes the azure (GA) profile use the preview endpoint when the GA
// endpoint answers 404; previewMintURL and previewSDPURL override the preview URLs ("" =
// derived from resource, region and deployment).
func WithPreviewFallback(enabled bool, previewMintURL, previewSDPURL string) ProviderOption {
	return func(p *provider) error {
		p.fallback = enabled
		p.previewMintURL = previewMintURL
		p.previewSDPURL = previewSDPURL
		return nil
	}
}

// WithHTTPClient sets the HTTP client. Its CheckRedirect is replaced on a copy: the
// provider never follows a redirect to another host or scheme.
func WithHTTPClient(c *http.Client) ProviderOption {
	return func(p *provider) error {
		if c == nil {
			return errors.New("BUG: provisioning: WithHTTPClient(nil)")
		}
		p.client = c
		return nil
	}
}

// WithRootCAs trusts only pool for TLS (a custom CA bundle) instead of the system roots.
func WithRootCAs(pool *x509.CertPool) ProviderOption {
	return func(p *provider) error { p.rootCAs = pool; return nil }
}

// WithClientCertificate presents cert for mutual TLS (broker profile). A broker device
// with a client certificate needs no token: WithCredential may then be left out.
func WithClientCertificate(cert tls.Certificate) ProviderOption {
	return func(p *provider) error { p.clientCert = &cert; return nil }
}

// WithClock sets the clock used for MintedAt and expiry checks.
func WithClock(c Clock) ProviderOption {
	return func(p *provider) error { p.clock = c; return nil }
}

// WithMaxResponseBytes caps the size of a backend answer.
func WithMaxResponseBytes(n int64) ProviderOption {
	return func(p *provider) error {
		if n < 256 {
			return fmt.Errorf("provisioning: response cap %d bytes too small (min 256)", n)
		}
		p.maxBody = n
		return nil
	}
}

// WithRequestTimeout bounds each mint request.
func WithRequestTimeout(d time.Duration) ProviderOption {
	return func(p *provider) error {
		if d <= 0 {
			return fmt.Errorf("provisioning: request timeout %s must be positive", d)
		}
		p.timeout = d
		return nil
	}
}

// WithLogger sets the logger (nil discards). Keys and credentials are never logged.
func WithLogger(l *slog.Logger) ProviderOption {
	return func(p *provider) error { p.logger = l; return nil }
}

type provider struct {
	profile                       string
	resource, region              string
	deployment, model             string
	session                       realtime.SessionDefaults
	keyTTL                        time.Duration
	cred                          CredentialFunc
	auth                          AuthMode
	mintURL, sdpURL               string
	fallback                      bool
	previewMintURL, previewSDPURL string
	client                        *http.Client
	rootCAs                       *x509.CertPool
	clientCert                    *tls.Certificate
	clock                         Clock
	maxBody                       int64
	timeout                       time.Duration
	logger                        *slog.Logger

	usePreview atomic.Bool // azure: GA answered 404 once, stay on preview
}

// NewProvider returns the provider of profile ("azure-preview", "azure", "openai",
// "broker"). Options are applied first, then defaults, then the result is checked, so a
// bad configuration fails here and not at the first mint.
func NewProvider(profile string, opts ...ProviderOption) (Provider, error) {
	p := &provider{profile: profile}
	if !slices.Contains(Profiles, profile) {
		return nil, fmt.Errorf("provisioning: unknown profile %q; profiles: %s", profile, strings.Join(Profiles, ", "))
	}
	for _, o := range opts {
		if err := o(p); err != nil {
			return nil, err
		}
	}
	if p.clock == nil {
		p.clock = SystemClock{}
	}
	if p.maxBody == 0 {
		p.maxBody = DefaultMaxResponseBytes
	}
	if p.timeout == 0 {
		p.timeout = DefaultRequestTimeout
	}
	if p.logger == nil {
		p.logger = slog.New(slog.DiscardHandler)
	}
	if p.cred == nil && (profile != ProfileBroker || p.clientCert == nil) {
		return nil, fmt.Errorf("provisioning: %s: no credential configured (set a credential file)", profile)
	}
	if p.model == "" {
		p.model = "gpt-realtime"
	}
	var err error
	switch profile {
	case ProfileAzurePreview:
		p.mintURL, p.sdpURL, err = p.previewURLs(p.mintURL, p.sdpURL)
		if err == nil && p.auth == AuthBearer {
			err = errors.New("provisioning: azure-preview: the preview sessions API takes only the api-key header; set auth = \"api-key\" or use the azure (GA) profile for Entra tokens")
		}
	case ProfileAzure:
		if p.deployment == "" {
			return nil, errors.New("provisioning: azure: no deployment configured")
		}
		if p.mintURL == "" || p.sdpURL == "" {
			if p.resource == "" {
				return nil, errors.New("provisioning: azure: no resource configured (or set both the mint and SDP URLs)")
			}
			base := "https://" + p.resource + ".openai.azure.com/openai/v1/realtime"
			p.mintURL = cmpOr(p.mintURL, base+"/client_secrets")
			p.sdpURL = cmpOr(p.sdpURL, base+"/calls")
		}
		if p.fallback {
			if p.auth == AuthBearer {
				return nil, errors.New("provisioning: azure: the preview fallback needs auth = \"api-key\" (the preview sessions API does not take Entra tokens)")
			}
			p.previewMintURL, p.previewSDPURL, err = p.previewURLs(p.previewMintURL, p.previewSDPURL)
		}
	case ProfileOpenAI:
		p.mintURL = cmpOr(p.mintURL, "https://api.openai.com/v1/realtime/client_secrets")
		p.sdpURL = cmpOr(p.sdpURL, "https://api.openai.com/v1/realtime/calls")
		p.auth = AuthBearer
	case ProfileBroker:
		if p.mintURL == "" {
			return nil, errors.New("provisioning: broker: no broker URL configured")
		}
		p.auth = AuthBearer
	}
	if err != nil {
		return nil, err
	}
	for _, u := range []string{p.mintURL, p.sdpURL, p.previewMintURL, p.previewSDPURL} {
		if u == "" {
			continue
		}
		if pu, perr := url.Parse(u); perr != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			return nil, fmt.Errorf("provisioning: %s: bad URL %q (want an absolute https:// URL)", profile, u)
		}
	}
	if p.client, err = p.buildClient(p.client); err != nil {
		return nil, err
	}
	return p, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// previewURLs derives the preview mint and SDP URLs unless overridden.
func (p *provider) previewURLs(mint, sdp string) (string, string, error) {
	if p.deployment == "" {
		return "", "", errors.New("provisioning: azure-preview: no deployment configured")
	}
	if mint == "" {
		if p.resource == "" {
			return "", "", errors.New("provisioning: azure-preview: no resource configured (or set the mint URL)")
		}
		mint = "https://" + p.resource + ".openai.azure.com/openai/realtimeapi/sessions?api-version=" + PreviewAPIVersion
	}
	if sdp == "" {
		if !slices.Contains(PreviewRegions, p.region) {
			return "", "", fmt.Errorf("provisioning: azure-preview: region %q has no preview WebRTC endpoint; regions that exist: %s (it must be the region of the resource)",
				p.region, strings.Join(PreviewRegions, ", "))
		}
		sdp = "https://" + p.region + ".realtimeapi-preview.ai.azure.com/v1/realtimertc?model=" + url.QueryEscape(p.deployment)
	}
	return mint, sdp, nil
}

// buildClient copies c (or a default client), installs the redirect policy and the TLS
// settings.
func (p *provider) buildClient(c *http.Client) (*http.Client, error) {
	var nc http.Client
	if c != nil {
		nc = *c
	}
	if p.rootCAs != nil || p.clientCert != nil {
		base := nc.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		t, ok := base.(*http.Transport)
		if !ok {
			return nil, errors.New("provisioning: a CA bundle or client certificate needs an *http.Transport")
		}
		t = t.Clone()
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		if p.rootCAs != nil {
			t.TLSClientConfig.RootCAs = p.rootCAs
		}
		if p.clientCert != nil {
			t.TLSClientConfig.Certificates = []tls.Certificate{*p.clientCert}
		}
		nc.Transport = t
	}
	nc.CheckRedirect = checkRedirect
	return &nc, nil
}

// checkRedirect refuses any redirect that leaves the original scheme and host: the
// api-key header is not one Go strips on cross-host redirects, and a key endpoint has no
// business redirecting anyway.
func checkRedirect(req *http.Request, via []*http.Request) error {
	orig := via[0].URL
	if req.URL.Host != orig.Host || req.URL.Scheme != orig.Scheme {
		return fmt.Errorf("provisioning: refusing redirect from %s://%s to %s://%s: credentials are never sent to another host (fix the endpoint URL)",
			orig.Scheme, orig.Host, req.URL.Scheme, req.URL.Host)
	}
	if len(via) >= 3 {
		return errors.New("provisioning: too many redirects")
	}
	return nil
}

func (p *provider) Profile() string { return p.profile }

func (p *provider) Mint(ctx context.Context, overrides *realtime.SessionDefaults) (realtime.Key, error) {
	s := p.session.Merged(overrides)
	switch p.profile {
	case ProfileAzurePreview:
		return p.mintPreview(ctx, s, p.mintURL, p.sdpURL)
	case ProfileAzure:
		if p.fallback && p.usePreview.Load() {
			return p.mintPreview(ctx, s, p.previewMintURL, p.previewSDPURL)
		}
		k, err := p.mintGA(ctx, s, p.deployment)
		if p.fallback && errors.Is(err, ErrNotFound) {
			p.logger.Warn("azure GA client_secrets endpoint answered 404; falling back to the preview endpoint from now on", "url", p.mintURL)
			p.usePreview.Store(true)
			return p.mintPreview(ctx, s, p.previewMintURL, p.previewSDPURL)
		}
		return k, err
	case ProfileOpenAI:
		return p.mintGA(ctx, s, p.model)
	case ProfileBroker:
		return p.mintBroker(ctx, overrides)
	}
	panic("BUG: provisioning: unknown profile " + p.profile)
}

// secretResponse covers the preview, GA and broker response shapes.
type secretResponse struct {
	Value        *string     `json:"value"`
	ExpiresAt    json.Number `json:"expires_at"`
	ClientSecret *struct {
		Value     *string     `json:"value"`
		ExpiresAt json.Number `json:"expires_at"`
	} `json:"client_secret"`
	// broker fields
	WebRTCURL string `json:"webrtc_url"`
	Protocol  string `json:"protocol"`
	Profile   string `json:"profile"`
}

func (p *provider) mintPreview(ctx context.Context, s realtime.SessionDefaults, mintURL, sdpURL string) (realtime.Key, error) {
	body := map[string]any{"model": p.deployment}
	if s.Voice != "" {
		body["voice"] = s.Voice
	}
	if s.Instructions != "" {
		body["instructions"] = s.Instructions
	}
	if len(s.Tools) > 0 {
		body["tools"] = s.Tools
	}
	var r secretResponse
	if err := p.post(ctx, "azure-preview mint", mintURL, AuthAPIKey, body, &r); err != nil {
		return realtime.Key{}, err
	}
	if r.ClientSecret == nil || r.ClientSecret.Value == nil || *r.ClientSecret.Value == "" {
		return realtime.Key{}, fmt.Errorf("provisioning: azure-preview mint: response has no client_secret.value")
	}
	return p.finish("azure-preview mint", *r.ClientSecret.Value, r.ClientSecret.ExpiresAt, sdpURL, realtime.DialectPreview, ProfileAzurePreview)
}

func (p *provider) mintGA(ctx context.Context, s realtime.SessionDefaults, model string) (realtime.Key, error) {
	sess := map[string]any{"type": "realtime", "model": model}
	if s.Instructions != "" {
		sess["instructions"] = s.Instructions
	}
	if s.Voice != "" {
		sess["audio"] = map[string]any{"output": map[string]any{"voice": s.Voice}}
	}
	if len(s.Tools) > 0 {
		sess["tools"] = s.Tools
	}
	body := map[string]any{"session": sess}
	if p.keyTTL > 0 {
		body["expires_after"] = map[string]any{"anchor": "created_at", "seconds": int(p.keyTTL / time.Second)}
	}
	op := p.profile + " mint"
	var r secretResponse
	if err := p.post(ctx, op, p.mintURL, p.auth, body, &r); err != nil {
		return realtime.Key{}, err
	}
	val, exp := r.Value, r.ExpiresAt
	if (val == nil || *val == "") && r.ClientSecret != nil {
		val = r.ClientSecret.Value
		if exp == "" {
			exp = r.ClientSecret.ExpiresAt
		}
	}
	if val == nil || *val == "" {
		return realtime.Key{}, fmt.Errorf("provisioning: %s: response has no key (neither value nor client_secret.value)", op)
	}
	return p.finish(op, *val, exp, p.sdpURL, realtime.DialectGA, p.profile)
}

func (p *provider) mintBroker(ctx context.Context, overrides *realtime.SessionDefaults) (realtime.Key, error) {
	body := map[string]any{}
	if overrides != nil && !overrides.IsZero() {
		body["session"] = overrides
	}
	var r secretResponse
	const op = "broker mint"
	if err := p.post(ctx, op, p.mintURL, AuthBearer, body, &r); err != nil {
		return realtime.Key{}, err
	}
	if r.Value == nil || *r.Value == "" {
		return realtime.Key{}, fmt.Errorf("provisioning: %s: response has no value", op)
	}
	sdp := cmpOr(p.sdpURL, r.WebRTCURL)
	if u, err := url.Parse(sdp); sdp == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return realtime.Key{}, fmt.Errorf("provisioning: %s: response has no usable webrtc_url (%q)", op, sdp)
	}
	d, err := realtime.ParseDialect(r.Protocol)
	if err != nil {
		return realtime.Key{}, fmt.Errorf("provisioning: %s: %w", op, err)
	}
	return p.finish(op, *r.Value, r.ExpiresAt, sdp, d, ProfileBroker)
}

// finish checks the expiry and builds the Key.
func (p *provider) finish(op, value string, exp json.Number, sdpURL string, d realtime.Dialect, profile string) (realtime.Key, error) {
	now := p.clock.Now()
	expires := now.Add(DefaultKeyLifetime)
	if exp != "" {
		f, err := exp.Float64()
		if err != nil {
			return realtime.Key{}, fmt.Errorf("provisioning: %s: bad expires_at %q", op, exp.String())
		}
		expires = time.Unix(int64(f), 0)
		if !expires.After(now) {
			return realtime.Key{}, fmt.Errorf("provisioning: %s: the key's expires_at %s is not in the future (local clock %s); check the system clock",
				op, expires.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	} else {
		p.logger.Warn("backend sent no expires_at; assuming the shortest documented lifetime", "op", op, "lifetime", DefaultKeyLifetime)
	}
	return realtime.Key{Value: value, ExpiresAt: expires, SDPURL: sdpURL, Dialect: d, Profile: profile, MintedAt: now}, nil
}
