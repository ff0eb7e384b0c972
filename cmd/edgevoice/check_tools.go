package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/edgevoice/edgevoice/tools"
)

// checkToolSchemas is edgevoice's extra check-config check: every tool's JSON Schema
// compiles ([[session.tools]], [[tools.command]], [[tools.http]] parameters and the
// function tools of [provisioning] tools_file), and the tools_file's type "mcp" tools
// name an https:// server_url. The config package cannot do it: it would link the
// schema validator into the key daemon and the broker.
func checkToolSchemas(c *config.Config) []config.Problem {
	var out []config.Problem
	schema := func(key, name, params string) {
		if params == "" {
			return
		}
		if _, err := tools.CompileSchema(name, json.RawMessage(params)); err != nil {
			out = append(out, config.Problem{Key: key, Msg: strings.TrimPrefix(err.Error(), "tools: ")})
		}
	}
	for i, t := range c.Session.Tools {
		schema(fmt.Sprintf("session.tools.%d.parameters", i), t.Name, t.Parameters)
	}
	for i, t := range c.Tools.Command {
		schema(fmt.Sprintf("tools.command.%d.parameters", i), t.Name, t.Parameters)
	}
	for i, t := range c.Tools.HTTP {
		schema(fmt.Sprintf("tools.http.%d.parameters", i), t.Name, t.Parameters)
	}
	if f := c.Provisioning.ToolsFile; f != "" {
		out = append(out, checkToolsFile(f)...)
	}
	return out
}

// checkToolsFile checks the tools of a tools_file (a JSON array of tool definitions).
func checkToolsFile(path string) []config.Problem {
	const key = "provisioning.tools_file"
	bad := func(format string, args ...any) []config.Problem {
		return []config.Problem{{Key: key, Msg: fmt.Sprintf(format, args...)}}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return bad("%v", err)
	}
	var list []struct {
		Type       string          `json:"type"`
		Name       string          `json:"name"`
		Parameters json.RawMessage `json:"parameters"`
		ServerURL  string          `json:"server_url"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return bad("%s: want a JSON array of tool definitions: %v", path, err)
	}
	var out []config.Problem
	for i, t := range list {
		switch t.Type {
		case "function", "":
			if !tools.ValidName(t.Name) {
				out = append(out, bad("%s: tool %d: name %q: use 1 to 64 letters, digits, '_' and '-'", path, i, t.Name)...)
				continue
			}
			if len(t.Parameters) > 0 {
				if _, err := tools.CompileSchema(t.Name, t.Parameters); err != nil {
					out = append(out, bad("%s: tool %d: %s", path, i, strings.TrimPrefix(err.Error(), "tools: "))...)
				}
			}
		case "mcp":
			if u, err := url.Parse(t.ServerURL); err != nil || u.Scheme != "https" || u.Host == "" {
				out = append(out, bad("%s: tool %d (mcp): server_url must be an https:// URL the service can reach", path, i)...)
			}
		}
	}
	return out
}
