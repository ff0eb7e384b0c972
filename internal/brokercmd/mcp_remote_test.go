package brokercmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgevoice/edgevoice/internal/config"
)

// TestWithRemoteMCP: the broker's [[tools.mcp_remote]] join its tools_file's tools as
// type "mcp" tools with the authorization from the file.
func TestWithRemoteMCP(t *testing.T) {
	auth := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(auth, []byte("tok-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := withRemoteMCP(json.RawMessage(`[{"type":"function","name":"a"}]`), []config.MCPRemote{
		{ServerLabel: "docs", ServerURL: "https://mcp.example.com/mcp", AllowedTools: []string{"search"}, RequireApproval: "never", AuthorizationFile: auth}})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"type":"function","name":"a"},{"type":"mcp","server_label":"docs","server_url":"https://mcp.example.com/mcp","allowed_tools":["search"],"require_approval":"never","authorization":"tok-1"}]`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	if _, err := withRemoteMCP(nil, []config.MCPRemote{{ServerLabel: "x", AuthorizationFile: "/nonexistent/auth"}}); err == nil {
		t.Error("a missing authorization file was accepted")
	}
}
