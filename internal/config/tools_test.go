package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestToolsSection: [tools] defaults to every built-in; an unknown or repeated name, a
// clash with a [[session.tools]] name and a bad timeout are reported at FILE:LINE:COL.
func TestToolsSection(t *testing.T) {
	c, err := Decode("x.toml", []byte("[tools]\nbuiltin = [\"get_time\"]\n"))
	if err != nil || !reflect.DeepEqual(c.Tools.Builtin, []string{"get_time"}) || c.Tools.Timeout.D().String() != "10s" {
		t.Fatalf("decode: %+v, %v", c.Tools, err)
	}
	c, err = Decode("x.toml", []byte("[tools]\nbuiltin = []\n"))
	if err != nil || c.Tools.Builtin == nil || len(c.Tools.Builtin) != 0 {
		t.Fatalf("builtin = [] must offer none: %#v, %v", c.Tools.Builtin, err)
	}
	if d := Default(); !reflect.DeepEqual(d.Tools.Builtin, BuiltinTools()) {
		t.Errorf("default builtin %v", d.Tools.Builtin)
	}
	// a config written before the built-ins, declaring its own stop: the default
	// leaves that built-in out instead of failing
	c, err = Decode("x.toml", []byte("[[session.tools]]\nname = \"stop\"\n"))
	if err != nil || len(c.Tools.Builtin) != len(BuiltinTools())-1 || slices.Contains(c.Tools.Builtin, "stop") {
		t.Errorf("default builtin with a declared stop: %v, %v", c.Tools.Builtin, err)
	}
	doc := "[session]\n[[session.tools]]\nname = \"stop\"\n\n[tools]\nbuiltin = [\"stop\", \"reboot\", \"stop\"]\ntimeout = \"-1s\"\n"
	_, err = Decode("x.toml", []byte(doc))
	if err == nil {
		t.Fatal("accepted")
	}
	got := strings.Split(err.Error(), "\n")
	want := []string{
		`x.toml:6:1: key "tools.builtin": "reboot" is not a built-in tool; use some of ["set_volume" "get_volume" "mute" "stop" "get_time" "device_status"]`,
		`x.toml:6:1: key "tools.builtin": "stop" appears twice`,
		`x.toml:6:1: key "tools.builtin": "stop" is also a [[session.tools]] name; rename that tool or take "stop" out of builtin`,
		`x.toml:7:1: key "tools.timeout": -1s is out of range; use a duration from 1ms to 10m such as "10s"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
}

// TestCommandAndHTTPTools: [[tools.command]] and [[tools.http]] decode; a relative
// program, a bad env entry, a clear-text URL to another host, a relative token file,
// a name in use and bad limits are reported where they are written.
func TestCommandAndHTTPTools(t *testing.T) {
	good := `[[tools.command]]
name = "lights"
argv = ["/usr/local/bin/lights", "--json"]
env = ["ROOM=kitchen"]
timeout = "3s"

[[tools.http]]
name = "ha_scene"
url = "https://ha.lan:8123/api/webhook/abc"
bearer_token_file = "/run/credentials/edgevoice.service/ha-token"
parameters = '{"type":"object","properties":{"scene":{"type":"string"}}}'
`
	c, err := Decode("x.toml", []byte(good))
	if err != nil || len(c.Tools.Command) != 1 || c.Tools.Command[0].Argv[1] != "--json" || c.Tools.HTTP[0].Timeout != 0 {
		t.Fatalf("decode: %+v, %v", c.Tools, err)
	}
	if m := c.Masked(); strings.Contains(m.Tools.HTTP[0].URL, "abc") || strings.Contains(m.Tools.Command[0].Env[0], "kitchen") {
		t.Errorf("printed config shows the URL or env: %+v", m.Tools)
	}
	bad := `[[tools.command]]
name = "stop"
argv = ["lights"]
env = ["NOPE"]
max_output = -1

[[tools.http]]
name = "ha"
url = "http://ha.lan/api"
bearer_token_file = "token"
timeout = "1h"
`
	_, err = Decode("x.toml", []byte(bad))
	if err == nil {
		t.Fatal("accepted")
	}
	got := err.Error()
	for _, w := range []string{
		`x.toml:2:1: key "tools.command.0.name": "stop" is already the name of another tool`,
		`x.toml:3:1: key "tools.command.0.argv": must start with the absolute path`,
		`x.toml:4:1: key "tools.command.0.env": "NOPE" is not NAME=value`,
		`x.toml:5:1: key "tools.command.0.max_output": -1 is out of range`,
		`x.toml:9:1: key "tools.http.0.url": use https://`,
		`x.toml:10:1: key "tools.http.0.bearer_token_file": "token" is not an absolute path`,
		`x.toml:11:1: key "tools.http.0.timeout": 1h0m0s is out of range`,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("errors lack %q:\n%s", w, got)
		}
	}
}

// TestMCPServers: [[tools.mcp]] decodes (url and command servers); neither or both, a
// clear-text URL to another host, a relative program, a token file on a command
// server, a bad prefix, an allowed name too long with the prefix and a repeated server
// name are reported where they are written.
func TestMCPServers(t *testing.T) {
	good := `[[tools.mcp]]
name = "ha"
url = "https://ha.lan:8123/api/mcp"
allow = ["HassTurnOn", "HassTurnOff"]
prefix = "ha_"
bearer_token_file = "/run/credentials/edgevoice.service/ha-token"
timeout = "5s"

[[tools.mcp]]
name = "local"
command = ["/usr/local/bin/mcp-notes", "--stdio"]
env = ["NOTES_DIR=/var/lib/notes"]
`
	c, err := Decode("x.toml", []byte(good))
	if err != nil || len(c.Tools.MCP) != 2 || c.Tools.MCP[0].Prefix != "ha_" || c.Tools.MCP[1].Command[1] != "--stdio" || c.Tools.MCP[0].Timeout.D() != 5e9 {
		t.Fatalf("decode: %+v, %v", c.Tools.MCP, err)
	}
	if m := c.Masked(); strings.Contains(m.Tools.MCP[1].Env[0], "notes") {
		t.Errorf("printed config shows the env: %+v", m.Tools.MCP)
	}
	if d := Default(); d.Tools.MCP == nil || len(d.Tools.MCP) != 0 {
		t.Errorf("default mcp %#v", d.Tools.MCP)
	}
	bad := `[[tools.mcp]]
name = "ha"

[[tools.mcp]]
name = "ha"
url = "http://ha.lan/mcp"
command = ["/bin/x"]

[[tools.mcp]]
name = "x y"
command = ["mcp"]
bearer_token_file = "/t"
prefix = "a.b"

[[tools.mcp]]
name = "long"
url = "https://x.lan/mcp"
prefix = "pppppppppppppppppppppppppppppppppppppppp"
allow = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]
`
	_, err = Decode("x.toml", []byte(bad))
	if err == nil {
		t.Fatal("accepted")
	}
	got := err.Error()
	for _, w := range []string{
		`x.toml:1:3: key "tools.mcp.0": give url (a Streamable HTTP endpoint) or command (a stdio server)`,
		`x.toml:5:1: key "tools.mcp.1.name": "ha" is already the name of another [[tools.mcp]]`,
		`x.toml:7:1: key "tools.mcp.1.command": give url or command, not both`,
		`x.toml:10:1: key "tools.mcp.2.name": "x y": use 1 to 64 letters`,
		`x.toml:11:1: key "tools.mcp.2.command": must start with the absolute path`,
		`x.toml:12:1: key "tools.mcp.2.bearer_token_file": is for url servers`,
		`x.toml:13:1: key "tools.mcp.2.prefix": "a.b"`,
		`x.toml:19:1: key "tools.mcp.3.allow": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa": with the prefix`,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	_, err = Decode("x.toml", []byte("[provisioning]\nprofile = \"azure-preview\"\nresource = \"r\"\nregion = \"eastus2\"\ndeployment = \"d\"\n\n[[tools.mcp_remote]]\nserver_label = \"docs\"\nserver_url = \"https://mcp.example.com/mcp\"\n"))
	if err == nil || !strings.Contains(err.Error(), `x.toml:7:3: key "tools.mcp_remote.0": [provisioning] profile "azure-preview" speaks the preview dialect`) {
		t.Errorf("mcp_remote with the preview profile: %v", err)
	}
	testMCPRemoteApprove(t)
	_, err = Decode("x.toml", []byte("[[tools.mcp]]\nname = \"a\"\nurl = \"http://ha.lan/mcp\"\n"))
	if err == nil || !strings.Contains(err.Error(), `x.toml:3:1: key "tools.mcp.0.url": use https://`) {
		t.Errorf("a clear-text url: %v", err)
	}
}

// testMCPRemoteApprove: [[tools.mcp_remote]] approve decodes with require_approval
// "always"; a name outside allowed_tools, an empty name and approve without "always"
// are reported where they are written.
func testMCPRemoteApprove(t *testing.T) {
	t.Helper()
	good := `[[tools.mcp_remote]]
server_label = "docs"
server_url = "https://mcp.example.com/mcp"
allowed_tools = ["search", "fetch", "delete"]
require_approval = "always"
approve = ["search", "fetch"]
`
	c, err := Decode("x.toml", []byte(good))
	if err != nil || len(c.Tools.MCPRemote) != 1 || !slices.Equal(c.Tools.MCPRemote[0].Approve, []string{"search", "fetch"}) {
		t.Fatalf("decode: %+v, %v", c.Tools.MCPRemote, err)
	}
	bad := `[[tools.mcp_remote]]
server_label = "docs"
server_url = "https://mcp.example.com/mcp"
allowed_tools = ["search"]
require_approval = "always"
approve = ["search", "delete", ""]

[[tools.mcp_remote]]
server_label = "wiki"
server_url = "https://wiki.example.com/mcp"
approve = ["read"]
`
	_, err = Decode("x.toml", []byte(bad))
	if err == nil {
		t.Fatal("accepted")
	}
	got := err.Error()
	for _, w := range []string{
		`x.toml:6:1: key "tools.mcp_remote.0.approve": "delete" is not in allowed_tools ["search"]`,
		`x.toml:6:1: key "tools.mcp_remote.0.approve": an entry is empty`,
		`x.toml:11:1: key "tools.mcp_remote.1.approve": takes effect only with require_approval = "always" (here "never"`,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	if strings.Contains(got, `"search" is not in allowed_tools`) {
		t.Errorf("an allowed name was reported:\n%s", got)
	}
}
