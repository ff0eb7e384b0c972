package config

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
)

// builtinTools are the built-in tools of package tools (tools.BuiltinNames; a test
// there checks that the lists agree: this package does not import it, to keep the
// schema validator out of the binaries that only read the config).
var builtinTools = []string{"set_volume", "get_volume", "mute", "stop", "get_time", "device_status"}

// BuiltinTools returns the names [tools] builtin accepts.
func BuiltinTools() []string { return slices.Clone(builtinTools) }

// Tools is the [tools] section: the tools the device runs when the model calls them.
type Tools struct {
	// Built-in device tools offered to the model: "set_volume", "get_volume", "mute",
	// "stop", "get_time" and "device_status". They act like the buttons do. Default:
	// all of them, less any name a [[session.tools]] entry declares; [] offers none.
	Builtin []string `toml:"builtin"`
	// Bound on each tool call: past it the model is told the tool did not answer.
	Timeout Duration `toml:"timeout"`
	// Command tools: a program run with the model's arguments as JSON on stdin; its
	// stdout is the answer.
	Command []CommandTool `toml:"command"`
	// HTTP tools: the model's arguments POSTed as JSON to a URL (a Home Assistant
	// webhook or REST call); the response body is the answer.
	HTTP []HTTPTool `toml:"http"`
	// MCP servers (Model Context Protocol) on the LAN or the device whose tools the
	// model is offered; the device connects to them, lists their tools and forwards
	// the model's calls.
	MCP []MCPServer `toml:"mcp"`
	// Server-side MCP tools: the Realtime service itself connects to a public MCP
	// server (it cannot reach a LAN address). GA profiles only. With a broker that pins
	// the session, put them in the broker's config instead: their authorization then
	// never reaches the device.
	MCPRemote []MCPRemote `toml:"mcp_remote"`
}

// MCPRemote is one [[tools.mcp_remote]]: a type "mcp" tool of the session.
type MCPRemote struct {
	// Label of the server for the model (letters, digits, '_' and '-').
	ServerLabel string `toml:"server_label"`
	// https:// URL of the MCP server, which the service calls.
	ServerURL string `toml:"server_url"`
	// What the server offers, for the model. Empty: none.
	ServerDescription string `toml:"server_description"`
	// The server's tools the model may call. Empty: all of them.
	AllowedTools []string `toml:"allowed_tools"`
	// "never" (calls run at once) or "always" (the service asks the device before each
	// call; the device approves the tools in approve and denies the rest, with a reason
	// the model says). Empty: "never".
	RequireApproval string `toml:"require_approval"`
	// With require_approval = "always": the server's tools the device approves when the
	// service asks; each must be in allowed_tools when that is set. Empty: approve none
	// (every call is denied). Without "always" it is an error (the service never asks).
	// A broker that pins this server: give the device the same entry (server_label,
	// approve); only its approve list is used then.
	Approve []string `toml:"approve"`
	// File holding the OAuth access token the service sends to the server (read at
	// start, never logged), e.g. a systemd credential. Empty: none.
	AuthorizationFile string `toml:"authorization_file"`
}

// MCPServer is one [[tools.mcp]]: an MCP server reached over Streamable HTTP (url) or
// stdio (command).
type MCPServer struct {
	// Name of the server, in logs (letters, digits, '_' and '-').
	Name string `toml:"name"`
	// Streamable HTTP endpoint: https:// (http:// only to a loopback address), such as
	// "https://ha.lan:8123/api/mcp". Give url or command.
	URL string `toml:"url"`
	// A server spoken to over stdin/stdout: the program (absolute path) and its
	// arguments; no shell. It runs as the service user with PATH, LANG and
	// EDGEVOICE_MCP_SERVER only, plus env.
	Command []string `toml:"command"`
	// More NAME=value entries for a command server's environment (masked when the
	// config is printed).
	Env []string `toml:"env" secret:"true"`
	// The server's tool names offered to the model. Empty: all of them.
	Allow []string `toml:"allow"`
	// Put before each tool's name in the model's list ("ha_" makes "HassTurnOn"
	// "ha_HassTurnOn"), so two servers' tools do not collide. A name longer than 64
	// with it is left out.
	Prefix string `toml:"prefix"`
	// File holding a bearer token sent as "Authorization: Bearer" with each request
	// (read at each one, never logged), e.g. a systemd credential. Empty: none.
	BearerTokenFile string `toml:"bearer_token_file"`
	// PEM bundle that verifies an https:// server instead of the system's roots.
	CAFile string `toml:"ca_file"`
	// Bound on each call, listing and ping. Empty: [tools] timeout.
	Timeout Duration `toml:"timeout"`
}

// CommandTool is one [[tools.command]].
type CommandTool struct {
	// Function name (letters, digits, '_' and '-').
	Name string `toml:"name"`
	// What the tool does, for the model.
	Description string `toml:"description"`
	// JSON Schema of the arguments, as a JSON object string. Empty: no arguments.
	Parameters string `toml:"parameters"`
	// The program (absolute path) and its arguments; no shell. It runs as the service
	// user inside the unit's sandbox, with PATH, LANG and EDGEVOICE_TOOL only.
	Argv []string `toml:"argv"`
	// More NAME=value entries for its environment (masked when the config is printed).
	Env []string `toml:"env" secret:"true"`
	// Bound on one run (the process group is killed). Empty: [tools] timeout.
	Timeout Duration `toml:"timeout"`
	// Most bytes of stdout taken as the answer; more is an error. 0: 16384.
	MaxOutput int `toml:"max_output"`
}

// HTTPTool is one [[tools.http]].
type HTTPTool struct {
	// Function name (letters, digits, '_' and '-').
	Name string `toml:"name"`
	// What the tool does, for the model.
	Description string `toml:"description"`
	// JSON Schema of the arguments, as a JSON object string. Empty: no arguments.
	Parameters string `toml:"parameters"`
	// https:// URL the arguments are POSTed to (http:// only to a loopback address).
	// It may hold a secret such as a webhook id: it is never logged (masked when the
	// config is printed).
	URL string `toml:"url" secret:"true"`
	// File holding a bearer token sent as "Authorization: Bearer" (read at each call,
	// never logged), e.g. a systemd credential. Empty: no token.
	BearerTokenFile string `toml:"bearer_token_file"`
	// PEM bundle that verifies the server instead of the system's roots (a LAN server
	// with its own CA). Empty: the system's roots.
	CAFile string `toml:"ca_file"`
	// Bound on one call. Empty: [tools] timeout.
	Timeout Duration `toml:"timeout"`
	// Most bytes of the response body taken as the answer; more is an error. 0: 16384.
	MaxOutput int `toml:"max_output"`
}

func (c *Tools) setDefaults(session *Session) {
	if c.Builtin == nil { // every built-in whose name no [[session.tools]] entry has taken
		c.Builtin = []string{}
		for _, n := range builtinTools {
			if !slices.ContainsFunc(session.Tools, func(t Tool) bool { return t.Name == n }) {
				c.Builtin = append(c.Builtin, n)
			}
		}
	}
	if c.Timeout == 0 {
		c.Timeout = Duration(10e9)
	}
	if c.Command == nil { // empty, not nil: the printed config reloads the same
		c.Command = []CommandTool{}
	}
	if c.HTTP == nil {
		c.HTTP = []HTTPTool{}
	}
	if c.MCP == nil {
		c.MCP = []MCPServer{}
	}
	if c.MCPRemote == nil {
		c.MCPRemote = []MCPRemote{}
	}
	for i := range c.MCPRemote {
		if c.MCPRemote[i].RequireApproval == "" {
			c.MCPRemote[i].RequireApproval = "never"
		}
	}
}

// toolName checks a tool's name and parameters; names counts every name in use.
func toolName(p *sectionProblems, key, name, params string, names map[string]int) {
	switch {
	case name == "" || len(name) > 64 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "":
		p.add(key+".name", "%q: use 1 to 64 letters, digits, '_' and '-'", name)
	case names[name] > 0:
		p.add(key+".name", "%q is already the name of another tool (built-in, [[session.tools]], command or http)", name)
	}
	names[name]++
	if params != "" {
		var obj map[string]any
		if err := json.Unmarshal([]byte(params), &obj); err != nil {
			p.add(key+".parameters", "not a JSON object (%v); write a JSON Schema such as {\"type\":\"object\",\"properties\":{}}", err)
		}
	}
}

func checkToolLimits(p *sectionProblems, key string, timeout Duration, maxOut int) {
	if d := timeout.D(); d < 0 || d > 10*60e9 {
		p.add(key+".timeout", "%v is out of range; use a duration up to 10m such as \"5s\" (empty: [tools] timeout)", d)
	}
	if maxOut < 0 || maxOut > 1<<20 {
		p.add(key+".max_output", "%d is out of range; use 0 (16384) to 1048576 bytes", maxOut)
	}
}

// validate checks the section; profile is [provisioning] profile (the preview dialect
// has no server-side MCP tools).
func (c *Tools) validate(p *sectionProblems, session *Session, profile string) {
	seen := map[string]bool{}
	for _, n := range c.Builtin {
		switch {
		case !slices.Contains(builtinTools, n):
			p.add("builtin", "%q is not a built-in tool; use some of %q", n, builtinTools)
		case seen[n]:
			p.add("builtin", "%q appears twice", n)
		}
		seen[n] = true
	}
	for _, t := range session.Tools {
		if seen[t.Name] {
			p.add("builtin", "%q is also a [[session.tools]] name; rename that tool or take %q out of builtin", t.Name, t.Name)
		}
	}
	if d := c.Timeout.D(); d <= 0 || d > 10*60e9 {
		p.add("timeout", "%v is out of range; use a duration from 1ms to 10m such as \"10s\"", d)
	}
	names := map[string]int{}
	for _, n := range c.Builtin {
		names[n]++
	}
	for _, t := range session.Tools {
		names[t.Name]++
	}
	for i, t := range c.Command {
		key := fmt.Sprintf("command.%d", i)
		toolName(p, key, t.Name, t.Parameters, names)
		if len(t.Argv) == 0 || !filepath.IsAbs(t.Argv[0]) {
			p.add(key+".argv", "must start with the absolute path of the program, such as [\"/usr/local/bin/lights\", \"--json\"] (no shell is used)")
		}
		for _, e := range t.Env {
			if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
				p.add(key+".env", "%q is not NAME=value", e)
			}
		}
		checkToolLimits(p, key, t.Timeout, t.MaxOutput)
	}
	for i, t := range c.HTTP {
		key := fmt.Sprintf("http.%d", i)
		toolName(p, key, t.Name, t.Parameters, names)
		u, err := url.Parse(t.URL)
		switch {
		case err != nil || u.Host == "":
			p.add(key+".url", "is not an absolute URL; write it like \"https://ha.lan:8123/api/webhook/ID\"")
		case u.Scheme == "https":
		case u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "::1" || strings.HasPrefix(u.Hostname(), "127.")):
		default:
			p.add(key+".url", "use https:// (http:// only for a loopback address): the arguments and the token would cross the network in clear")
		}
		for _, f := range [][2]string{{"bearer_token_file", t.BearerTokenFile}, {"ca_file", t.CAFile}} {
			if f[1] != "" && !filepath.IsAbs(f[1]) {
				p.add(key+"."+f[0], "%q is not an absolute path", f[1])
			}
		}
		checkToolLimits(p, key, t.Timeout, t.MaxOutput)
	}
	c.validateMCP(p)
	labels := map[string]bool{}
	if profile == "azure-preview" && len(c.MCPRemote) > 0 {
		p.add("mcp_remote.0", "[provisioning] profile \"azure-preview\" speaks the preview dialect, which has no server-side MCP tools; use a GA profile or remove [[tools.mcp_remote]]")
	}
	for i, m := range c.MCPRemote {
		key := fmt.Sprintf("mcp_remote.%d", i)
		switch {
		case m.ServerLabel == "" || len(m.ServerLabel) > 64 || strings.Trim(m.ServerLabel, nameChars) != "":
			p.add(key+".server_label", "%q: use 1 to 64 letters, digits, '_' and '-'", m.ServerLabel)
		case labels[m.ServerLabel]:
			p.add(key+".server_label", "%q is the label of another [[tools.mcp_remote]]", m.ServerLabel)
		}
		labels[m.ServerLabel] = true
		if u, err := url.Parse(m.ServerURL); err != nil || u.Scheme != "https" || u.Host == "" {
			p.add(key+".server_url", "must be an https:// URL the service can reach, such as \"https://mcp.example.com/mcp\" (a LAN server needs [[tools.mcp]])")
		}
		switch m.RequireApproval {
		case "never", "always":
		default:
			p.add(key+".require_approval", "%q is not known; use \"never\" or \"always\"", m.RequireApproval)
		}
		if m.AuthorizationFile != "" && !filepath.IsAbs(m.AuthorizationFile) {
			p.add(key+".authorization_file", "%q is not an absolute path", m.AuthorizationFile)
		}
		for _, a := range m.AllowedTools {
			if a == "" {
				p.add(key+".allowed_tools", "an entry is empty")
			}
		}
		checkApprove(p, key, m)
	}
}

// checkApprove checks [[tools.mcp_remote]] approve: names of tools the service may call,
// and only where it asks (require_approval "always").
func checkApprove(p *sectionProblems, key string, m MCPRemote) {
	if len(m.Approve) > 0 && m.RequireApproval != "always" {
		p.add(key+".approve", "takes effect only with require_approval = \"always\" (here %q: the service never asks); set it or remove approve", m.RequireApproval)
	}
	for _, a := range m.Approve {
		switch {
		case a == "":
			p.add(key+".approve", "an entry is empty")
		case len(m.AllowedTools) > 0 && !slices.Contains(m.AllowedTools, a):
			p.add(key+".approve", "%q is not in allowed_tools %q: the service never calls it; add it there or remove it here", a, m.AllowedTools)
		}
	}
}

const nameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

// checkHTTPURL reports a url that is not https:// or http:// to loopback.
func checkHTTPURL(p *sectionProblems, key, raw, example string) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		p.add(key, "is not an absolute URL; write it like %q", example)
	case u.Scheme == "https":
	case u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "::1" || strings.HasPrefix(u.Hostname(), "127.")):
	default:
		p.add(key, "use https:// (http:// only for a loopback address): the arguments and the token would cross the network in clear")
	}
}

func (c *Tools) validateMCP(p *sectionProblems) {
	servers := map[string]bool{}
	prefixes := map[string]bool{}
	for i, m := range c.MCP {
		key := fmt.Sprintf("mcp.%d", i)
		switch {
		case m.Name == "" || len(m.Name) > 64 || strings.Trim(m.Name, nameChars) != "":
			p.add(key+".name", "%q: use 1 to 64 letters, digits, '_' and '-'", m.Name)
		case servers[m.Name]:
			p.add(key+".name", "%q is already the name of another [[tools.mcp]]", m.Name)
		}
		servers[m.Name] = true
		switch {
		case m.URL == "" && len(m.Command) == 0:
			p.add(key, "give url (a Streamable HTTP endpoint) or command (a stdio server)")
		case m.URL != "" && len(m.Command) > 0:
			p.add(key+".command", "give url or command, not both")
		case m.URL != "":
			checkHTTPURL(p, key+".url", m.URL, "https://ha.lan:8123/api/mcp")
		default:
			if !filepath.IsAbs(m.Command[0]) {
				p.add(key+".command", "must start with the absolute path of the program, such as [\"/usr/local/bin/mcp-server\", \"--stdio\"] (no shell is used)")
			}
			for _, f := range [][2]string{{"bearer_token_file", m.BearerTokenFile}, {"ca_file", m.CAFile}} {
				if f[1] != "" {
					p.add(key+"."+f[0], "is for url servers; a command server gets its secrets through env")
				}
			}
		}
		for _, e := range m.Env {
			if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
				p.add(key+".env", "an entry is not NAME=value")
			}
		}
		if m.URL != "" && len(m.Env) > 0 {
			p.add(key+".env", "is for command servers")
		}
		for _, f := range [][2]string{{"bearer_token_file", m.BearerTokenFile}, {"ca_file", m.CAFile}} {
			if f[1] != "" && !filepath.IsAbs(f[1]) {
				p.add(key+"."+f[0], "%q is not an absolute path", f[1])
			}
		}
		if strings.Trim(m.Prefix, nameChars) != "" || len(m.Prefix) > 48 {
			p.add(key+".prefix", "%q: use up to 48 letters, digits, '_' and '-'", m.Prefix)
		} else if prefixes[m.Prefix] && m.Prefix != "" {
			p.add(key+".prefix", "%q is the prefix of another [[tools.mcp]] too; their tools could collide", m.Prefix)
		}
		prefixes[m.Prefix] = true
		for _, a := range m.Allow {
			if a == "" || len(m.Prefix+a) > 64 || strings.Trim(a, nameChars) != "" {
				p.add(key+".allow", "%q: with the prefix it must be 1 to 64 letters, digits, '_' and '-' (a function name)", a)
			}
		}
		checkToolLimits(p, key, m.Timeout, 0)
	}
}
