package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/edgevoice/edgevoice/internal/control"
	"github.com/edgevoice/edgevoice/tools"
)

func toolsCommand() *cli.Command {
	return &cli.Command{
		Name:    "tools",
		Args:    "list | call NAME [ARGS-JSON]",
		Summary: "show the tools the model is offered, or run one by hand",
		Help: `list prints every tool the model will be offered with this config: the built-in
device tools of [tools] builtin, the [[tools.command]] and [[tools.http]] tools, then
the tools of the [[tools.mcp]] servers (connected once to list them; one that cannot
be reached is named on stderr), then the [[session.tools]] declarations (which the
device does not run: a call to one gets an error output). Every schema is compiled,
so a bad one shows here.

call runs one tool as the model would: its arguments (JSON, default {}) are checked
against its schema; a built-in acts on the running appliance through the control
socket (set_volume, mute, stop and device_status need it; get_time does not), a
command, HTTP or MCP tool runs as configured. The output, or the error the model would
get, is printed.`,
		MinArgs: 1,
		MaxArgs: 3,
		Flags: func(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
			cfgPath := cli.ConfigFlag(fs, env)
			sock := fs.String("socket", "", "control socket (default: [appliance] control_socket of the config)")
			asJSON := fs.Bool("json", false, "list: print the declarations as the session sends them (JSON)")
			return func(ctx context.Context, args []string) error {
				cfg, err := config.Load(*cfgPath)
				if err != nil {
					return err
				}
				path := *sock
				if path == "" {
					path = cfg.Appliance.ControlSocket
				}
				set := tools.NewSet(nil)
				if err := tools.Builtins(set, &socketDevice{path: path}, cfg.Tools.Builtin, tools.BuiltinOpts{}); err != nil {
					return err
				}
				if err := addConfiguredTools(set, &cfg.Tools); err != nil {
					return err
				}
				if len(cfg.Tools.MCP) > 0 { // connect once to list (or call) their tools
					closeMCP, err := openMCP(ctx, &cfg.Tools, set, func(err error) {
						fmt.Fprintf(env.Stderr, "warning: %v (its tools are left out)\n", err)
					})
					if err != nil {
						return err
					}
					defer closeMCP()
				}
				switch args[0] {
				case "list":
					if len(args) != 1 {
						return &cli.UsageError{Msg: "tools list takes no arguments"}
					}
					return listTools(env.Stdout, set, cfg, *asJSON)
				case "call":
					if len(args) < 2 {
						return &cli.UsageError{Msg: "tools call needs the tool's NAME"}
					}
					in := "{}"
					if len(args) == 3 {
						in = args[2]
					}
					ctx, cancel := context.WithTimeout(ctx, cfg.Tools.Timeout.D())
					defer cancel()
					start := time.Now()
					out, err := set.RunTool(ctx, args[1], in)
					if err != nil {
						return fmt.Errorf("%w (the model would get this as an error output)", err)
					}
					fmt.Fprintln(env.Stdout, out)
					fmt.Fprintf(env.Stderr, "%s: %d bytes in %v\n", args[1], len(out), time.Since(start).Round(time.Microsecond))
					return nil
				}
				return &cli.UsageError{Msg: fmt.Sprintf("unknown tools command %q (use list or call)", args[0])}
			}
		},
	}
}

func listTools(w io.Writer, set *tools.Set, cfg *config.Config, asJSON bool) error {
	decl := set.Declarations()
	if asJSON {
		type tool struct {
			Type        string          `json:"type"`
			Name        string          `json:"name"`
			Description string          `json:"description,omitempty"`
			Parameters  json.RawMessage `json:"parameters"`
			Runs        string          `json:"runs"`
		}
		var out []tool
		for _, d := range decl {
			out = append(out, tool{"function", d.Name, d.Description, d.Parameters, toolKind(cfg, set, d.Name)})
		}
		for _, t := range cfg.Session.Tools {
			p := json.RawMessage(t.Parameters)
			if t.Parameters == "" {
				p = json.RawMessage(`{"type":"object","properties":{}}`)
			}
			out = append(out, tool{"function", t.Name, t.Description, p, "none"})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(decl) == 0 && len(cfg.Session.Tools) == 0 && len(cfg.Tools.MCPRemote) == 0 {
		fmt.Fprintln(w, "no tools: the model is offered none ([tools] builtin is empty and there are no [[session.tools]])")
		return nil
	}
	for _, d := range decl {
		fmt.Fprintf(w, "%-16s %-9s %s\n%-16s           parameters %s\n", d.Name, toolKind(cfg, set, d.Name), d.Description, "", compactJSON(d.Parameters))
	}
	for _, t := range cfg.Session.Tools {
		fmt.Fprintf(w, "%-16s declared  %s (not run on the device yet: calls get an error output)\n", t.Name, t.Description)
	}
	for _, m := range cfg.Tools.MCPRemote {
		approval := m.RequireApproval
		if approval == "always" {
			approval = fmt.Sprintf("always: the device approves %q, denies the rest", m.Approve)
		}
		fmt.Fprintf(w, "%-16s remote    server-side MCP %s (the service calls it; tools %q, approval %s)\n", m.ServerLabel, m.ServerURL, m.AllowedTools, approval)
	}
	return nil
}

// toolKind says how the device runs the tool name: builtin, command or http.
func toolKind(cfg *config.Config, set *tools.Set, name string) string {
	for _, t := range cfg.Tools.Command {
		if t.Name == name {
			return "command"
		}
	}
	for _, t := range cfg.Tools.HTTP {
		if t.Name == name {
			return "http"
		}
	}
	if g := set.Group(name); g != "" {
		return "mcp:" + g
	}
	return "builtin"
}

func compactJSON(b []byte) string {
	if len(b) == 0 {
		return `{"type":"object","properties":{}}`
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// socketDevice is the running appliance reached through its control socket, for
// tools called by hand.
type socketDevice struct {
	path string
	mu   sync.Mutex
	last float64 // the volume of the last status answer
}

func (d *socketDevice) do(ctx context.Context, req control.Request) (*control.Response, error) {
	r, err := control.Do(ctx, d.path, req)
	if err != nil {
		return nil, fmt.Errorf("the appliance (control socket %s): %w", d.path, err)
	}
	return r, nil
}

func (d *socketDevice) Volume() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if st, err := control.Ask(ctx, d.path); err == nil {
		d.mu.Lock()
		d.last = st.Appliance.Volume
		d.mu.Unlock()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last
}

func (d *socketDevice) SetVolume(ctx context.Context, v float64) (float64, error) {
	r, err := d.do(ctx, control.Request{Op: "volume", Value: &v})
	if err != nil {
		return 0, err
	}
	if r.Volume != nil {
		return *r.Volume, nil
	}
	return v, nil
}

func (d *socketDevice) SetMuted(ctx context.Context, muted bool) error {
	op := "unmute"
	if muted {
		op = "mute"
	}
	_, err := d.do(ctx, control.Request{Op: op})
	return err
}

func (d *socketDevice) Stop(ctx context.Context) error {
	_, err := d.do(ctx, control.Request{Op: "cancel"})
	return err
}

func (d *socketDevice) Status() tools.DeviceStatus {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := control.Ask(ctx, d.path)
	if err != nil {
		return tools.DeviceStatus{State: "unknown", Connection: "unknown", Problem: "the appliance is not running (control socket: " + err.Error() + ")"}
	}
	a := st.Appliance
	out := tools.DeviceStatus{State: a.StateName, Muted: a.Muted, Volume: a.Volume, Connection: "none", Problem: a.Detail}
	if s := a.Session; s != nil {
		out.Connection, out.RTTMillis, out.Reconnects = s.State, float64(s.RTT)/1e6, s.Reconnects
	}
	return out
}
