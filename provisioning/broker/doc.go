// Package broker is the reference key broker for fleets: it holds the model API key on a
// server and mints upstream keys (through a provisioning.Provider) for devices that
// authenticate with their own token or client certificate.
//
// Server is an http.Handler: POST /v1/keys with "Authorization: Bearer <device token>"
// and an optional {"session":{...}} body answers
// {"value","expires_at","webrtc_url","protocol","profile","session"}; GET /healthz
// answers ok. Every key is minted with the broker's session settings (pinned or default)
// merged with the device's overrides, and the answer reports them. Device tokens are
// stored only as SHA-256 hashes in a Store directory. Each device is rate limited
// (golang.org/x/time/rate); an upstream 401/403 is reported to the device as 502 so it
// does not mistake it for its own token being rejected.
package broker
