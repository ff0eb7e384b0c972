package tools

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func runOne(t *testing.T, tool Tool, args string) (string, error) {
	t.Helper()
	s := NewSet(nil)
	if err := s.Add(tool); err != nil {
		t.Fatal(err)
	}
	return s.RunTool(context.Background(), tool.Name, args)
}

func cmdTool(t *testing.T, spec CommandSpec) Tool {
	t.Helper()
	if spec.Name == "" {
		spec.Name = "cmd"
	}
	tool, err := CommandTool(spec)
	if err != nil {
		t.Fatal(err)
	}
	return tool
}

// TestCommandTool: the arguments arrive on stdin, stdout is the output (JSON as it is,
// text as a string), the environment is minimal; a timeout kills the process group,
// too much output and a non-zero exit are errors.
func TestCommandTool(t *testing.T) {
	t.Setenv("EDGEVOICE_SECRET_TEST", "must-not-leak")
	out, err := runOne(t, cmdTool(t, CommandSpec{Argv: []string{"/bin/cat"}}), `{"room":"kitchen"}`)
	if err != nil || out != `{"room":"kitchen"}` {
		t.Errorf("cat: %s, %v", out, err)
	}
	out, err = runOne(t, cmdTool(t, CommandSpec{Argv: []string{"/usr/bin/env"}, Env: []string{"HA_ROOM=kitchen"}}), `{}`)
	if err != nil || strings.Contains(out, "must-not-leak") || !strings.Contains(out, `PATH=/usr/local/bin:/usr/bin:/bin`) ||
		!strings.Contains(out, "EDGEVOICE_TOOL=cmd") || !strings.Contains(out, "HA_ROOM=kitchen") {
		t.Errorf("env: %s, %v", out, err)
	}
	var envLines string
	if err := json.Unmarshal([]byte(out), &envLines); err != nil || len(strings.Split(strings.TrimSpace(envLines), "\n")) != 4 {
		t.Errorf("env output %s is not the 4 variables as a JSON string (%v)", out, err)
	}
	start := time.Now()
	_, err = runOne(t, cmdTool(t, CommandSpec{Argv: []string{"/bin/sh", "-c", "sleep 30 & sleep 30"}, Timeout: 200 * time.Millisecond}), `{}`)
	if err == nil || !strings.Contains(err.Error(), "did not finish within 200ms") {
		t.Errorf("timeout: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the timed-out tool took %v to end (its process group was not killed?)", d)
	}
	_, err = runOne(t, cmdTool(t, CommandSpec{Argv: []string{"/bin/sh", "-c", "head -c 5000 /dev/zero"}, MaxOutput: 1000}), `{}`)
	if err == nil || !strings.Contains(err.Error(), "more than 1000 bytes") {
		t.Errorf("cap: %v", err)
	}
	_, err = runOne(t, cmdTool(t, CommandSpec{Argv: []string{"/bin/sh", "-c", "echo 'no such room' >&2; exit 3"}}), `{}`)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "no such room") {
		t.Errorf("exit: %v", err)
	}
	for _, bad := range []CommandSpec{{Name: "x", Argv: []string{"cat"}}, {Name: "x"}, {Name: "x", Argv: []string{"/bin/cat"}, Env: []string{"NOEQUALS"}}} {
		if _, err := CommandTool(bad); err == nil {
			t.Errorf("%+v was accepted", bad)
		}
	}
}

// tlsServer serves h over TLS and writes its CA to a file.
func tlsServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the unknown-CA case's handshake error
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, ca
}

// TestHTTPTool: the arguments are POSTed as JSON with the bearer token from its file,
// over TLS verified with the CA option; a 500, a slow server, a large body and an
// unknown CA are errors; neither the token nor the URL's secret path appears in one.
func TestHTTPTool(t *testing.T) {
	const token = "tok-3f9a1c"
	slowDone := make(chan struct{})
	srv, ca := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/api/webhook/secret-hook-id":
			if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+token || r.Header.Get("Content-Type") != "application/json" {
				http.Error(w, "bad request shape", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"got":` + string(body) + `}`))
		case "/fail":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/slow":
			// Not r.Context(): the server may end that early (seen under qemu-user), and
			// an empty 200 is not what this case is about: only the tool's timeout ends it.
			select {
			case <-slowDone:
			case <-time.After(10 * time.Second):
			}
		case "/big":
			w.Write([]byte(strings.Repeat("x", 3000)))
		}
	})
	t.Cleanup(func() { close(slowDone) }) // before tlsServer's srv.Close, which waits for the handler
	tokFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mk := func(path string, spec HTTPSpec) Tool {
		t.Helper()
		spec.Name, spec.URL = "ha", srv.URL+path
		if spec.CAFile == "" {
			spec.CAFile = ca
		}
		tool, err := HTTPTool(spec)
		if err != nil {
			t.Fatal(err)
		}
		return tool
	}
	out, err := runOne(t, mk("/api/webhook/secret-hook-id", HTTPSpec{TokenFile: tokFile}), `{"on":true}`)
	if err != nil || out != `{"got":{"on":true}}` {
		t.Errorf("call: %s, %v", out, err)
	}
	var errs []error
	_, err = runOne(t, mk("/fail", HTTPSpec{}), `{}`)
	if err == nil || !strings.Contains(err.Error(), "HTTP 500: boom") {
		t.Errorf("500: %v", err)
	}
	errs = append(errs, err)
	_, err = runOne(t, mk("/slow", HTTPSpec{Timeout: 200 * time.Millisecond}), `{}`)
	if err == nil || !strings.Contains(err.Error(), "did not finish within 200ms") {
		t.Errorf("slow: %v", err)
	}
	errs = append(errs, err)
	_, err = runOne(t, mk("/big", HTTPSpec{MaxOutput: 1000}), `{}`)
	if err == nil || !strings.Contains(err.Error(), "larger than 1000 bytes") {
		t.Errorf("big: %v", err)
	}
	errs = append(errs, err)
	// the system roots do not know the test CA
	tool, err := HTTPTool(HTTPSpec{Name: "ha", URL: srv.URL + "/api/webhook/secret-hook-id", TokenFile: tokFile})
	if err != nil {
		t.Fatal(err)
	}
	_, err = runOne(t, tool, `{}`)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("unknown CA: %v", err)
	}
	errs = append(errs, err)
	for _, e := range errs {
		if e != nil && (strings.Contains(e.Error(), token) || strings.Contains(e.Error(), "secret-hook-id")) {
			t.Errorf("error %q holds the token or the URL", e)
		}
	}
	for _, bad := range []HTTPSpec{{Name: "x", URL: "http://192.0.2.1/x"}, {Name: "x", URL: "ftp://h/x"}, {Name: "x", URL: "/relative"}, {Name: "x", URL: "https://h/", CAFile: "/nonexistent"}} {
		if _, err := HTTPTool(bad); err == nil {
			t.Errorf("%+v was accepted", bad)
		}
	}
	if _, err := HTTPTool(HTTPSpec{Name: "x", URL: "http://127.0.0.1:8123/x"}); err != nil {
		t.Errorf("http to loopback: %v", err)
	}
}
