package provisioning

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/edgevoice/edgevoice/realtime"
	"github.com/jonboulle/clockwork"
)

// Profile names of the providers.
const (
	ProfileAzurePreview = "azure-preview"
	ProfileAzure        = "azure"
	ProfileOpenAI       = "openai"
	ProfileBroker       = "broker"
)

// Profiles lists the profiles NewProvider accepts.
var Profiles = []string{ProfileAzurePreview, ProfileAzure, ProfileOpenAI, ProfileBroker}

// PreviewRegions are the only regions with an Azure preview WebRTC endpoint.
var PreviewRegions = []string{"eastus2", "swedencentral"}

// PreviewAPIVersion is the api-version of the Azure preview sessions endpoint.
const PreviewAPIVersion = "2025-04-01-preview"

// Provider defaults: DefaultRequestTimeout bounds each mint (WithRequestTimeout); an
// answer larger than defaultMaxResponseBytes is refused.
const (
	defaultMaxResponseBytes = 64 << 10
	DefaultRequestTimeout   = 15 * time.Second
	// defaultKeyLifetime is assumed when a backend answers without expires_at: the
	// shortest lifetime any of them documents (the preview key lives one minute).
	defaultKeyLifetime = realtime.PreviewKeyLifetime
	// maxKeyLifetime bounds a backend's expires_at: GA keys live at most 2 hours; a day
	// leaves room for clock skew.
	maxKeyLifetime = 24 * time.Hour
)

// Provider mints ephemeral keys from one backend. There is one type per profile:
// *AzurePreview, *Azure, *OpenAI and *Broker.
type Provider interface {
	// Profile is the profile name ("azure-preview", "azure", "openai", "broker").
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

// Option configures a provider (NewAzurePreview, NewAzure, NewOpenAI, NewBroker or
// NewProvider). An option a profile does not use is ignored.
type Option func(*config) error

// WithResource sets the Azure resource name (<resource>.openai.azure.com).
func WithResource(name string) Option {
	return func(p *config) error {
		if strings.ContainsAny(name, "/:. ") {
			return fmt.Errorf("provisioning: resource %q must be the bare resource name (the part before .openai.azure.com); use the endpoint options for full URLs", name)
		}
		p.resource = name
		return nil
	}
}

// WithRegion sets the Azure region of the resource (preview WebRTC host).
func WithRegion(region string) Option {
	return func(p *config) error { p.region = region; return nil }
}

// WithDeployment sets the Azure deployment name (sent as "model").
func WithDeployment(name string) Option {
	return func(p *config) error { p.deployment = name; return nil }
}

// WithModel sets the OpenAI model (default realtime.DefaultModel).
func WithModel(name string) Option {
	return func(p *config) error { p.model = name; return nil }
}

// WithSessionDefaults sets the session settings sent with every mint.
func WithSessionDefaults(s realtime.SessionDefaults) Option {
	return func(p *config) error {
		if len(s.Tools) > 0 && !json.Valid(s.Tools) {
			return errors.New("provisioning: session tools are not valid JSON")
		}
		p.session = s
		return nil
	}
}

// WithKeyLifetime asks GA backends for keys that live d (expires_after, 10 s to 2 h).
func WithKeyLifetime(d time.Duration) Option {
	return func(p *config) error {
		if d != 0 && (d < 10*time.Second || d > 2*time.Hour) {
			return fmt.Errorf("provisioning: key lifetime %s out of range (10s to 2h)", d)
		}
		p.keyTTL = d
		return nil
	}
}

// WithCredential sets the source of the long-lived credential.
func WithCredential(f CredentialFunc) Option {
	return func(p *config) error { p.cred = f; return nil }
}

// WithAuth sets how the credential is sent to Azure (api-key header or Entra bearer).
func WithAuth(m AuthMode) Option {
	return func(p *config) error { p.auth = m; return nil }
}

// WithMintURL overrides the URL keys are minted from (for the broker profile: the full
// URL of its /v1/keys endpoint).
func WithMintURL(u string) Option {
	return func(p *config) error { p.mintURL = u; return nil }
}

// WithSDPURL overrides the SDP exchange URL returned with each key.
func WithSDPURL(u string) Option {
	return func(p *config) error { p.sdpURL = u; return nil }
}

// WithBrokerURL sets the broker base URL; keys are minted from <base>/v1/keys.
func WithBrokerURL(base string) Option {
	return func(p *config) error {
		p.mintURL = strings.TrimSuffix(base, "/") + "/v1/keys"
		return nil
	}
}

// WithPreviewFallback makes the azure (GA) profile use the preview endpoint when the GA
// endpoint answers 404; previewMintURL and previewSDPURL override the preview URLs ("" =
// derived from resource, region and deployment).
func WithPreviewFallback(enabled bool, previewMintURL, previewSDPURL string) Option {
	return func(p *config) error {
		p.fallback = enabled
		p.previewMintURL = previewMintURL
		p.previewSDPURL = previewSDPURL
		return nil
	}
}

// WithHTTPClient sets the HTTP client. Its CheckRedirect is replaced on a copy: the
// provider never follows a redirect to another host or scheme.
func WithHTTPClient(c *http.Client) Option {
	return func(p *config) error {
		if c == nil {
			return errors.New("BUG: provisioning: WithHTTPClient(nil)")
		}
		p.client = c
		return nil
	}
}

// WithRootCAs trusts only pool for TLS (a custom CA bundle) instead of the system roots.
func WithRootCAs(pool *x509.CertPool) Option {
	return func(p *config) error { p.rootCAs = pool; return nil }
}

// WithClientCertificate presents cert for mutual TLS (broker profile). A broker device
// with a client certificate needs no token: WithCredential may then be left out.
func WithClientCertificate(cert tls.Certificate) Option {
	return func(p *config) error { p.clientCert = &cert; return nil }
}

// WithClock sets the clock used for MintedAt and expiry checks (tests use a fake one).
func WithClock(c clockwork.Clock) Option {
	return func(p *config) error { p.clock = c; return nil }
}

// WithRequestTimeout bounds each mint request.
func WithRequestTimeout(d time.Duration) Option {
	return func(p *config) error {
		if d <= 0 {
			return fmt.Errorf("provisioning: request timeout %s must be positive", d)
		}
		p.timeout = d
		return nil
	}
}

// WithLogger sets the logger (nil discards). Keys and credentials are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(p *config) error { p.logger = l; return nil }
}

// config is what the options set; each constructor takes the fields its profile uses.
type config struct {
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
	clock                         clockwork.Clock
	maxBody                       int64
	timeout                       time.Duration
	logger                        *slog.Logger
	insecureHTTP                  bool
}

// newConfig applies opts, then the defaults, and builds the HTTP client.
func newConfig(profile string, opts []Option) (*config, error) {
	c := &config{}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.clock == nil {
		c.clock = clockwork.NewRealClock()
	}
	if c.maxBody == 0 {
		c.maxBody = defaultMaxResponseBytes
	}
	if c.timeout == 0 {
		c.timeout = DefaultRequestTimeout
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.model == "" {
		c.model = realtime.DefaultModel
	}
	if c.cred == nil && (profile != ProfileBroker || c.clientCert == nil) {
		return nil, fmt.Errorf("provisioning: %s: no credential configured (set a credential file)", profile)
	}
	var err error
	if c.client, err = c.buildClient(c.client); err != nil {
		return nil, err
	}
	return c, nil
}

// endpoint is what every profile does the same way: post a JSON body with the credential
// and turn the answer into a Key.
type endpoint struct {
	cred    CredentialFunc
	session realtime.SessionDefaults
	keyTTL  time.Duration
	client  *http.Client
	clock   clockwork.Clock
	maxBody int64
	timeout time.Duration
	logger  *slog.Logger
}

func (c *config) endpoint() endpoint {
	return endpoint{cred: c.cred, session: c.session, keyTTL: c.keyTTL, client: c.client, clock: c.clock,
		maxBody: c.maxBody, timeout: c.timeout, logger: c.logger}
}

// checkURLs refuses URLs that are not absolute http(s) URLs, that hold a user name or
// password, or that are plain http:// to a host other than this machine (unless
// WithAllowInsecureHTTP): the credential would cross the network in clear text.
func (c *config) checkURLs(profile string, urls ...string) error {
	for _, u := range urls {
		if u == "" {
			continue
		}
		pu, err := url.Parse(u)
		switch {
		case err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "":
			return fmt.Errorf("provisioning: %s: bad URL %q (want an absolute https:// URL)", profile, redactURL(u))
		case pu.User != nil:
			return fmt.Errorf("provisioning: %s: URL %s holds a user name or password; put credentials in the credential file, never in a URL", profile, redactURL(u))
		case pu.Scheme == "http" && !isLoopback(pu.Hostname()) && !c.insecureHTTP:
			return fmt.Errorf("provisioning: %s: plain http:// to %s would send the credential in clear text; use https:// (or allow_insecure_http = true on a network you trust)", profile, pu.Hostname())
		}
	}
	return nil
}

// isLoopback reports whether host (a name or an IP, without port) is this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NewProvider returns the provider of profile ("azure-preview", "azure", "openai",
// "broker"), for callers that pick the profile from a configuration file. Options are
// applied first, then defaults, then the result is checked, so a bad configuration fails
// here and not at the first mint.
func NewProvider(profile string, opts ...Option) (Provider, error) {
	switch profile {
	case ProfileAzurePreview:
		return NewAzurePreview(opts...)
	case ProfileAzure:
		return NewAzure(opts...)
	case ProfileOpenAI:
		return NewOpenAI(opts...)
	case ProfileBroker:
		return NewBroker(opts...)
	}
	return nil, fmt.Errorf("provisioning: unknown profile %q; profiles: %s", profile, strings.Join(Profiles, ", "))
}

// AzurePreview mints from the Azure preview sessions API (api-key header, flat body,
// client_secret.value, one-minute keys, preview events).
type AzurePreview struct {
	endpoint
	deployment      string
	mintURL, sdpURL string
}

// NewAzurePreview returns the azure-preview provider. It needs WithDeployment, and
// WithResource and WithRegion unless both URLs are overridden.
func NewAzurePreview(opts ...Option) (*AzurePreview, error) {
	c, err := newConfig(ProfileAzurePreview, opts)
	if err != nil {
		return nil, err
	}
	if c.auth == AuthBearer {
		return nil, errors.New("provisioning: azure-preview: the preview sessions API takes only the api-key header; set auth = \"api-key\" or use the azure (GA) profile for Entra tokens")
	}
	return c.preview(c.mintURL, c.sdpURL)
}

// preview builds an AzurePreview from c with the given URL overrides.
func (c *config) preview(mint, sdp string) (*AzurePreview, error) {
	if c.deployment == "" {
		return nil, errors.New("provisioning: azure-preview: no deployment configured")
	}
	if mint == "" {
		if c.resource == "" {
			return nil, errors.New("provisioning: azure-preview: no resource configured (or set the mint URL)")
		}
		mint = "https://" + c.resource + ".openai.azure.com/openai/realtimeapi/sessions?api-version=" + PreviewAPIVersion
	}
	if sdp == "" {
		if !slices.Contains(PreviewRegions, c.region) {
			return nil, fmt.Errorf("provisioning: azure-preview: region %q has no preview WebRTC endpoint; regions that exist: %s (it must be the region of the resource)",
				c.region, strings.Join(PreviewRegions, ", "))
		}
		sdp = "https://" + c.region + ".realtimeapi-preview.ai.azure.com/v1/realtimertc?model=" + url.QueryEscape(c.deployment)
	}
	if err := c.checkURLs(ProfileAzurePreview, mint, sdp); err != nil {
		return nil, err
	}
	return &AzurePreview{endpoint: c.endpoint(), deployment: c.deployment, mintURL: mint, sdpURL: sdp}, nil
}

// Profile returns "azure-preview".
func (p *AzurePreview) Profile() string { return ProfileAzurePreview }

// Mint asks the preview sessions API for a key.
func (p *AzurePreview) Mint(ctx context.Context, overrides *realtime.SessionDefaults) (realtime.Key, error) {
	s := p.session.Merged(overrides)
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
	const op = "azure-preview mint"
	var r secretResponse
	if err := p.post(ctx, op, p.mintURL, AuthAPIKey, body, &r); err != nil {
		return realtime.Key{}, err
	}
	if r.ClientSecret == nil || r.ClientSecret.Value == nil || *r.ClientSecret.Value == "" {
		return realtime.Key{}, fmt.Errorf("provisioning: %s: response has no client_secret.value", op)
	}
	return p.finish(op, *r.ClientSecret.Value, r.ClientSecret.ExpiresAt, p.sdpURL, realtime.DialectPreview, ProfileAzurePreview)
}

// Azure mints from the Azure GA client_secrets API (api-key or an Entra bearer token),
// optionally falling back to the preview API for good after a 404.
type Azure struct {
	endpoint
	deployment      string
	auth            AuthMode
	mintURL, sdpURL string
	fallback        *AzurePreview // nil without WithPreviewFallback
	usePreview      atomic.Bool   // GA answered 404 once: stay on preview
}

// NewAzure returns the azure (GA) provider. It needs WithDeployment, and WithResource
// unless both URLs are overridden.
func NewAzure(opts ...Option) (*Azure, error) {
	c, err := newConfig(ProfileAzure, opts)
	if err != nil {
		return nil, err
	}
	if c.deployment == "" {
		return nil, errors.New("provisioning: azure: no deployment configured")
	}
	if c.mintURL == "" || c.sdpURL == "" {
		if c.resource == "" {
			return nil, errors.New("provisioning: azure: no resource configured (or set both the mint and SDP URLs)")
		}
		base := "https://" + c.resource + ".openai.azure.com/openai/v1/realtime"
		c.mintURL = cmpOr(c.mintURL, base+"/client_secrets")
		c.sdpURL = cmpOr(c.sdpURL, base+"/calls")
	}
	if err := c.checkURLs(ProfileAzure, c.mintURL, c.sdpURL); err != nil {
		return nil, err
	}
	p := &Azure{endpoint: c.endpoint(), deployment: c.deployment, auth: c.auth, mintURL: c.mintURL, sdpURL: c.sdpURL}
	if c.fallback {
		if c.auth == AuthBearer {
			return nil, errors.New("provisioning: azure: the preview fallback needs auth = \"api-key\" (the preview sessions API does not take Entra tokens)")
		}
		if p.fallback, err = c.preview(c.previewMintURL, c.previewSDPURL); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Profile returns "azure".
func (p *Azure) Profile() string { return ProfileAzure }

// Mint asks the GA client_secrets API for a key (or the preview API after a 404, when
// the fallback is on).
func (p *Azure) Mint(ctx context.Context, overrides *realtime.SessionDefaults) (realtime.Key, error) {
	if p.fallback != nil && p.usePreview.Load() {
		return p.fallback.Mint(ctx, overrides)
	}
	k, err := p.mintGA(ctx, ProfileAzure, p.mintURL, p.sdpURL, p.auth, p.deployment, overrides)
	if p.fallback != nil && errors.Is(err, ErrNotFound) {
		p.logger.Warn("azure GA client_secrets endpoint answered 404; falling back to the preview endpoint from now on", "url", p.mintURL)
		p.usePreview.Store(true)
		return p.fallback.Mint(ctx, overrides)
	}
	return k, err
}

// OpenAI mints from the OpenAI GA client_secrets API (Bearer).
type OpenAI struct {
	endpoint
	model           string
	mintURL, sdpURL string
}

// NewOpenAI returns the openai provider (model realtime.DefaultModel unless WithModel).
func NewOpenAI(opts ...Option) (*OpenAI, error) {
	c, err := newConfig(ProfileOpenAI, opts)
	if err != nil {
		return nil, err
	}
	c.mintURL = cmpOr(c.mintURL, "https://api.openai.com/v1/realtime/client_secrets")
	c.sdpURL = cmpOr(c.sdpURL, "https://api.openai.com/v1/realtime/calls")
	if err := c.checkURLs(ProfileOpenAI, c.mintURL, c.sdpURL); err != nil {
		return nil, err
	}
	return &OpenAI{endpoint: c.endpoint(), model: c.model, mintURL: c.mintURL, sdpURL: c.sdpURL}, nil
}

// Profile returns "openai".
func (p *OpenAI) Profile() string { return ProfileOpenAI }

// Mint asks the client_secrets API for a key.
func (p *OpenAI) Mint(ctx context.Context, overrides *realtime.SessionDefaults) (realtime.Key, error) {
	return p.mintGA(ctx, ProfileOpenAI, p.mintURL, p.sdpURL, AuthBearer, p.model, overrides)
}

// Broker mints from an edgevoice broker (POST <broker>/v1/keys with the device's own
// token or client certificate); the broker says where the SDP goes and which dialect.
type Broker struct {
	endpoint
	mintURL, sdpURL string
}

// NewBroker returns the broker provider. It needs WithBrokerURL (or WithMintURL).
func NewBroker(opts ...Option) (*Broker, error) {
	c, err := newConfig(ProfileBroker, opts)
	if err != nil {
		return nil, err
	}
	if c.mintURL == "" {
		return nil, errors.New("provisioning: broker: no broker URL configured")
	}
	if err := c.checkURLs(ProfileBroker, c.mintURL, c.sdpURL); err != nil {
		return nil, err
	}
	return &Broker{endpoint: c.endpoint(), mintURL: c.mintURL, sdpURL: c.sdpURL}, nil
}

// Profile returns "broker".
func (p *Broker) Profile() string { return ProfileBroker }

// Mint asks the broker for a key; overrides (may be nil) are sent as the device's
// session settings, which a broker that pins them refuses.
func (p *Broker) Mint(ctx context.Context, overrides *realtime.SessionDefaults) (realtime.Key, error) {
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
	k, err := p.finish(op, *r.Value, r.ExpiresAt, sdp, d, ProfileBroker)
	if err == nil && r.Session != nil {
		k.Session, k.SessionPinned = r.Session, r.Pinned
	}
	return k, err
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// buildClient copies hc (or a default client), installs the redirect policy and the TLS
// settings.
func (c *config) buildClient(hc *http.Client) (*http.Client, error) {
	var nc http.Client
	if hc != nil {
		nc = *hc
	}
	if c.rootCAs != nil || c.clientCert != nil {
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
		if c.rootCAs != nil {
			t.TLSClientConfig.RootCAs = c.rootCAs
		}
		if c.clientCert != nil {
			t.TLSClientConfig.Certificates = []tls.Certificate{*c.clientCert}
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

// secretResponse covers the preview, GA and broker response shapes.
type secretResponse struct {
	Value        *string     `json:"value"`
	ExpiresAt    json.Number `json:"expires_at"`
	ClientSecret *struct {
		Value     *string     `json:"value"`
		ExpiresAt json.Number `json:"expires_at"`
	} `json:"client_secret"`
	// broker fields
	WebRTCURL string                    `json:"webrtc_url"`
	Protocol  string                    `json:"protocol"`
	Profile   string                    `json:"profile"`
	Session   *realtime.SessionDefaults `json:"session"`
	Pinned    bool                      `json:"pinned"`
}

// mintGA asks a GA client_secrets endpoint (Azure or OpenAI) for a key.
func (p *endpoint) mintGA(ctx context.Context, profile, mintURL, sdpURL string, auth AuthMode, model string, overrides *realtime.SessionDefaults) (realtime.Key, error) {
	s := p.session.Merged(overrides)
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
	op := profile + " mint"
	var r secretResponse
	if err := p.post(ctx, op, mintURL, auth, body, &r); err != nil {
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
	return p.finish(op, *val, exp, sdpURL, realtime.DialectGA, profile)
}

// finish checks the expiry and builds the Key.
func (p *endpoint) finish(op, value string, exp json.Number, sdpURL string, d realtime.Dialect, profile string) (realtime.Key, error) {
	now := p.clock.Now()
	expires := now.Add(defaultKeyLifetime)
	if exp != "" {
		f, err := exp.Float64()
		if err != nil {
			return realtime.Key{}, fmt.Errorf("provisioning: %s: bad expires_at %q", op, exp.String())
		}
		if f > float64(now.Add(maxKeyLifetime).Unix()) {
			// also keeps ExpiresAt within what JSON can encode (year 9999)
			return realtime.Key{}, fmt.Errorf("provisioning: %s: the key's expires_at %s is more than %s in the future (local clock %s); refusing it: check the backend and the system clock",
				op, exp.String(), maxKeyLifetime, now.UTC().Format(time.RFC3339))
		}
		expires = time.Unix(int64(f), 0)
		if !expires.After(now) {
			return realtime.Key{}, fmt.Errorf("provisioning: %s: the key's expires_at %s is not in the future (local clock %s); check the system clock",
				op, expires.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	} else {
		p.logger.Warn("backend sent no expires_at; assuming the shortest documented lifetime", "op", op, "lifetime", defaultKeyLifetime)
	}
	return realtime.Key{Value: value, ExpiresAt: expires, SDPURL: sdpURL, Dialect: d, Profile: profile, MintedAt: now}, nil
}

// ErrNotConfigured means no key profile is set: the device is installed but not set up.
// It is realtime.ErrNotConfigured, so the appliance shows no-key.
var ErrNotConfigured = realtime.ErrNotConfigured

// NotConfigured returns the provider of a key daemon that has no profile yet: it asks
// no backend, and every mint fails with an error that wraps ErrNotConfigured and says
// help (what to set).
func NotConfigured(help string) Provider { return notConfigured{help: help} }

type notConfigured struct{ help string }

func (notConfigured) Profile() string { return "" }

func (p notConfigured) Mint(context.Context, *realtime.SessionDefaults) (realtime.Key, error) {
	if p.help == "" {
		return realtime.Key{}, ErrNotConfigured
	}
	return realtime.Key{}, fmt.Errorf("%w: %s", ErrNotConfigured, p.help)
}

// WithAllowInsecureHTTP allows plain http:// URLs to hosts that are not this machine
// (allow_insecure_http); off, such a URL is refused because the credential would cross
// the network in clear text.
func WithAllowInsecureHTTP(allow bool) Option {
	return func(p *config) error { p.insecureHTTP = allow; return nil }
}
