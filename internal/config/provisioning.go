package config

import (
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Provisioning is the [provisioning] section: where the provisioning daemon
// (`edgevoice-provisiond`) gets ephemeral keys and how it serves them to the appliance.
// On a broker server the same section describes the broker's upstream.
type Provisioning struct {
	// Where keys come from: "broker" (the operator's edgevoice broker; no model API key on
	// the device, the recommended production setup), "azure" (Azure OpenAI GA),
	// "azure-preview" (Azure preview API, deprecated by Microsoft) or "openai" (OpenAI GA).
	// Empty (the default): not set up yet; the key daemon runs and answers "not
	// configured" (the appliance shows no-key) until a profile is set and it is reloaded.
	Profile string `toml:"profile"`
	// Broker base URL, e.g. "https://keys.example.com" (profile broker); keys come from
	// <broker_url>/v1/keys.
	BrokerURL string `toml:"broker_url"`
	// Azure resource name: the part before .openai.azure.com (profiles azure, azure-preview).
	Resource string `toml:"resource"`
	// Azure region of the resource, for the preview WebRTC host: "eastus2" or
	// "swedencentral" (profile azure-preview, or azure with preview_fallback).
	Region string `toml:"region"`
	// Azure deployment name of the realtime model; sent as "model" (profiles azure,
	// azure-preview).
	Deployment string `toml:"deployment"`
	// OpenAI model (profile openai).
	Model string `toml:"model"`
	// How the credential is sent to Azure: "api-key" (the resource key, api-key header) or
	// "bearer" (an Entra ID token in the credential file, refreshed by an external tool;
	// profile azure only). openai and broker always use a bearer token.
	Auth string `toml:"auth"`
	// Profile azure: when the GA client_secrets endpoint answers 404 (older resources), use
	// the preview endpoint instead, from then on. Needs region and auth = "api-key".
	PreviewFallback bool `toml:"preview_fallback"`
	// Override of the URL keys are minted from (private endpoints, sovereign clouds, tests).
	// Empty: derived from the profile, resource and broker_url.
	MintURL string `toml:"mint_url"`
	// Override of the SDP exchange URL handed out with each key. Empty: derived from the
	// profile (the broker sends its own).
	SDPURL string `toml:"sdp_url"`
	// Override of the preview mint URL used by preview_fallback.
	PreviewMintURL string `toml:"preview_mint_url"`
	// Override of the preview SDP URL used by preview_fallback.
	PreviewSDPURL string `toml:"preview_sdp_url"`
	// Voice of the model, sent when minting (e.g. "marin", "cedar"; preview: "verse").
	// Empty: the backend's default.
	Voice string `toml:"voice"`
	// Instructions sent when minting; a broker with pin_session makes them binding.
	Instructions string `toml:"instructions"`
	// JSON file with an array of tool definitions sent when minting. Empty: no tools.
	ToolsFile string `toml:"tools_file"`
	// Key lifetime asked from GA backends (expires_after, 10s to 2h). "0s": the backend's
	// default (OpenAI: 10 minutes). Preview keys always live one minute. It must be
	// longer than min_validity + 5s, or every key would be stale when minted (a backend
	// whose keys live shorter is refreshed at most every 5s, backing off, with a warning).
	KeyLifetime Duration `toml:"key_lifetime"`
	// File with the long-lived credential: the API key, Entra token or device token. It
	// must not be readable by group or others (chmod 600). Empty: the credential named
	// credential_name in $CREDENTIALS_DIRECTORY (systemd LoadCredential=) if there is one,
	// else /etc/edgevoice/credential. It is read again at every mint.
	CredentialFile string `toml:"credential_file"`
	// Name of the credential in $CREDENTIALS_DIRECTORY when credential_file is empty.
	CredentialName string `toml:"credential_name"`
	// PEM CA bundle trusted instead of the system roots (private broker or endpoint). TLS
	// verification is always on.
	CABundle string `toml:"ca_bundle"`
	// PEM client certificate for mutual TLS with a broker (with client_key_file).
	ClientCertFile string `toml:"client_cert_file"`
	// PEM private key of client_cert_file.
	ClientKeyFile string `toml:"client_key_file"`
	// "prefetch" (always hold one key ready, so a press starts a session at once) or
	// "on-demand" (mint only when the appliance asks).
	Policy string `toml:"policy"`
	// Prefetch: the ready key must stay valid at least this long; it is replaced before.
	MinValidity Duration `toml:"min_validity"`
	// First wait after a failed mint; doubled after each further failure.
	BackoffMin Duration `toml:"backoff_min"`
	// Longest wait between failed mints (plus up to 20% jitter): while the backend is down
	// the daemon sends at most one request per this interval.
	BackoffMax Duration `toml:"backoff_max"`
	// After the backend rejected the credential (401/403), try again only after this long
	// (or at once on SIGHUP).
	RejectedRetry Duration `toml:"rejected_retry"`
	// Give up one mint request after this long.
	RequestTimeout Duration `toml:"request_timeout"`
	// Unix socket the daemon serves keys on (mode 0660): a path (not an abstract "@name",
	// which has no mode or group). One user holds at most 8 of its 32 connections.
	Socket string `toml:"socket"`
	// Group of the socket (the appliance's group). Empty: the daemon's own group.
	SocketGroup string `toml:"socket_group"`
	// Allow plain http:// for broker_url and the other URLs to a host that is not this
	// machine. Off: only https:// (or http:// to loopback, for tests), because the device
	// token (or API key) would cross the network in clear text.
	AllowInsecureHTTP bool `toml:"allow_insecure_http"`
	// Users (names or numeric uids) allowed to connect to the socket, checked with
	// SO_PEERCRED.
	AllowedUsers []string `toml:"allowed_users"`
}

func (c *Provisioning) setDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defD := func(d *Duration, v time.Duration) {
		if *d == 0 {
			*d = Duration(v)
		}
	}
	def(&c.Model, "gpt-realtime")
	def(&c.Auth, "api-key")
	def(&c.CredentialName, "credential")
	def(&c.Policy, "prefetch")
	defD(&c.MinValidity, 30*time.Second)
	defD(&c.BackoffMin, time.Second)
	defD(&c.BackoffMax, 5*time.Minute)
	defD(&c.RejectedRetry, time.Hour)
	defD(&c.RequestTimeout, 15*time.Second)
	def(&c.Socket, DefaultKeySocket)
	def(&c.SocketGroup, "edgevoice")
	if c.AllowedUsers == nil {
		c.AllowedUsers = []string{"edgevoice"}
	}
}

// Key profiles of [provisioning] profile (as the provisioning package names them).
const (
	ProfileAzurePreview = "azure-preview"
	ProfileAzure        = "azure"
	ProfileOpenAI       = "openai"
	ProfileBroker       = "broker"
)

// Profiles lists the key profiles.
var Profiles = []string{ProfileAzurePreview, ProfileAzure, ProfileOpenAI, ProfileBroker}

// PreviewRegions are the Azure regions with a preview WebRTC endpoint.
var PreviewRegions = []string{"eastus2", "swedencentral"}

// KeyRefreshMargin is what the key daemon adds to min_validity when it decides to
// replace a prefetched key (the time a mint takes); keys must live longer than both.
// It is provisioning/keyd's refresh margin.
const KeyRefreshMargin = 5 * time.Second

// DefaultKeySocket is the key daemon's default socket.
const DefaultKeySocket = "/run/edgevoice/keys.sock"

// configured reports whether a value the key daemon uses differs from the defaults: the
// file (or the flags) set up the daemon, so what its profile needs is required too. A
// config with the default [provisioning] (socket aside, which the appliance uses too) is
// one for `edgevoice run`, which only talks to the key socket; the daemon refuses to
// start without what its profile needs.
func (c *Provisioning) configured() bool {
	var d Provisioning
	d.setDefaults()
	cp := *c
	cp.Socket = d.Socket
	return !reflect.DeepEqual(cp, d)
}

// validate checks the values; used: see configured.
func (c *Provisioning) validate(p *sectionProblems, used bool) {
	profileOK := c.Profile == "" || slices.Contains(Profiles, c.Profile)
	if !profileOK {
		p.add("profile", "unknown profile %q; profiles: %s", c.Profile, strings.Join(Profiles, ", "))
	}
	switch strings.ToLower(c.Auth) {
	case "api-key", "apikey", "", "bearer", "entra":
	default:
		p.add("auth", "%q: want \"api-key\" or \"bearer\"", c.Auth)
	}
	switch c.Policy {
	case "prefetch", "", "on-demand", "ondemand":
	default:
		p.add("policy", "%q: want \"prefetch\" or \"on-demand\"", c.Policy)
	}
	if c.Region != "" && !slices.Contains(PreviewRegions, c.Region) {
		p.add("region", "%q has no Azure preview WebRTC endpoint; regions that exist: %s", c.Region, strings.Join(PreviewRegions, ", "))
	}
	for _, u := range []struct{ key, val string }{{"broker_url", c.BrokerURL}, {"mint_url", c.MintURL}, {"sdp_url", c.SDPURL},
		{"preview_mint_url", c.PreviewMintURL}, {"preview_sdp_url", c.PreviewSDPURL}} {
		if u.val == "" {
			continue
		}
		pu, err := url.Parse(u.val)
		switch {
		case err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "":
			p.add(u.key, "not an absolute https:// URL (such as \"https://keys.example.com\")")
		case pu.User != nil:
			p.add(u.key, "holds a user name or password; put credentials in credential_file, never in a URL")
		case pu.Scheme == "http" && !isLoopbackHost(pu.Hostname()) && !c.AllowInsecureHTTP:
			p.add(u.key, "plain http:// to %s would send the device token in clear text; use https://, or set allow_insecure_http = true on a network you trust", pu.Hostname())
		}
	}
	if looksLikeSecret(c.CredentialFile) {
		p.add("credential_file", "holds what looks like a key or token, not a file name; put the credential in a file (chmod 600) and name that file here (the value is not shown)")
	}
	if kl := c.KeyLifetime.D(); kl != 0 && (kl < 10*time.Second || kl > 2*time.Hour) {
		p.add("key_lifetime", "%s out of range (10s to 2h, or 0s for the backend default)", kl)
	}
	if c.MinValidity.D() < 0 || c.MinValidity.D() > time.Hour {
		p.add("min_validity", "%s out of range (0 to 1h)", c.MinValidity.D())
	} else if kl := c.KeyLifetime.D(); kl != 0 && kl <= c.MinValidity.D()+KeyRefreshMargin {
		// A key that lives no longer than this is stale the moment it is minted: the
		// daemon would replace it at once, again and again.
		p.add("key_lifetime", "%s is not longer than min_validity (%s) + %s, so every key would be replaced as soon as it is minted; make key_lifetime longer or min_validity shorter",
			durText(c.KeyLifetime), durText(c.MinValidity), durText(Duration(KeyRefreshMargin)))
	}
	if c.BackoffMin.D() <= 0 || c.BackoffMax.D() < c.BackoffMin.D() {
		p.add("backoff_max", "backoff_min (%s) must be > 0 and <= backoff_max (%s)", c.BackoffMin.D(), c.BackoffMax.D())
	}
	if c.RejectedRetry.D() < time.Minute {
		p.add("rejected_retry", "%s is too short to stop hammering a backend that rejected the credential (min 1m)", c.RejectedRetry.D())
	}
	if c.RequestTimeout.D() <= 0 || c.RequestTimeout.D() > 5*time.Minute {
		p.add("request_timeout", "%s out of range (>0 to 5m)", c.RequestTimeout.D())
	}
	if (c.ClientCertFile == "") != (c.ClientKeyFile == "") {
		p.add("client_key_file", "set both client_cert_file and client_key_file, or neither")
	}
	switch {
	case strings.HasPrefix(c.Socket, "@"):
		p.add("socket", "%q is an abstract socket, which has no file mode or group to limit who connects; use a path such as %q", c.Socket, DefaultKeySocket)
	case !strings.HasPrefix(c.Socket, "/"):
		p.add("socket", "%q must be an absolute path", c.Socket)
	}
	if len(c.AllowedUsers) == 0 {
		p.add("allowed_users", "empty: nobody could fetch a key; list the appliance's user (\"edgevoice\")")
	}
	if c.Profile == ProfileAzurePreview && strings.ToLower(c.Auth) == "bearer" {
		p.add("auth", "the preview sessions API takes only the api-key header; use the azure (GA) profile for Entra tokens")
	}
	if strings.ContainsAny(c.Resource, "/:. ") {
		p.add("resource", "%q must be the bare resource name (the part before .openai.azure.com); use mint_url and sdp_url for full URLs", c.Resource)
	}
	if c.Model == "" || p.setEmpty("model") {
		p.add("model", "empty; name the realtime model (such as \"gpt-realtime\") or leave the key out")
	}
	if !used || !profileOK {
		return
	}
	switch c.Profile {
	case ProfileBroker:
		if c.BrokerURL == "" && c.MintURL == "" {
			p.add("broker_url", "profile \"broker\" needs the broker's URL (such as \"https://keys.example.com\")")
		}
	case ProfileAzure:
		if c.Resource == "" && (c.MintURL == "" || c.SDPURL == "") {
			p.add("resource", "profile \"azure\" needs the Azure resource name (the part before .openai.azure.com), or both mint_url and sdp_url")
		}
		if c.Deployment == "" || p.setEmpty("deployment") {
			p.add("deployment", "profile \"azure\" needs the deployment name of the realtime model")
		}
		if c.PreviewFallback {
			if strings.ToLower(c.Auth) == "bearer" || strings.ToLower(c.Auth) == "entra" {
				p.add("preview_fallback", "needs auth = \"api-key\" (the preview sessions API does not take Entra tokens)")
			}
			if c.Region == "" && c.PreviewSDPURL == "" {
				p.add("preview_fallback", "needs region (%s) for the preview WebRTC host", strings.Join(PreviewRegions, ", "))
			}
		}
	case ProfileAzurePreview:
		if c.Resource == "" && c.MintURL == "" {
			p.add("resource", "profile \"azure-preview\" needs the Azure resource name (the part before .openai.azure.com), or mint_url")
		}
		if c.Deployment == "" {
			p.add("deployment", "profile \"azure-preview\" needs the deployment name of the realtime model")
		}
		if c.Region == "" && c.SDPURL == "" {
			p.add("region", "profile \"azure-preview\" needs the region of the resource (%s), or sdp_url", strings.Join(PreviewRegions, ", "))
		}
	}
}

// looksLikeSecret reports whether a credential_file value is a key pasted in place of a
// path: an "sk-" key, or a long run of base64/hex characters with no slash or dot.
func looksLikeSecret(v string) bool {
	if v == "" {
		return false
	}
	if strings.HasPrefix(v, "sk-") || strings.HasPrefix(v, "ek_") || strings.HasPrefix(strings.ToLower(v), "bearer ") {
		return true
	}
	if len(v) < 24 || strings.ContainsAny(v, "/.") {
		return false
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '=' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// String is a one-line summary for logs (never a secret).
func (c *Provisioning) String() string {
	return fmt.Sprintf("profile=%s policy=%s socket=%s", c.Profile, c.Policy, c.Socket)
}
