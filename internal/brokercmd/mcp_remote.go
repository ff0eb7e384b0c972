package brokercmd

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/edgevoice/edgevoice/internal/config"
)

// withRemoteMCP appends the broker config's [[tools.mcp_remote]] entries to the tools
// array raw (the tools_file's, or none) as type "mcp" tools, each with its
// authorization read from its file. The broker mints keys with them and pins them;
// its answers to devices leave the authorization out (broker.redactTools).
func withRemoteMCP(raw json.RawMessage, list []config.MCPRemote) (json.RawMessage, error) {
	if len(list) == 0 {
		return raw, nil
	}
	var tools []json.RawMessage
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &tools); err != nil {
			return nil, fmt.Errorf("tools_file: want a JSON array of tool definitions: %w", err)
		}
	}
	type mcpTool struct {
		Type              string   `json:"type"`
		ServerLabel       string   `json:"server_label"`
		ServerURL         string   `json:"server_url"`
		ServerDescription string   `json:"server_description,omitempty"`
		AllowedTools      []string `json:"allowed_tools,omitempty"`
		RequireApproval   string   `json:"require_approval,omitempty"`
		Authorization     string   `json:"authorization,omitempty"`
	}
	for _, m := range list {
		t := mcpTool{Type: "mcp", ServerLabel: m.ServerLabel, ServerURL: m.ServerURL, ServerDescription: m.ServerDescription,
			AllowedTools: m.AllowedTools, RequireApproval: m.RequireApproval}
		if m.AuthorizationFile != "" {
			b, err := os.ReadFile(m.AuthorizationFile)
			if err != nil {
				return nil, fmt.Errorf("[[tools.mcp_remote]] %s: authorization_file: %w", m.ServerLabel, err)
			}
			t.Authorization = strings.TrimSpace(string(b))
		}
		b, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		tools = append(tools, b)
	}
	return json.Marshal(tools)
}
