package provisioning

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/provisioning/internal/provtest"
)

// TestBackendEchoNeverShowsTheCredential: a backend that reflects the credential in its
// error body (401 "invalid key <header>") had it copied into the error, and from there
// into logs, `keys status`, `check` and STATUS=. Every shape of echo is scrubbed: the
// JSON message, a text body, the credential cut by the 200-byte limit, a Bearer header.
func TestBackendEchoNeverShowsTheCredential(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	secret := provtest.APIKey
	bodies := []struct {
		status int
		ctype  string
		body   string
	}{
		{401, "application/json", fmt.Sprintf(`{"error":{"message":"invalid key %s","code":"401"}}`, secret)},
		{403, "text/plain", "forbidden: api-key=" + secret},
		{500, "text/plain", strings.Repeat("x", 190) + secret},
		{502, "application/json", fmt.Sprintf(`{"error":"upstream said: Authorization: Bearer %s"}`, secret)},
		{400, "application/json", fmt.Sprintf(`{"error":{"message":"bad token sk-proj-%s / ek_%s / evd_%s"}}`, "Zz9Yy8Xx7Ww6Vv5Uu4", "Aa1Bb2Cc3Dd4Ee5Ff6", "Gg7Hh8Ii9Jj0Kk1Ll2")},
	}
	for i, bd := range bodies {
		b.Handle = func(w http.ResponseWriter, r *http.Request, _ provtest.Recorded) bool {
			w.Header().Set("Content-Type", bd.ctype)
			w.WriteHeader(bd.status)
			w.Write([]byte(bd.body))
			return true
		}
		_, err := azureGA(t, b).Mint(context.Background(), nil)
		if err == nil {
			t.Fatalf("body %d: no error", i)
		}
		for _, s := range []string{secret, secret[:20], "Zz9Yy8Xx7Ww6Vv5Uu4", "Aa1Bb2Cc3Dd4Ee5Ff6", "Gg7Hh8Ii9Jj0Kk1Ll2"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("body %d: the error shows a secret (%.8s...): %v", i, s, err)
			}
		}
		var he *HTTPError
		if !errors.As(err, &he) || he.StatusCode != bd.status || !strings.Contains(he.Message, "<redacted>") {
			t.Errorf("body %d: error %v, want an HTTP %d with the secret shown as <redacted>", i, err, bd.status)
		}
	}
}

// TestTransportErrorRedactsURL: Go's *url.Error prints the whole URL, so a query secret
// of a mint URL reached the error text (redactURL was bypassed through %w).
func TestTransportErrorRedactsURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: the POST fails in the transport
	for _, u := range []string{
		"http://" + addr + "/mint?code=QSECRET0123456789",
		"http://" + addr + "/mint?api-version=1&x=QSECRET0123456789",
	} {
		p, err := NewProvider(ProfileBroker, WithMintURL(u), WithSDPURL("http://"+addr+"/sdp"), WithCredential(StaticCredential("DEVTOKEN0123456789abcdef")))
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Mint(context.Background(), nil)
		if err == nil {
			t.Fatal("mint to a closed port worked")
		}
		if strings.Contains(err.Error(), "QSECRET") || strings.Contains(err.Error(), "DEVTOKEN") {
			t.Errorf("the error shows the URL's secret: %v", err)
		}
		if !strings.Contains(err.Error(), addr) {
			t.Errorf("the error lost the host: %v", err)
		}
	}
}

// TestURLChecks: the library refuses what the config refuses, for callers that build a
// provider from flags: a user name or password in a URL (without repeating it), and
// plain http:// to a host that is not this machine unless insecure HTTP is allowed.
func TestURLChecks(t *testing.T) {
	cred := WithCredential(StaticCredential("x"))
	for _, tc := range []struct {
		url  string
		opts []Option
		want string // "" = accepted
	}{
		{"http://keys.example.com", nil, "plain http://"},
		{"http://192.0.2.1:8080", nil, "plain http://"},
		{"http://keys.example.com", []Option{WithAllowInsecureHTTP(true)}, ""},
		{"http://127.0.0.1:8080", nil, ""},
		{"http://[::1]:8080", nil, ""},
		{"http://localhost:8080", nil, ""},
		{"https://keys.example.com", nil, ""},
		{"https://u:PWSECRET99@keys.example.com", nil, "user name or password"},
	} {
		_, err := NewProvider(ProfileBroker, append([]Option{WithBrokerURL(tc.url), cred}, tc.opts...)...)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.url, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want %q", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "PWSECRET") {
			t.Errorf("%s: the error shows the password: %v", tc.url, err)
		}
	}
}

// TestFarFutureExpiryRefused: an expires_at far in the future made a Key whose
// ExpiresAt does not encode as JSON (year > 9999), which broke the key socket's answer
// silently; a lifetime over maxKeyLifetime is refused with a clear error.
func TestFarFutureExpiryRefused(t *testing.T) {
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	for _, exp := range []string{"1e15", "253402300800", fmt.Sprint(provtest.Start.Add(49 * time.Hour).Unix())} {
		b.Handle = func(w http.ResponseWriter, r *http.Request, _ provtest.Recorded) bool {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"value":"ek_far_future_0123456789","expires_at":%s,"session":{}}`, exp)
			return true
		}
		k, err := azureGA(t, b).Mint(context.Background(), nil)
		if err == nil {
			_, jerr := json.Marshal(k.ExpiresAt)
			t.Errorf("expires_at %s accepted (ExpiresAt %v, JSON error %v)", exp, k.ExpiresAt, jerr)
			continue
		}
		if !strings.Contains(err.Error(), "expires_at") || !strings.Contains(err.Error(), "in the future") {
			t.Errorf("expires_at %s: unclear error %v", exp, err)
		}
	}
}

// TestCredentialFIFONotBlocking: a FIFO named as the credential blocked the open until
// a writer came (the daemon hung past SIGTERM); it is refused at once.
func TestCredentialFIFONotBlocking(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credential")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := ReadCredentialFile(path)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("got %v", err)
		}
	case <-time.After(10 * time.Second):
		// unblock the reader so the test does not leak it
		if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		<-done
		t.Fatal("ReadCredentialFile blocked on a FIFO for 10 s")
	}
}
