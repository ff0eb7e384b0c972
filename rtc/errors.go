package rtc

import (
	"errors"
	"fmt"
)

var (
	// ErrClosed is returned by Start on a closed session.
	ErrClosed = errors.New("rtc: session closed")
	// ErrNoKey means the key is expired or empty and there is no KeySource to get a new one.
	ErrNoKey = errors.New("rtc: no valid key (the key expired and no KeySource was given; use WithKeySource)")
	// ErrUnauthorized is the SDP endpoint's 401/403: the key was refused (a fresh key may work).
	ErrUnauthorized = errors.New("rtc: key refused")
)

// HTTPError is a non-2xx answer of the SDP endpoint (or of the WebSocket handshake).
type HTTPError struct {
	Op         string // "WebSocket handshake"; "" = the SDP exchange
	StatusCode int
	Code       string // error.code of the JSON body, if any
	Message    string // error.message of the JSON body, else the start of the body
}

func (e *HTTPError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "(no message)"
	}
	op := e.Op
	if op == "" {
		op = "SDP exchange"
	}
	if e.Code != "" {
		return fmt.Sprintf("rtc: %s: HTTP %d: %s (code %s)", op, e.StatusCode, msg, e.Code)
	}
	return fmt.Sprintf("rtc: %s: HTTP %d: %s", op, e.StatusCode, msg)
}

// Unwrap makes 401/403 match ErrUnauthorized.
func (e *HTTPError) Unwrap() error {
	if e.StatusCode == 401 || e.StatusCode == 403 {
		return ErrUnauthorized
	}
	return nil
}

// retryable reports whether a connect error should be retried with a fresh key.
func retryable(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.StatusCode == 401 || he.StatusCode == 403 || he.StatusCode == 408 || he.StatusCode == 429 || he.StatusCode >= 500
	}
	return !errors.Is(err, ErrNoKey)
}
