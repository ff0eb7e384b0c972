package provisioning

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/edgevoice/edgevoice/realtime"
)

// userAgent is sent with every mint request.
const userAgent = "edgevoice-provisioning/1"

// post sends body as JSON to u with the credential and decodes a 2xx answer into out.
func (p *endpoint) post(ctx context.Context, op, u string, auth AuthMode, body any, out any) error {
	secret := ""
	if p.cred != nil { // nil only for a broker device that authenticates by client certificate
		var err error
		if secret, err = p.cred(ctx); err != nil {
			return fmt.Errorf("provisioning: %s: reading the credential: %w", op, err)
		}
		if secret == "" {
			return fmt.Errorf("provisioning: %s: the credential is empty", op)
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("provisioning: %s: json.Marshal: %w", op, err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("provisioning: %s: http.NewRequest: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	switch {
	case secret == "":
	case auth == AuthAPIKey:
		req.Header.Set("api-key", secret)
	default:
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		// *url.Error prints the whole URL (query secrets, user info): keep only its
		// cause, and scrub that too.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		err = &scrubbedError{msg: realtime.RedactError(err, append(realtime.URLSecrets(u), secret)...), err: err}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return fmt.Errorf("provisioning: %s: POST %s: no answer within %s: %w", op, redactURL(u), p.timeout, err)
		}
		return fmt.Errorf("provisioning: %s: POST %s: %w", op, redactURL(u), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, p.maxBody+1))
	if err != nil {
		return fmt.Errorf("provisioning: %s: reading the answer: %w", op, err)
	}
	if int64(len(data)) > p.maxBody {
		return fmt.Errorf("provisioning: %s: answer larger than %d bytes; refusing it", op, p.maxBody)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &HTTPError{Op: op, StatusCode: resp.StatusCode, Message: errorMessage(data, append(realtime.URLSecrets(u), secret)...),
			RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), p.clock.Now())}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("provisioning: %s: the answer is not the expected JSON: %w", op, err)
	}
	return nil
}

// errorMessage pulls a short message out of an error body: the OpenAI/Azure shape
// {"error":{"message":...}}, else the start of the text.
func errorMessage(data []byte, secrets ...string) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	msg := ""
	if json.Unmarshal(data, &e) == nil && len(e.Error) > 0 {
		var obj struct {
			Message string `json:"message"`
			Code    any    `json:"code"`
		}
		var s string
		if json.Unmarshal(e.Error, &obj) == nil && obj.Message != "" {
			msg = obj.Message
		} else if json.Unmarshal(e.Error, &s) == nil {
			msg = s
		}
	}
	if msg == "" {
		msg = string(data)
	}
	msg = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, msg)
	// Some backends reflect the credential ("invalid key <header>"): scrub it (and
	// whatever looks like a key) before the message is cut, so no part of it is left.
	msg = strings.TrimSpace(realtime.Scrub(msg, secrets...))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return msg
}

// redactURL returns u for a message, without its password and query values.
func redactURL(u string) string { return realtime.RedactURL(u) }

// scrubbedError is a transport error whose text was scrubbed; errors.Is and errors.As
// still see the cause.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
