package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/edgevoice/edgevoice/realtime"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

type sumIn struct {
	A int `json:"a"`
	B int `json:"b"`
}

type sumOut struct {
	Sum int `json:"sum"`
}

// TestToolsCommandMCP: tools list connects once to a [[tools.mcp]] server and shows
// its allowed tools, prefixed, as mcp:NAME; tools call runs one on the server; a
// server that cannot be reached is named on stderr and the rest still lists.
func TestToolsCommandMCP(t *testing.T) {
	defer noLeaks(t)()
	s := sdk.NewServer(&sdk.Implementation{Name: "lan", Version: "1"}, nil)
	sdk.AddTool(s, &sdk.Tool{Name: "sum", Description: "adds two numbers"},
		func(_ context.Context, _ *sdk.CallToolRequest, in sumIn) (*sdk.CallToolResult, sumOut, error) {
			return nil, sumOut{in.A + in.B}, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "not_allowed", Description: "hidden"},
		func(context.Context, *sdk.CallToolRequest, sumIn) (*sdk.CallToolResult, sumOut, error) {
			return nil, sumOut{}, nil
		})
	srv := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil))
	defer func() {
		srv.CloseClientConnections()
		srv.Close()
		for ss := range s.Sessions() {
			ss.Close()
		}
	}()
	cfg := filepath.Join(t.TempDir(), "edgevoice.toml")
	doc := `[tools]
builtin = ["get_time"]
[[tools.mcp]]
name = "lan"
url = "` + srv.URL + `/mcp"
allow = ["sum"]
prefix = "lan_"
[[tools.mcp]]
name = "gone"
url = "http://127.0.0.1:1/mcp"
[[tools.mcp_remote]]
server_label = "docs"
server_url = "https://mcp.example.com/mcp"
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
	if code != 0 || !strings.Contains(out, "lan_sum          mcp:lan   adds two numbers") || strings.Contains(out, "not_allowed") {
		t.Errorf("tools list (%d):\n%s\nstderr: %s", code, out, errOut)
	}
	if !strings.Contains(out, "docs             remote    server-side MCP https://mcp.example.com/mcp") {
		t.Errorf("tools list lacks the server-side MCP tool:\n%s", out)
	}
	if !strings.Contains(errOut, "warning: mcp: gone:") {
		t.Errorf("the unreachable server is not named on stderr: %q", errOut)
	}
	if out, errOut, code = run("call", "lan_sum", `{"a":20,"b":22}`); code != 0 || strings.TrimSpace(out) != `{"sum":42}` {
		t.Errorf("call lan_sum: %d %q %q", code, out, errOut)
	}
}

// TestRemoteMCPTools: [[tools.mcp_remote]] become type "mcp" session tools with the
// authorization from the file, and a preview-dialect key refuses them with a clear
// error (a GA key takes them).
func TestRemoteMCPTools(t *testing.T) {
	auth := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(auth, []byte("oauth-tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	list, err := remoteMCPTools(&config.Tools{MCPRemote: []config.MCPRemote{{ServerLabel: "docs", ServerURL: "https://mcp.example.com/mcp", RequireApproval: "never", AuthorizationFile: auth}}})
	if err != nil || len(list) != 1 || list[0].MCP == nil || list[0].MCP.Authorization != "oauth-tok" || list[0].MCP.ServerLabel != "docs" {
		t.Fatalf("remoteMCPTools: %+v, %v", list, err)
	}
	if err := refusePreviewMCP(realtime.Key{Dialect: realtime.DialectPreview}, list); err == nil || !strings.Contains(err.Error(), "preview dialect") || strings.Contains(err.Error(), "oauth-tok") {
		t.Errorf("preview key: %v", err)
	}
	if err := refusePreviewMCP(realtime.Key{Dialect: realtime.DialectGA}, list); err != nil {
		t.Errorf("GA key: %v", err)
	}
}

// TestMCPApprovals: the approve lists of [[tools.mcp_remote]] become the session's
// approvals by server label; an entry without approve adds nothing.
func TestMCPApprovals(t *testing.T) {
	got := mcpApprovals(&config.Tools{MCPRemote: []config.MCPRemote{
		{ServerLabel: "docs", RequireApproval: "always", Approve: []string{"search", "fetch"}},
		{ServerLabel: "wiki", RequireApproval: "never"},
	}})
	if len(got) != 1 || !slices.Equal(got["docs"], []string{"search", "fetch"}) {
		t.Errorf("mcpApprovals: %v", got)
	}
}
