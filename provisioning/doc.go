// Package provisioning mints the short-lived (ephemeral) keys that each realtime WebRTC
// session needs, from the long-lived credential that only the key daemon holds.
//
// It holds the key providers, one type per profile, the credential helpers and the
// atomic file write. The key daemon and its socket are in provisioning/keyd, the
// reference broker and its device store in provisioning/broker. It depends on the
// standard library, realtime and clockwork only.
//
// # Providers
//
//   - *AzurePreview ("azure-preview"): api-key header, flat body, client_secret.value,
//     one-minute keys, preview events.
//   - *Azure ("azure"): GA client_secrets with api-key or an Entra bearer token, and an
//     optional sticky fallback to the preview endpoint on 404.
//   - *OpenAI ("openai"): GA client_secrets, Bearer.
//   - *Broker ("broker"): POST <broker>/v1/keys with a per-device token or client
//     certificate; the broker answers where the SDP goes and which dialect.
//
// NewProvider picks the type from a profile name, for configuration files. Every URL can
// be overridden. Answers are capped in size, redirects to another host or scheme are
// refused (the api-key header would follow them), TLS is always verified (WithRootCAs for
// a private CA), and 401/403 come back as ErrCredentialRejected.
package provisioning
