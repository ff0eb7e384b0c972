package main

import (
	"context"
	"flag"
	"fmt"
)

func init() {
	register(&command{name: "check-config", summary: "validate a config file and print the effective config (secrets masked)", run: runCheckConfig})
}

// runCheckConfig: edgevoice check-config [-q] [FILE]
func runCheckConfig(_ context.Context, env *Env) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	quiet := fs.Bool("q", false, "only validate; print nothing when the file is fine")
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: edgevoice check-config [-q] [FILE]\n\n"+
			"Decodes FILE (default %s) strictly: unknown keys, wrong types and invalid\n"+
			"values are reported as FILE:LINE:COL. Then prints the effective config, with\n"+
			"defaults filled in and secrets masked.\n\n", defaultConfigPath)
		fs.PrintDefaults()
	}
	if err := fs.Parse(env.Args); err != nil {
		return errUsage
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return errUsage
	}
	path := configPathFromEnv(env)
	if fs.NArg() == 1 {
		path = fs.Arg(0)
	}
	c, err := loadConfig(path)
	if err != nil {
		return err
	}
	if *quiet {
		return nil
	}
	out, err := encodeTOML(c.masked())
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "# %s: OK; effective config (defaults filled in, secrets masked)\n", path)
	_, err = env.Stdout.Write(out)
	return err
}

// configPathFromEnv is $EDGEVOICE_CONFIG or the default path.
func configPathFromEnv(env *Env) string {
	if env.Getenv != nil {
		if p := env.Getenv("EDGEVOICE_CONFIG"); p != "" {
			return p
		}
	}
	return defaultConfigPath
}
