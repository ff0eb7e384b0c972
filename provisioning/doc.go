// Package provisioning mints and hands out the short-lived (ephemeral) keys that each
// realtime WebRTC session needs, so that long-lived credentials never reach the process
// that handles network audio.
//
// It holds the key providers (Azure preview, Azure GA, OpenAI GA and the edgevoice
// broker), the provisioning daemon, the key socket with its client, and the reference
// broker. It depends on the standard library only.
//
// # Providers
//
// NewProvider returns one Provider per profile: "azure-preview" (api-key, flat body,
// client_secret.value, one-minute keys, beta events), "azure" (GA client_secrets with
// api-key or an Entra bearer token, optional sticky fallback to the preview endpoint on
// 404), "openai" (GA client_secrets, Bearer) and "broker" (POST <broker>/v1/keys with a
// per-device token). Every URL can be overridden. Answers are capped in size, redirects to
// another host or scheme are refused (the api-key header would follow them), TLS is
// always verified (WithRootCAs for a private CA), and 401/403 come back as
// ErrCredentialRejected.
//
// # Daemon
//
// Daemon keeps keys ready (PolicyPrefetch) or mints on request (PolicyOnDemand), hands
// each key out once, waits for a sane wall clock before the first mint, backs off
// exponentially with up to 20% extra jitter (never more than one request per max interval
// while the backend is down), honours Retry-After, and stops after a rejected credential
// until Reload. Time comes from an injected Clock.
//
// # Key socket
//
// KeyServer speaks line-delimited JSON on a unix socket; only the allowed uids may
// connect (SO_PEERCRED). Requests and answers, one line each:
//
//	{"op":"get","min_valid_s":30}  -> {"ok":true,"key":{"value":"ek_...","expires_at":"...","sdp_url":"...","dialect":"ga","profile":"broker","minted_at":"..."}}
//	{"op":"status"}                -> {"ok":true,"status":{"state":"ready","key_ready":true,"key_age_s":12,...}}
//	anything else                  -> {"ok":false,"code":"bad_request","error":"..."}
//
// Error codes: bad_request, forbidden, credential_rejected, unavailable, failed, busy.
// Client (Dial) is the Go side used by `edgevoice run`.
//
// # Broker
//
// Broker is an http.Handler: POST /v1/keys with "Authorization: Bearer <device token>"
// and an optional {"session":{...}} body answers
// {"value","expires_at","webrtc_url","protocol","profile","session"}; GET /healthz
// answers ok. Device tokens are stored only as SHA-256 hashes in a DeviceStore directory.
// Each device is rate limited; an upstream 401/403 is reported to the device as 502 so it
// does not mistake it for its own token being rejected.
package provisioning
