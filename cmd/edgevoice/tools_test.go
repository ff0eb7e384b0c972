package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgevoice/edgevoice/internal/cli"
)

// TestToolsCommand: tools list shows each kind of tool, tools call runs a command
// tool and an HTTP tool as configured, and a schema problem or an unknown tool fails
// with the error the model would get.
func TestToolsCommand(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"scene":"on"}`))
	}))
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "edgevoice.toml")
	doc := `[tools]
builtin = ["get_time"]
[[tools.command]]
name = "echo_args"
description = "Echo the arguments"
parameters = '{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}'
argv = ["/bin/cat"]
[[tools.http]]
name = "scene"
url = "` + srv.URL + `/api/webhook/x"
[[session.tools]]
name = "lights"
`
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := app.Main(context.Background(), append([]string{"tools", "-config", cfg}, args...),
			&cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
		return out.String(), errb.String(), code
	}
	out, errOut, code := run("list")
	for _, w := range []string{"get_time         builtin", "echo_args        command", "scene            http", "lights           declared"} {
		if code != 0 || !strings.Contains(out, w) {
			t.Errorf("tools list (%d, %s): lacks %q:\n%s", code, errOut, w, out)
		}
	}
	if out, errOut, code = run("call", "echo_args", `{"n":7}`); code != 0 || strings.TrimSpace(out) != `{"n":7}` {
		t.Errorf("call echo_args: %d %q %q", code, out, errOut)
	}
	if out, errOut, code = run("call", "scene", `{}`); code != 0 || strings.TrimSpace(out) != `{"scene":"on"}` {
		t.Errorf("call scene: %d %q %q", code, out, errOut)
	}
	if _, errOut, code = run("call", "echo_args", `{"n":"seven"}`); code != 1 || !strings.Contains(errOut, "invalid arguments for echo_args: /n: got string, want integer") {
		t.Errorf("bad arguments: %d %q", code, errOut)
	}
	if _, errOut, code = run("call", "lights", `{}`); code != 1 || !strings.Contains(errOut, `unknown tool "lights"`) {
		t.Errorf("declared-only tool: %d %q", code, errOut)
	}
}
