package tools

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// HTTPSpec is an HTTP tool: the arguments are POSTed as JSON to URL, and the response
// body is the output.
type HTTPSpec struct {
	Name        string
	Description string
	Parameters  json.RawMessage
	// URL is https:// (http:// only to a loopback address). It may hold a secret (a
	// webhook id): it is never logged or put in an error.
	URL string
	// TokenFile holds a bearer token (sent as Authorization: Bearer); read at each
	// call, so a rotated token is used at once; never logged. "" = none.
	TokenFile string
	// CAFile is a PEM bundle that verifies the server instead of the system roots.
	CAFile string
	// Timeout bounds one call (0 = DefaultTimeout).
	Timeout time.Duration
	// MaxOutput caps the response body (0 = MaxOutput); more is an error.
	MaxOutput int
}

// HTTPTool returns the tool that calls spec.URL.
func HTTPTool(spec HTTPSpec) (Tool, error) {
	u, err := url.Parse(spec.URL)
	if err != nil || u.Host == "" {
		return Tool{}, fmt.Errorf("tools: %s: the URL is not an absolute http(s) URL", spec.Name)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return Tool{}, fmt.Errorf("tools: %s: use an https:// URL (http:// only for a loopback address)", spec.Name)
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if spec.CAFile != "" {
		pem, err := os.ReadFile(spec.CAFile)
		if err != nil {
			return Tool{}, fmt.Errorf("tools: %s: ca_file: %w", spec.Name, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return Tool{}, fmt.Errorf("tools: %s: ca_file %s holds no PEM certificate", spec.Name, spec.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	limit := spec.MaxOutput
	if limit <= 0 {
		limit = MaxOutput
	}
	tr := &http.Transport{TLSClientConfig: tlsConf, Proxy: nil, DisableKeepAlives: true, ForceAttemptHTTP2: true} // no idle connections left behind between rare calls
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return errors.New("redirects are not followed")
	}}
	target := spec.URL
	return Tool{
		Name: spec.Name, Description: spec.Description, Parameters: spec.Parameters, Timeout: spec.Timeout,
		Run: func(ctx context.Context, args json.RawMessage) (any, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(args))
			if err != nil {
				return nil, fmt.Errorf("%s: bad request", spec.Name)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/plain")
			if spec.TokenFile != "" {
				tok, err := os.ReadFile(spec.TokenFile)
				if err != nil {
					return nil, fmt.Errorf("%s: cannot read its token file", spec.Name)
				}
				req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
			}
			resp, err := client.Do(req)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				var ue *url.Error
				if errors.As(err, &ue) { // its text holds the URL: keep only the cause
					err = ue.Err
				}
				return nil, fmt.Errorf("%s: the request failed: %v", spec.Name, err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, fmt.Errorf("%s: reading the response failed", spec.Name)
			}
			if resp.StatusCode < 200 || resp.StatusCode > 299 {
				snippet := strings.TrimSpace(string(body[:min(len(body), 200)]))
				return nil, fmt.Errorf("%s: HTTP %d: %s", spec.Name, resp.StatusCode, snippet)
			}
			if len(body) > limit {
				return nil, fmt.Errorf("%s: the response is larger than %d bytes", spec.Name, limit)
			}
			return textOrJSON(body), nil
		},
	}, nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1" || strings.HasPrefix(host, "127.")
}
