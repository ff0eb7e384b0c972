package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// version is stamped by the linker (-X main.version=...).
var version = "dev"

// Env is what a subcommand may touch: its arguments and standard streams. Tests build
// one with buffers instead of the process's own.
type Env struct {
	Args   []string // arguments after the subcommand name
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// command is one subcommand of the edgevoice binary.
type command struct {
	name    string
	summary string // one line for the usage text
	run     func(ctx context.Context, env *Env) error
}

var commands = map[string]*command{}

// register adds a subcommand. Each cmd_*.go file registers its own from init, so the
// subcommands of different areas live in different files.
func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("BUG: subcommand registered twice: " + c.name)
	}
	commands[c.name] = c
}

func init() {
	register(&command{name: "version", summary: "print the version", run: func(_ context.Context, env *Env) error {
		_, err := fmt.Fprintf(env.Stdout, "edgevoice %s\n", version)
		return err
	}})
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: edgevoice <command> [flags]\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nRun 'edgevoice <command> -h' for the flags of one command.\n")
}

// errUsage is returned for a bad command line; main exits 2 without more output.
var errUsage = errors.New("usage")

// Main runs the command line args (without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "edgevoice: unknown command %q\n\n", args[0])
		usage(env.Stderr)
		return 2
	}
	env.Args = args[1:]
	err := c.run(ctx, env)
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(env.Stderr, "edgevoice %s: %v\n", c.name, err)
	return 1
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
