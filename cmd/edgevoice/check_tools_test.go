package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgevoice/edgevoice/internal/cli"
)

// TestCheckConfigCompilesSchemas: check-config compiles every tool's JSON Schema
// (inline and in tools_file) and reports each bad one at the FILE:LINE:COL of its key;
// good schemas pass.
func TestCheckConfigCompilesSchemas(t *testing.T) {
	dir := t.TempDir()
	toolsFile := filepath.Join(dir, "tools.json")
	if err := os.WriteFile(toolsFile, []byte(`[{"type":"function","name":"ok","parameters":{"type":"object"}},
{"type":"function","name":"broken","parameters":{"type":"objekt"}},
{"type":"mcp","server_label":"x","server_url":"http://lan/mcp"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "edgevoice.toml")
	doc := `[provisioning]
tools_file = "` + toolsFile + `"

[[session.tools]]
name = "lights"
parameters = '{"type":"object","properties":{"on":{"type":"boolean"}}}'

[[tools.command]]
name = "timer"
argv = ["/bin/cat"]
parameters = '{"type":"object","properties":{"n":{"type":"integer","minimum":"zero"}}}'

[[tools.http]]
name = "scene"
url = "https://ha.lan/api/webhook/x"
parameters = '{"type":"object","$ref":"https://example.com/schema.json"}'
`
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func() (string, string, int) {
		var out, errb bytes.Buffer
		code := app.Main(context.Background(), []string{"check-config", "-q", cfg},
			&cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
		return out.String(), errb.String(), code
	}
	_, errOut, code := run()
	if code == 0 {
		t.Fatal("check-config accepted bad schemas")
	}
	for _, w := range []string{
		cfg + `:11:1: key "tools.command.0.parameters": timer: the parameters are not a valid JSON Schema`,
		cfg + `:16:1: key "tools.http.0.parameters": scene: the parameters are not a valid JSON Schema`,
		cfg + `:2:1: key "provisioning.tools_file": ` + toolsFile + `: tool 1: broken: the parameters are not a valid JSON Schema`,
		cfg + `:2:1: key "provisioning.tools_file": ` + toolsFile + `: tool 2 (mcp): server_url must be an https:// URL`,
	} {
		if !strings.Contains(errOut, w) {
			t.Errorf("missing %q in:\n%s", w, errOut)
		}
	}
	if strings.Contains(errOut, "lights") || strings.Contains(errOut, "tool 0") {
		t.Errorf("a good schema is reported:\n%s", errOut)
	}
	fixed := strings.NewReplacer(`"minimum":"zero"`, `"minimum":0`, `,"$ref":"https://example.com/schema.json"`, ``, `"tools_file = "`+toolsFile+`"`, ``).Replace(doc)
	fixed = strings.Replace(fixed, "tools_file = \""+toolsFile+"\"\n", "", 1)
	if err := os.WriteFile(cfg, []byte(fixed), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := run(); code != 0 {
		t.Errorf("the fixed config fails (%d):\n%s", code, errOut)
	}
}
