package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/internal/backoff"
	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/edgevoice/edgevoice/rtc"
	"github.com/edgevoice/edgevoice/tools"
	"github.com/edgevoice/edgevoice/tools/mcp"
)

// mcpBackoff is the reconnect policy of an MCP server that went away.
var mcpBackoff = backoff.Policy{Min: time.Second, Max: time.Minute, Jitter: 0.2}

// mcpServer is the mcp.Server of one [[tools.mcp]]; a server without its own timeout
// gets [tools] timeout.
func mcpServer(m config.MCPServer, def config.Duration) mcp.Server {
	timeout := m.Timeout
	if timeout == 0 {
		timeout = def
	}
	return mcp.Server{Name: m.Name, URL: m.URL, Command: m.Command, Env: m.Env, Allow: m.Allow, Prefix: m.Prefix,
		TokenFile: m.BearerTokenFile, CAFile: m.CAFile, Timeout: timeout.D()}
}

// mcpClients returns a client per [[tools.mcp]] of c, each keeping its tools in set;
// onChange is called when a server's tools change.
func mcpClients(c *config.Tools, set *tools.Set, log *slog.Logger, onChange func()) ([]*mcp.Client, error) {
	var out []*mcp.Client
	for _, m := range c.MCP {
		cl, err := mcp.New(mcpServer(m, c.Timeout), set, mcp.Options{
			Log: log, OnChange: onChange, Version: cli.Version(),
			NewBackoff: func() mcp.Backoff { return backoff.New(mcpBackoff, nil) },
		})
		if err != nil {
			return nil, err
		}
		out = append(out, cl)
	}
	return out, nil
}

// openMCP connects once to every [[tools.mcp]] server and lists its tools into set
// (edgevoice tools list|call). A server that cannot be reached is reported on warn and
// left out; the returned function closes the connections.
func openMCP(ctx context.Context, c *config.Tools, set *tools.Set, warn func(error)) (close func(), err error) {
	clients, err := mcpClients(c, set, nil, nil)
	if err != nil {
		return nil, err
	}
	var closers []func()
	for _, cl := range clients {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		cf, err := cl.Open(cctx)
		cancel()
		if err != nil {
			warn(err)
			continue
		}
		closers = append(closers, cf)
	}
	return func() {
		for _, f := range closers {
			f()
		}
	}, nil
}

// liveTools keeps the running session's tool declarations up to date when an MCP
// server's tools change: the session the factory made last gets the full list
// ([[session.tools]] + the device's tools) as a session.update. A session whose key
// pins the tools (the broker's) gets nothing.
type liveTools struct {
	static []events.Tool // [[session.tools]]
	set    *tools.Set
	log    *slog.Logger

	mu     sync.Mutex
	cur    *rtc.Session
	pinned bool
}

// declarations is the full tool list the model is offered.
func (l *liveTools) declarations() []events.Tool {
	out := slices.Clone(l.static)
	if l.set != nil {
		out = append(out, l.set.Declarations()...)
	}
	return out
}

// track makes s the session to update.
func (l *liveTools) track(s *rtc.Session, pinned bool) {
	l.mu.Lock()
	l.cur, l.pinned = s, pinned
	l.mu.Unlock()
}

// changed sends the new list to the current session.
func (l *liveTools) changed() {
	l.mu.Lock()
	s, pinned := l.cur, l.pinned
	l.mu.Unlock()
	if s == nil || pinned {
		return
	}
	if err := s.UpdateTools(l.declarations()); err != nil && !errors.Is(err, rtc.ErrClosed) {
		l.log.Warn("the tool list could not be sent to the session", "err", err)
	}
}

// remoteMCPTools are the [[tools.mcp_remote]] entries as the session's type "mcp"
// tools, each with its authorization read from its file (never logged).
func remoteMCPTools(c *config.Tools) ([]events.Tool, error) {
	var out []events.Tool
	for _, m := range c.MCPRemote {
		t := &events.MCPTool{ServerLabel: m.ServerLabel, ServerURL: m.ServerURL, ServerDescription: m.ServerDescription,
			AllowedTools: m.AllowedTools, RequireApproval: m.RequireApproval}
		if m.AuthorizationFile != "" {
			b, err := os.ReadFile(m.AuthorizationFile)
			if err != nil {
				return nil, fmt.Errorf("[[tools.mcp_remote]] %s: authorization_file: %w", m.ServerLabel, err)
			}
			t.Authorization = strings.TrimSpace(string(b))
		}
		out = append(out, events.Tool{MCP: t})
	}
	return out, nil
}

// mcpApprovals is, per [[tools.mcp_remote]] server_label, the tools the device approves
// when the service asks (approve). It holds the entries of servers a broker pins too:
// their declaration is the broker's, their approvals the device's.
func mcpApprovals(c *config.Tools) map[string][]string {
	m := map[string][]string{}
	for _, r := range c.MCPRemote {
		if len(r.Approve) > 0 {
			m[r.ServerLabel] = append(m[r.ServerLabel], r.Approve...)
		}
	}
	return m
}

// refusePreviewMCP is the error for a session with server-side MCP tools on a key of
// the preview dialect, which has no such tool.
func refusePreviewMCP(key realtime.Key, list []events.Tool) error {
	if key.Dialect != realtime.DialectPreview {
		return nil
	}
	for _, t := range list {
		if t.MCP != nil {
			return fmt.Errorf("[[tools.mcp_remote]] %s: the key's profile speaks the preview dialect, which has no server-side MCP tools; use a GA profile (openai, azure) or remove the entry", t.MCP.ServerLabel)
		}
	}
	return nil
}
