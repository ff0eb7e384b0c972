package rtc

import "github.com/edgevoice/edgevoice/realtime"

// redactedErr is an error whose text was redacted; errors.Is and errors.As see the
// cause.
type redactedErr struct {
	msg string
	err error
}

func (e *redactedErr) Error() string { return e.msg }
func (e *redactedErr) Unwrap() error { return e.err }

// redactedError returns err (an HTTP client error) with the request URL redacted
// (*url.Error prints the whole URL, query secrets included) and the secrets scrubbed.
func redactedError(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	return &redactedErr{msg: realtime.RedactError(err, secrets...), err: err}
}
