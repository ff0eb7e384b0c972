// Package clitest checks that every command of a binary follows the command-line
// convention of package cli. Each binary's tests call CheckConventions on its App.
package clitest

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/edgevoice/edgevoice/internal/cli"
)

// Result is one run of a command line.
type Result struct {
	Code           int
	Stdout, Stderr string
}

// Run runs args against app with buffers for the streams and env for the environment
// (nil: empty), and a context that is cancelled when the test ends.
func Run(t *testing.T, app *cli.App, env map[string]string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	code := app.Main(ctx, args, &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] }})
	return Result{Code: code, Stdout: out.String(), Stderr: errb.String()}
}

// CheckConventions runs the convention table over every command of app: -h and --help
// print the usage with every flag on stdout and exit 0 (also after positional
// arguments); an unknown flag or a wrong number of arguments exits 2 with the usage on
// stderr; --version and version print the binary's name and version; a -config flag
// defaults to $EDGEVOICE_CONFIG. want lists the commands the binary must have.
func CheckConventions(t *testing.T, app *cli.App, want []string) {
	t.Helper()
	names := map[string]bool{}
	usage := Run(t, app, nil, "-h")
	if usage.Code != 0 || !strings.HasPrefix(usage.Stdout, "usage: "+app.Name+" ") {
		t.Errorf("%s -h: exit %d, stdout %q", app.Name, usage.Code, usage.Stdout)
	}
	for _, line := range strings.Split(usage.Stdout, "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(line, "  ") {
			names[f[0]] = true
		}
	}
	for _, w := range want {
		if !names[w] {
			t.Errorf("%s has no command %q (usage:\n%s)", app.Name, w, usage.Stdout)
		}
	}
	if len(names) != len(want) {
		t.Errorf("%s has commands %v, want exactly %v", app.Name, keys(names), want)
	}
	for _, args := range [][]string{{"--version"}, {"version"}, {"-version"}} {
		r := Run(t, app, nil, args...)
		if r.Code != 0 || r.Stdout != app.Name+" "+cli.Version()+"\n" {
			t.Errorf("%s %s: exit %d, stdout %q", app.Name, args[0], r.Code, r.Stdout)
		}
	}
	if r := Run(t, app, nil); r.Code != cli.ExitUsage || !strings.Contains(r.Stderr, "usage: "+app.Name) {
		t.Errorf("%s without a command: exit %d, stderr %q", app.Name, r.Code, r.Stderr)
	}
	if r := Run(t, app, nil, "no-such-command"); r.Code != cli.ExitUsage || !strings.Contains(r.Stderr, `unknown command "no-such-command"`) {
		t.Errorf("%s no-such-command: exit %d, stderr %q", app.Name, r.Code, r.Stderr)
	}
	for _, name := range want {
		t.Run(app.Name+"/"+name, func(t *testing.T) {
			prefix := "usage: " + app.Name + " " + name
			for _, h := range []string{"-h", "--help", "-help"} {
				r := Run(t, app, map[string]string{"EDGEVOICE_CONFIG": "/from/env.toml"}, name, h)
				if r.Code != 0 || !strings.HasPrefix(r.Stdout, prefix) || r.Stderr != "" {
					t.Fatalf("%s %s: exit %d, stdout %q, stderr %q", name, h, r.Code, r.Stdout, r.Stderr)
				}
				if strings.Contains(r.Stdout, "-config file") && !strings.Contains(r.Stdout, `(default "/from/env.toml")`) {
					t.Errorf("%s %s: -config does not default to $EDGEVOICE_CONFIG:\n%s", name, h, r.Stdout)
				}
			}
			if r := Run(t, app, nil, "help", name); r.Code != 0 || !strings.HasPrefix(r.Stdout, prefix) {
				t.Errorf("help %s: exit %d, stdout %q", name, r.Code, r.Stdout)
			}
			r := Run(t, app, nil, name, "-no-such-flag")
			if r.Code != cli.ExitUsage || !strings.Contains(r.Stderr, "flag provided but not defined: -no-such-flag") || !strings.Contains(r.Stderr, prefix) {
				t.Errorf("%s -no-such-flag: exit %d, stderr %q", name, r.Code, r.Stderr)
			}
			// Flags after a positional argument are parsed, not taken as arguments.
			r = Run(t, app, nil, name, "pos", "-h")
			if r.Code != 0 || !strings.HasPrefix(r.Stdout, prefix) {
				t.Errorf("%s pos -h: exit %d, stdout %q, stderr %q (a flag after an argument was not parsed)", name, r.Code, r.Stdout, r.Stderr)
			}
		})
	}
}

// CheckArgCount checks that name rejects args (a wrong number of arguments) with exit 2
// and its usage, before doing anything.
func CheckArgCount(t *testing.T, app *cli.App, name string, args ...string) {
	t.Helper()
	r := Run(t, app, nil, append([]string{name}, args...)...)
	if r.Code != cli.ExitUsage || !strings.Contains(r.Stderr, "usage: "+app.Name+" "+name) {
		t.Errorf("%s %q: exit %d, stderr %q; want exit 2 with the usage", name, args, r.Code, r.Stderr)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
