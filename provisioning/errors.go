package provisioning

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/edgevoice/edgevoice/realtime"
)

// ErrCredentialRejected means the backend refused the long-lived credential (HTTP 401 or
// 403). Retrying with the same credential does not help: the daemon stops minting and
// reports "credential rejected" until the credential is replaced. It is
// realtime.ErrCredentialRejected, so callers that only know realtime can test for it.
var ErrCredentialRejected = realtime.ErrCredentialRejected

// ErrNotFound means the mint endpoint does not exist (HTTP 404), for example the Azure GA
// surface on an older resource. The azure profile falls back to the preview endpoint on
// it when configured to.
var ErrNotFound = errors.New("mint endpoint not found")

// HTTPError is a non-2xx answer from a backend. Its Error text carries the status and the
// backend's error message (never a credential).
type HTTPError struct {
	Op         string        // which call failed, e.g. "azure mint"
	StatusCode int           // HTTP status
	RetryAfter time.Duration // from the Retry-After header; 0 if absent
	Message    string        // the backend's error message, shortened
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("provisioning: %s: HTTP %d %s", e.Op, e.StatusCode, http.StatusText(e.StatusCode))
	switch e.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		msg += " (credential rejected: check the API key or device token)"
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return msg
}

// Is makes errors.Is(err, ErrCredentialRejected) true for 401/403 and
// errors.Is(err, ErrNotFound) true for 404.
func (e *HTTPError) Is(target error) bool {
	switch target {
	case ErrCredentialRejected:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	}
	return false
}

// maxRetryAfter bounds a Retry-After header so a broken backend cannot park the daemon
// for days.
const maxRetryAfter = time.Hour

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d < 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}
