package brokercmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/edgevoice/edgevoice/provisioning/broker"
)

// deviceOps are the subcommands of `edgevoice-broker device`: name, positional
// arguments, summary.
var deviceOps = []struct{ name, args, summary string }{
	{"add", "NAME", "add a device and print its token (once; only its hash is stored)"},
	{"list", "", "list the devices (state, mints, last seen, last error)"},
	{"show", "NAME", "show one device"},
	{"audit", "NAME", "list a device's audit trail, newest first (-n entries)"},
	{"disable", "NAME", "lock a device out (every replica refuses it at its next request)"},
	{"enable", "NAME", "re-enable a disabled device"},
	{"rotate", "NAME", "give a device a new token; the old one works for -grace more"},
	{"remove", "NAME", "remove a device; its token stops working (its audit trail stays)"},
}

func deviceCommand() *cli.Command {
	var help strings.Builder
	help.WriteString("Administers the broker's devices in its store ([broker] database, or -database), while\n" +
		"brokers run: a change applies to every replica's next request.\n")
	for _, op := range deviceOps {
		fmt.Fprintf(&help, "\n  %-16s %s", strings.TrimSpace(op.name+" "+op.args), op.summary)
	}
	return &cli.Command{
		Name: "device", Args: "add|list|show|audit|disable|enable|rotate|remove [NAME]",
		Summary: "add, list, show, audit, disable, enable, rotate or remove devices",
		Help:    help.String(), MinArgs: 1, MaxArgs: 2,
		Flags: func(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
			cfg := cli.ConfigFlag(fs, env)
			database := fs.String("database", "", "device store: SQLite `file` or postgres:// URL (overrides [broker] database)")
			grace := fs.Duration("grace", time.Hour, "rotate: how long the old token keeps working")
			n := fs.Int("n", 20, "audit: how many entries")
			return func(ctx context.Context, args []string) error {
				return runDevice(ctx, env, *cfg, *database, *grace, *n, args)
			}
		},
	}
}

func runDevice(ctx context.Context, env *cli.Env, cfgPath, database string, grace time.Duration, n int, args []string) error {
	op, name := args[0], ""
	if len(args) > 1 {
		name = args[1]
	}
	found := false
	for _, o := range deviceOps {
		if o.name == op {
			found = true
			if (o.args != "") != (name != "") {
				if name == "" {
					return fmt.Errorf("device %s needs the device's NAME", op)
				}
				return fmt.Errorf("device %s takes no NAME", op)
			}
		}
	}
	if !found {
		return fmt.Errorf("unknown device operation %q: want add, list, show, audit, disable, enable, rotate or remove", op)
	}
	if grace < 0 || n < 1 {
		return errors.New("-grace must not be negative and -n must be at least 1")
	}
	bc, err := brokerConfig(cfgPath)
	if err != nil {
		return err
	}
	if database != "" {
		bc.Database = database
	}
	store, err := broker.Open(ctx, bc.Database)
	if err != nil {
		return err
	}
	defer store.Close()
	now := time.Now()
	switch op {
	case "add", "rotate":
		var tok string
		if op == "add" {
			tok, err = store.Add(ctx, name, now)
		} else {
			tok, err = store.Rotate(ctx, name, grace, now)
		}
		if err != nil {
			return err
		}
		what := fmt.Sprintf("device %q added", name)
		if op == "rotate" {
			what = fmt.Sprintf("device %q has a new token; the old one works until %s", name, now.Add(grace).Local().Format(time.DateTime))
		}
		fmt.Fprintf(env.Stderr, "%s. Its token is shown ONCE, below; only its hash is stored.\n"+
			"Put it in the device's credential file (/etc/edgevoice/credential, mode 0600) with\n"+
			"[provisioning] profile = \"broker\" and broker_url set to this broker.\n", what)
		fmt.Fprintln(env.Stdout, tok)
	case "disable", "enable":
		if err := store.SetDisabled(ctx, name, op == "disable", now); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "device %q %sd\n", name, op)
	case "remove":
		if err := store.Remove(ctx, name, now); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "device %q removed; its token no longer works\n", name)
	case "list":
		devs, err := store.Devices(ctx)
		if err != nil {
			return err
		}
		if len(devs) == 0 {
			return nil
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTATE\tMINTS\tLAST SEEN\tLAST ERROR")
		for _, d := range devs {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", d.Name, state(d), d.Mints, when(d.LastSeen), orDash(d.LastError))
		}
		tw.Flush()
	case "show":
		d, err := store.Device(ctx, name)
		if err != nil {
			return fmt.Errorf("device %q: %w", name, err)
		}
		showDevice(env.Stdout, d)
	case "audit":
		if _, err := store.Device(ctx, name); err != nil && !errors.Is(err, broker.ErrNoDevice) {
			return err
		}
		ev, err := store.Audit(ctx, name, n)
		if err != nil {
			return err
		}
		if len(ev) == 0 {
			return fmt.Errorf("device %q: no audit entries (no such device, ever)", name)
		}
		for _, e := range ev {
			fmt.Fprintf(env.Stdout, "%s  %-9s %s\n", e.At.Local().Format(time.DateTime), e.Kind, e.Detail)
		}
	}
	return nil
}

func showDevice(w io.Writer, d broker.Device) {
	fmt.Fprintf(w, "name:         %s\nstate:        %s\ncreated:      %s\nmints:        %d\nlast seen:    %s\n",
		d.Name, state(d), when(d.Created), d.Mints, when(d.LastSeen))
	fmt.Fprintf(w, "last error:   %s\nerror at:     %s\n", orDash(d.LastError), when(d.LastErrorAt))
	if !d.PrevUntil.IsZero() {
		fmt.Fprintf(w, "old token until: %s\n", when(d.PrevUntil))
	}
}

func state(d broker.Device) string {
	if d.Disabled {
		return "disabled"
	}
	return "enabled"
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// brokerConfig is the [broker] section of the config at cfgPath, or the defaults if
// the default config file does not exist.
func brokerConfig(cfgPath string) (config.Broker, error) {
	if _, err := os.Stat(cfgPath); err != nil && cfgPath == config.DefaultPath {
		return config.Default().Broker, nil
	}
	c, err := config.Load(cfgPath)
	if err != nil {
		return config.Broker{}, err
	}
	return c.Broker, nil
}

func importDirCommand() *cli.Command {
	return &cli.Command{
		Name: "import-dir", Args: "[DIR]", MaxArgs: 1,
		Summary: "import the device directory of older brokers into the store",
		Help: "Imports every NAME.json device record of DIR (default [broker] devices_dir) into the\n" +
			"store ([broker] database, or -database): token hashes, creation times, disabled\n" +
			"flags. A broken record is skipped with a message naming its file; a device already\n" +
			"in the store is left alone. Exit 1 if anything was skipped.",
		Flags: func(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
			cfg := cli.ConfigFlag(fs, env)
			database := fs.String("database", "", "device store: SQLite `file` or postgres:// URL (overrides [broker] database)")
			return func(ctx context.Context, args []string) error {
				bc, err := brokerConfig(*cfg)
				if err != nil {
					return err
				}
				if *database != "" {
					bc.Database = *database
				}
				dir := bc.DevicesDir
				if len(args) > 0 {
					dir = args[0]
				}
				devs, problems, err := broker.ReadDeviceDir(dir)
				if err != nil {
					return err
				}
				store, err := broker.Open(ctx, bc.Database)
				if err != nil {
					return err
				}
				defer store.Close()
				imported := 0
				for _, d := range devs {
					if err := store.Import(ctx, d, time.Now()); err != nil {
						problems = append(problems, err.Error())
						continue
					}
					imported++
				}
				for _, p := range problems {
					fmt.Fprintln(env.Stderr, p)
				}
				fmt.Fprintf(env.Stdout, "imported %d of %d device records from %s into %s\n", imported, imported+len(problems), dir, broker.RedactDatabase(bc.Database))
				if len(problems) > 0 {
					return fmt.Errorf("%d record(s) skipped (above); fix them and run import-dir again (imported devices are kept)", len(problems))
				}
				return nil
			}
		},
	}
}
