// Package cli is what the edgevoice binaries share on the command line: the command
// table, the one usage/help text, exit codes, flag parsing that accepts flags after
// positional arguments, the build version, logging set-up and sd_notify.
//
// The convention every command follows: "-h" prints its usage and flags on stdout and
// exits 0; a bad command line prints the problem and the usage on stderr and exits 2;
// "BINARY --version" and "BINARY version" print the version; the usage names the binary
// it is part of.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
)

// version is stamped by the linker:
// -ldflags "-X github.com/edgevoice/edgevoice/internal/cli.version=V".
var version = "dev"

// Version is the build version ("dev" when not stamped).
func Version() string { return version }

// Exit codes.
const (
	ExitOK      = 0 // success (also after SIGINT/SIGTERM)
	ExitFailure = 1 // the command failed
	ExitUsage   = 2 // bad command line
)

// Env is what a command may touch: its standard streams and the environment. Tests build
// one with buffers instead of the process's own.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string // nil: os.Getenv
}

// OSEnv is the process's own environment.
func OSEnv() *Env {
	return &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

// Env returns the value of the environment variable key.
func (e *Env) Env(key string) string {
	if e.Getenv == nil {
		return os.Getenv(key)
	}
	return e.Getenv(key)
}

// RunFunc runs a command with its positional arguments (flags are parsed already).
type RunFunc func(ctx context.Context, args []string) error

// Command is one subcommand of a binary.
type Command struct {
	Name    string
	Args    string // the positional arguments in the usage line, such as "[FILE]"; "" for none
	Summary string // one line for the command list
	Help    string // what the command does, printed under the usage line
	MinArgs int    // fewest positional arguments
	MaxArgs int    // most positional arguments; -1 for any number
	// Flags registers the command's flags on fs and returns the function that runs it
	// with their values. It is called once per invocation.
	Flags func(fs *flag.FlagSet, env *Env) RunFunc
}

// App is one binary: its name as installed and its commands.
type App struct {
	Name     string // "edgevoice", "edgevoice-provisiond", "edgevoice-broker"
	Summary  string // one line under the usage
	Commands []*Command
}

// UsageError is a bad command line that the flag package did not catch (a wrong
// argument, two flags that exclude each other). Main prints it with the usage and
// exits 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// commands returns the table with the version command every binary has.
func (a *App) commands() []*Command {
	cmds := append([]*Command{}, a.Commands...)
	if a.find("version") == nil {
		cmds = append(cmds, &Command{Name: "version", Summary: "print the version", MaxArgs: 0,
			Flags: func(_ *flag.FlagSet, env *Env) RunFunc {
				return func(context.Context, []string) error { return a.printVersion(env.Stdout) }
			}})
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	return cmds
}

func (a *App) find(name string) *Command {
	for _, c := range a.Commands {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (a *App) printVersion(w io.Writer) error {
	_, err := fmt.Fprintf(w, "%s %s\n", a.Name, version)
	return err
}

// Usage writes the binary's usage: its commands with their summaries.
func (a *App) Usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s <command> [flags] [arguments]\n", a.Name)
	if a.Summary != "" {
		fmt.Fprintf(w, "\n%s\n", a.Summary)
	}
	fmt.Fprintf(w, "\ncommands:\n")
	for _, c := range a.commands() {
		fmt.Fprintf(w, "  %-14s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintf(w, "\nRun '%s <command> -h' for the flags of one command; '%s --version' prints the version.\n", a.Name, a.Name)
}

// Main runs the command line args (without the program name) and returns the exit code.
func (a *App) Main(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 {
		a.Usage(env.Stderr)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if args[0] == "help" && len(args) == 2 {
			if c := a.lookup(args[1]); c != nil {
				a.commandUsage(env.Stdout, c, newFlagSet(c))
				return ExitOK
			}
		}
		a.Usage(env.Stdout)
		return ExitOK
	case "-version", "--version", "-v":
		if a.printVersion(env.Stdout) != nil {
			return ExitFailure
		}
		return ExitOK
	}
	c := a.lookup(args[0])
	if c == nil {
		fmt.Fprintf(env.Stderr, "%s: unknown command %q\n\n", a.Name, args[0])
		a.Usage(env.Stderr)
		return ExitUsage
	}
	return a.run(ctx, c, args[1:], env)
}

func (a *App) lookup(name string) *Command {
	for _, c := range a.commands() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func newFlagSet(c *Command) *flag.FlagSet {
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // Main prints the errors and the usage itself
	return fs
}

// run parses the command's flags (anywhere among its arguments) and runs it.
func (a *App) run(ctx context.Context, c *Command, args []string, env *Env) int {
	fs := newFlagSet(c)
	var run RunFunc
	if c.Flags != nil {
		run = c.Flags(fs, env)
	}
	pos, err := ParseInterspersed(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		a.commandUsage(env.Stdout, c, fs)
		return ExitOK
	case err != nil:
		return a.usageFailure(env, c, fs, err.Error())
	case len(pos) < c.MinArgs:
		return a.usageFailure(env, c, fs, "missing arguments")
	case c.MaxArgs >= 0 && len(pos) > c.MaxArgs:
		return a.usageFailure(env, c, fs, fmt.Sprintf("unexpected arguments: %s", strings.Join(pos[c.MinArgs:], " ")))
	}
	err = run(ctx, pos)
	var ue *UsageError
	switch {
	case err == nil, errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return ExitOK
	case errors.As(err, &ue):
		return a.usageFailure(env, c, fs, ue.Msg)
	}
	prio := ""
	if IsJournal(env.Stderr, env) {
		prio = journalPriority(slog.LevelError) // the failure is an error in the journal too
	}
	fmt.Fprintf(env.Stderr, "%s%s %s: %v\n", prio, a.Name, c.Name, err)
	return ExitFailure
}

func (a *App) usageFailure(env *Env, c *Command, fs *flag.FlagSet, msg string) int {
	fmt.Fprintf(env.Stderr, "%s %s: %s\n\n", a.Name, c.Name, msg)
	a.commandUsage(env.Stderr, c, fs)
	return ExitUsage
}

// commandUsage writes one command's usage line, help text and flags.
func (a *App) commandUsage(w io.Writer, c *Command, fs *flag.FlagSet) {
	line := a.Name + " " + c.Name
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		line += " [flags]"
	}
	if c.Args != "" {
		line += " " + c.Args
	}
	fmt.Fprintf(w, "usage: %s\n\n", line)
	if c.Help != "" {
		fmt.Fprintf(w, "%s\n\n", strings.TrimSpace(c.Help))
	} else {
		sum := strings.TrimSuffix(c.Summary, ".")
		if sum != "" {
			sum = strings.ToUpper(sum[:1]) + sum[1:]
		}
		fmt.Fprintf(w, "%s.\n\n", sum)
	}
	if hasFlags {
		fmt.Fprintf(w, "flags (also accepted after the arguments):\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// ParseInterspersed parses fs from args, accepting flags before, between and after the
// positional arguments (which it returns in order); everything after "--" is
// positional, and so is a negative number such as -0.1 (no flag name starts with a
// digit), as in `edgevoice ctl volume -0.1`.
func ParseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		for len(args) > 0 && negativeNumber(args[0]) {
			pos, args = append(pos, args[0]), args[1:]
		}
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// negativeNumber reports whether a is "-" followed by a digit or by "." and a digit.
func negativeNumber(a string) bool {
	a, ok := strings.CutPrefix(a, "-")
	a = strings.TrimPrefix(a, ".")
	return ok && a != "" && a[0] >= '0' && a[0] <= '9'
}
