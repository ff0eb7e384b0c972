// Package keyd is the key daemon: it keeps ephemeral keys from one provisioning.Provider
// ready and hands each out once over a unix socket, so `edgevoice run` never holds a
// long-lived credential.
//
// # Daemon
//
// Daemon keeps keys ready (PolicyPrefetch) or mints on request (PolicyOnDemand), hands
// each key out once, waits for a sane wall clock before the first mint, backs off
// exponentially with up to 20% extra jitter (internal/backoff; never more than one
// request per max interval while the backend is down), honours Retry-After, and stops
// after a rejected credential until Reload. Time comes from an injected clockwork.Clock.
//
// # Key socket
//
// Server speaks line-delimited JSON on a unix socket; only the allowed uids may connect
// (SO_PEERCRED). Requests and answers, one line each:
//
//	{"op":"get","min_valid_s":30}  -> {"ok":true,"key":{"value":"ek_...","expires_at":"...","sdp_url":"...","dialect":"ga","profile":"broker","minted_at":"..."}}
//	{"op":"status"}                -> {"ok":true,"status":{"state":"ready","key_ready":true,"key_age_s":12,...}}
//	anything else                  -> {"ok":false,"code":"bad_request","error":"..."}
//
// Error codes: bad_request, forbidden, credential_rejected, unavailable, failed, busy.
// Client is the Go side used by `edgevoice run`; a *Client is an rtc.KeySource. A call
// whose context is already cancelled fails at once without touching the connection.
//
// keyd never imports provisioning/broker: the key daemon binary carries no server.
package keyd
