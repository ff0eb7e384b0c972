// Package broker is the reference key broker for fleets: it holds the model API key on a
// server and mints upstream keys (through a provisioning.Provider) for devices that
// authenticate with their own token or client certificate.
//
// Server is an http.Handler: POST /v1/keys with "Authorization: Bearer <device token>"
// and an optional {"session":{...}} body answers
// {"value","expires_at","webrtc_url","protocol","profile","session"}; GET /healthz
// answers ok and GET /metrics the counters. Every key is minted with the broker's session
// settings (pinned or default) merged with the device's overrides, and the answer reports
// them. A request is checked in this order: the client address's rate bucket, the
// device (by token hash), the body (at most 16 KiB, one strict JSON object, tools an
// array of objects), the device's rate bucket, then the upstream; an upstream 401/403 is
// reported to the device as 502 so it does not mistake it for its own token being
// rejected.
//
// The Store (OpenSQLite, OpenPostgres, or Open from a setting) holds the devices (token
// SHA-256 hashes only), the rate buckets shared by every replica and the audit trail; it
// is read at every request, and when it cannot be read the broker refuses to mint (503).
package broker
