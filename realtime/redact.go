package realtime

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// Redacted is what Scrub and RedactURL put in place of a secret.
const Redacted = "<redacted>"

// tokenRe matches what looks like a key or token whatever the backend calls it: an
// OpenAI key (sk-...), an ephemeral key (ek_...), an edgevoice device token (evd_...),
// and the value of a Bearer or api-key header.
var tokenRe = regexp.MustCompile(`(?i)\b(?:sk-|ek_|evd_)[A-Za-z0-9_\-]{6,}|(?i:bearer)\s+[^\s"'\\,;]+|(?i:api-key)\s*[:=]\s*[^\s"'\\,;]+`)

// Scrub returns s with every secret in secrets (each at least 4 bytes; shorter ones and
// "" are skipped), its URL-escaped form, and anything that looks like a key or token
// replaced by Redacted. Text from a backend (an error body) goes through it before it
// reaches an error, a log or a status line: some backends reflect the credential.
func Scrub(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) < 4 {
			continue
		}
		s = strings.ReplaceAll(s, sec, Redacted)
		if esc := url.QueryEscape(sec); esc != sec {
			s = strings.ReplaceAll(s, esc, Redacted)
		}
	}
	return tokenRe.ReplaceAllStringFunc(s, func(m string) string {
		lm := strings.ToLower(m)
		switch {
		case strings.HasPrefix(lm, "bearer"):
			return "Bearer " + Redacted
		case strings.HasPrefix(lm, "api-key"):
			return "api-key=" + Redacted
		}
		return Redacted
	})
}

// RedactURL returns u for a message: the password of its user info and the value of
// every query parameter but api-version are replaced by Redacted (a configured URL may
// carry a secret there). A value that does not parse is replaced whole.
func RedactURL(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return Redacted
	}
	if pu.User != nil {
		pu.User = url.User(Redacted)
	}
	if pu.RawQuery != "" {
		q, err := url.ParseQuery(pu.RawQuery)
		if err != nil {
			pu.RawQuery = Redacted
		} else {
			for k, vs := range q {
				if k == "api-version" {
					continue
				}
				for i := range vs {
					vs[i] = Redacted
				}
			}
			pu.RawQuery = q.Encode()
		}
	}
	pu.Fragment, pu.RawFragment = "", ""
	return pu.String()
}

// URLSecrets returns what RedactURL hides in u (its password, its query values but
// api-version), for Scrub: a backend may reflect the request URL in an error body.
func URLSecrets(u string) []string {
	pu, err := url.Parse(u)
	if err != nil {
		return nil
	}
	var out []string
	if pu.User != nil {
		if pw, ok := pu.User.Password(); ok {
			out = append(out, pw)
		}
	}
	q, _ := url.ParseQuery(pu.RawQuery)
	for k, vs := range q {
		if k != "api-version" {
			out = append(out, vs...)
		}
	}
	return out
}

// RedactError returns the text of err with the URL of a *url.Error in it redacted
// (RedactURL) and the secrets scrubbed (Scrub): Go's HTTP client puts the whole request
// URL, query and user info included, in its errors.
func RedactError(err error, secrets ...string) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) && ue.URL != "" {
		s = strings.ReplaceAll(s, ue.URL, RedactURL(ue.URL))
	}
	return Scrub(s, secrets...)
}
