package realtime

import "errors"

// ErrCredentialRejected means the backend refused the device's long-lived credential
// (the model API key or the device token: HTTP 401 or 403 when minting). Retrying with
// the same credential does not help. Providers and the key daemon return errors that
// match it with errors.Is, so the appliance can show "no key" without importing them.
var ErrCredentialRejected = errors.New("credential rejected")

// ErrKeyUnavailable means no key can be had right now: the key daemon is backing off
// after a failed mint (network, backend 5xx). A later attempt may work.
var ErrKeyUnavailable = errors.New("backend unavailable")

// ErrNoCredential means the device has no long-lived credential at all: it is installed
// but not configured. Like ErrCredentialRejected the appliance shows no-key (not
// offline); unlike it, the credential is looked for again at each attempt.
var ErrNoCredential = errors.New("no credential configured")

// ErrNotConfigured means the key daemon has no key profile yet ([provisioning] profile
// is not set): the device is installed but not set up. The appliance shows no-key; the
// key daemon takes a profile set later on reload (SIGHUP).
var ErrNotConfigured = errors.New("key daemon not configured")
