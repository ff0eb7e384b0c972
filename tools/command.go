package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// CommandSpec is a command tool: a program run with the arguments as JSON on stdin,
// whose stdout is the output.
type CommandSpec struct {
	Name        string
	Description string
	Parameters  json.RawMessage
	// Argv is the program (an absolute path) and its arguments; no shell is involved.
	Argv []string
	// Timeout bounds one run (0 = DefaultTimeout); the process group is killed then.
	Timeout time.Duration
	// MaxOutput caps stdout (0 = MaxOutput); more is an error, not a truncation.
	MaxOutput int
	// Env is added to the minimal environment (PATH, LANG, EDGEVOICE_TOOL), as
	// NAME=value entries.
	Env []string
}

// minimalPath is the PATH of a command tool.
const minimalPath = "/usr/local/bin:/usr/bin:/bin"

// capWriter keeps at most max bytes and remembers that more came.
type capWriter struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	if room := w.max - w.buf.Len(); len(p) > room {
		w.buf.Write(p[:max(room, 0)])
		w.over = true
		return len(p), nil // keep draining so the program is not blocked on a full pipe
	}
	return w.buf.Write(p)
}

// CommandTool returns the tool that runs spec.
func CommandTool(spec CommandSpec) (Tool, error) {
	if len(spec.Argv) == 0 || !filepath.IsAbs(spec.Argv[0]) {
		return Tool{}, fmt.Errorf("tools: %s: argv must start with an absolute path to the program", spec.Name)
	}
	for _, e := range spec.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return Tool{}, fmt.Errorf("tools: %s: env entry %q is not NAME=value", spec.Name, e)
		}
	}
	limit := spec.MaxOutput
	if limit <= 0 {
		limit = MaxOutput
	}
	argv := append([]string(nil), spec.Argv...)
	env := append([]string{"PATH=" + minimalPath, "LANG=C.UTF-8", "EDGEVOICE_TOOL=" + spec.Name}, spec.Env...)
	return Tool{
		Name: spec.Name, Description: spec.Description, Parameters: spec.Parameters, Timeout: spec.Timeout,
		Run: func(ctx context.Context, args json.RawMessage) (any, error) {
			cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
			cmd.Env = env
			cmd.Dir = "/"
			cmd.Stdin = bytes.NewReader(args)
			out := &capWriter{max: limit}
			errOut := &capWriter{max: 512}
			cmd.Stdout, cmd.Stderr = out, errOut
			// Its own process group, killed whole when ctx ends (a shell's children too).
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			cmd.WaitDelay = time.Second
			err := cmd.Run()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err != nil {
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					msg := strings.TrimSpace(errOut.buf.String())
					if i := strings.IndexByte(msg, '\n'); i >= 0 {
						msg = msg[:i]
					}
					if msg != "" {
						return nil, fmt.Errorf("%s failed (%v): %s", spec.Name, ee.ProcessState, msg)
					}
					return nil, fmt.Errorf("%s failed (%v)", spec.Name, ee.ProcessState)
				}
				return nil, fmt.Errorf("%s could not run: %w", spec.Name, err)
			}
			if out.over {
				return nil, fmt.Errorf("%s wrote more than %d bytes", spec.Name, limit)
			}
			return textOrJSON(out.buf.Bytes()), nil
		},
	}, nil
}

// textOrJSON is b itself when it is JSON, else b as a JSON string.
func textOrJSON(b []byte) any {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && json.Valid(b) {
		return json.RawMessage(b)
	}
	return string(b)
}
