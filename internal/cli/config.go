package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/edgevoice/edgevoice/internal/config"
)

// ConfigFlag registers the -config flag every command that reads the config has; its
// default is $EDGEVOICE_CONFIG, else config.DefaultPath.
func ConfigFlag(fs *flag.FlagSet, env *Env) *string {
	return fs.String("config", config.Path(env.Getenv), "config `file` (default $"+config.EnvVar+", else "+config.DefaultPath+")")
}

// CheckConfig is the check-config command every binary has, so that each one accepts and
// rejects the same files; checks are a binary's extra checks of what only it uses
// (edgevoice compiles the tools' JSON Schemas).
func CheckConfig(checks ...config.Check) *Command {
	return &Command{
		Name:    "check-config",
		Args:    "[FILE]",
		Summary: "validate a config file and print the effective config (secrets masked)",
		Help: "Decodes FILE (or -config FILE; default $" + config.EnvVar + ", else " + config.DefaultPath + ") and its\n" +
			"drop-ins (FILE.d/*.toml, in lexical order) strictly and reports every problem:\n" +
			"unknown keys, wrong types, values out of range and settings that cannot work,\n" +
			"each as FILE:LINE:COL with its key. Then lists the files read and prints the\n" +
			"effective config, with defaults filled in and secrets masked.",
		MaxArgs: 1,
		Flags: func(fs *flag.FlagSet, env *Env) RunFunc {
			path := ConfigFlag(fs, env)
			quiet := fs.Bool("q", false, "only validate; print nothing when the file is fine")
			return func(_ context.Context, args []string) error {
				if len(args) == 1 {
					explicit := false
					fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "config" })
					if explicit && *path != args[0] {
						return Usagef("give the file once: -config %s or %s", *path, args[0])
					}
					*path = args[0]
				}
				c, files, err := config.LoadFiles(*path, checks...)
				if err != nil {
					return err
				}
				if *quiet {
					return nil
				}
				out, err := config.Encode(c.Masked())
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "# %s: OK; effective config (defaults filled in, secrets masked)\n", *path)
				fmt.Fprintf(env.Stdout, "# read: %s\n", strings.Join(files, ", "))
				if len(files) == 1 {
					fmt.Fprintf(env.Stdout, "# (no drop-ins in %s/)\n", config.DropInDir(*path))
				}
				_, err = env.Stdout.Write(out)
				return err
			}
		},
	}
}
