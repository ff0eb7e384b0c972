package main

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/provisioning/keyd"
)

// provisioningConfig is the [provisioning] section: where the provisioning daemon
// (`edgevoice provisiond`) gets ephemeral keys and how it serves them to the appliance.
// On a broker server the same section describes the broker's upstream.
type provisioningConfig struct {
	// Where keys come from: "broker" (the operator's edgevoice broker; no model API key on
	// the device, the recommended production setup), "azure" (Azure OpenAI GA),
	// "azure-preview" (Azure preview API, deprecated by Microsoft) or "openai" (OpenAI GA).
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
	// default (OpenAI: 10 minutes). Preview keys always live one minute.
	KeyLifetime duration `toml:"key_lifetime"`
	// File with the long-lived credential: the API key, Entra token or device token. It
	// must not be readable by group or others (chmod 600). Empty: the credential named
	// credential_name in $CREDENTIALS_DIRECTORY (systemd LoadCredential=).
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
	MinValidity duration `toml:"min_validity"`
	// First wait after a failed mint; doubled after each further failure.
	BackoffMin duration `toml:"backoff_min"`
	// Longest wait between failed mints (plus up to 20% jitter): while the backend is down
	// the daemon sends at most one request per this interval.
	BackoffMax duration `toml:"backoff_max"`
	// After the backend rejected the credential (401/403), try again only after this long
	// (or at once on SIGHUP).
	RejectedRetry duration `toml:"rejected_retry"`
	// Give up one mint request after this long.
	RequestTimeout duration `toml:"request_timeout"`
	// Unix socket the daemon serves keys on (mode 0660).
	Socket string `toml:"socket"`
	// Group of the socket (the appliance's group). Empty: the daemon's own group.
	SocketGroup string `toml:"socket_group"`
	// Users (names or numeric uids) allowed to connect to the socket, checked with
	// SO_PEERCRED.
	AllowedUsers []string `toml:"allowed_users"`
}

func (c *provisioningConfig) setDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defD := func(d *duration, v time.Duration) {
		if *d == 0 {
			*d = duration(v)
		}
	}
	def(&c.Profile, provisioning.ProfileBroker)
	def(&c.Model, "gpt-realtime")
	def(&c.Auth, "api-key")
	def(&c.CredentialName, "credential")
	def(&c.Policy, "prefetch")
	defD(&c.MinValidity, keyd.DefaultMinValidity)
	defD(&c.BackoffMin, keyd.DefaultBackoffMin)
	defD(&c.BackoffMax, keyd.DefaultBackoffMax)
	defD(&c.RejectedRetry, keyd.DefaultRejectedRetry)
	defD(&c.RequestTimeout, provisioning.DefaultRequestTimeout)
	def(&c.Socket, keyd.DefaultSocketPath)
	def(&c.SocketGroup, "edgevoice")
	if c.AllowedUsers == nil {
		c.AllowedUsers = []string{"edgevoice"}
	}
}

// validate checks the values that are set; what a profile needs (a resource, a broker
// URL, the credential) is checked when the daemon starts, by provisioning.NewProvider.
func (c *provisioningConfig) validate() error {
	if !slices.Contains(provisioning.Profiles, c.Profile) {
		return fieldErr("profile", "unknown profile %q; profiles: %s", c.Profile, strings.Join(provisioning.Profiles, ", "))
	}
	if _, err := provisioning.ParseAuthMode(c.Auth); err != nil {
		return fieldErr("auth", "%q: want \"api-key\" or \"bearer\"", c.Auth)
	}
	if _, err := keyd.ParsePolicy(c.Policy); err != nil {
		return fieldErr("policy", "%q: want \"prefetch\" or \"on-demand\"", c.Policy)
	}
	if c.Region != "" && !slices.Contains(provisioning.PreviewRegions, c.Region) {
		return fieldErr("region", "%q has no Azure preview WebRTC endpoint; regions that exist: %s", c.Region, strings.Join(provisioning.PreviewRegions, ", "))
	}
	for _, u := range []struct{ key, val string }{{"broker_url", c.BrokerURL}, {"mint_url", c.MintURL}, {"sdp_url", c.SDPURL},
		{"preview_mint_url", c.PreviewMintURL}, {"preview_sdp_url", c.PreviewSDPURL}} {
		if u.val == "" {
			continue
		}
		if p, err := url.Parse(u.val); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return fieldErr(u.key, "%q is not an absolute https:// URL", u.val)
		}
	}
	if kl := c.KeyLifetime.D(); kl != 0 && (kl < 10*time.Second || kl > 2*time.Hour) {
		return fieldErr("key_lifetime", "%s out of range (10s to 2h, or 0s for the backend default)", kl)
	}
	if c.MinValidity.D() < 0 || c.MinValidity.D() > time.Hour {
		return fieldErr("min_validity", "%s out of range (0 to 1h)", c.MinValidity.D())
	}
	if c.BackoffMin.D() <= 0 || c.BackoffMax.D() < c.BackoffMin.D() {
		return fieldErr("backoff_max", "backoff_min (%s) must be > 0 and <= backoff_max (%s)", c.BackoffMin.D(), c.BackoffMax.D())
	}
	if c.RejectedRetry.D() < time.Minute {
		return fieldErr("rejected_retry", "%s is too short to stop hammering a backend that rejected the credential (min 1m)", c.RejectedRetry.D())
	}
	if c.RequestTimeout.D() <= 0 || c.RequestTimeout.D() > 5*time.Minute {
		return fieldErr("request_timeout", "%s out of range (>0 to 5m)", c.RequestTimeout.D())
	}
	if (c.ClientCertFile == "") != (c.ClientKeyFile == "") {
		return fieldErr("client_key_file", "set both client_cert_file and client_key_file, or neither")
	}
	if !strings.HasPrefix(c.Socket, "/") && !strings.HasPrefix(c.Socket, "@") {
		return fieldErr("socket", "%q must be an absolute path", c.Socket)
	}
	if len(c.AllowedUsers) == 0 {
		return fieldErr("allowed_users", "empty: nobody could fetch a key; list the appliance's user (\"edgevoice\")")
	}
	if c.Profile == provisioning.ProfileBroker && c.Auth == "bearer" {
		return nil // bearer is what a broker uses anyway
	}
	if c.Profile == provisioning.ProfileAzurePreview && c.Auth == "bearer" {
		return fieldErr("auth", "the preview sessions API takes only the api-key header; use the azure (GA) profile for Entra tokens")
	}
	return nil
}

// String is a one-line summary for logs (never a secret).
func (c *provisioningConfig) String() string {
	return fmt.Sprintf("profile=%s policy=%s socket=%s", c.Profile, c.Policy, c.Socket)
}
