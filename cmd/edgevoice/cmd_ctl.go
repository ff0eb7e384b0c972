package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/edgevoice/edgevoice/internal/control"
)

func ctlCommand() *cli.Command {
	return &cli.Command{
		Name:    "ctl",
		Args:    "status|press|release|tap|cancel|mute|unmute|volume X|say TEXT|subscribe",
		Summary: "drive the running appliance over its control socket: talk, cancel, mute, volume, say, events",
		Help: "Sends one request to the running appliance and prints its JSON answer on one line\n" +
			"(exit 0 when ok, else 1 with the error on stderr). press, release and tap act like the\n" +
			"talk button (mute wins, a press while the model speaks interrupts it). volume X sets\n" +
			"the volume (0..1), or changes it by X when X starts with + or -. say TEXT has the\n" +
			"model answer TEXT aloud. subscribe prints state, transcript and health events, one\n" +
			"JSON line each, until interrupted. The protocol is described in edgevoice(1).",
		MinArgs: 1, MaxArgs: -1,
		Flags: func(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
			cfgPath := cli.ConfigFlag(fs, env)
			sock := fs.String("socket", "", "control socket (default: [appliance] control_socket of the config, else /run/edgevoice/control.sock)")
			timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer (not for subscribe)")
			return func(ctx context.Context, args []string) error {
				req, err := ctlRequest(args)
				if err != nil {
					return err
				}
				path := *sock
				if path == "" {
					path = config.Default().Appliance.ControlSocket
					if c, err := config.Load(*cfgPath); err == nil {
						path = c.Appliance.ControlSocket
					}
				}
				if req.Op == "subscribe" {
					return control.Subscribe(ctx, path, func(line []byte) error {
						_, err := fmt.Fprintf(env.Stdout, "%s\n", line)
						return err
					})
				}
				if *timeout <= 0 {
					return cli.Usagef("-timeout must be positive")
				}
				ctx, cancel := context.WithTimeout(ctx, *timeout)
				defer cancel()
				resp, err := control.Do(ctx, path, req)
				if err != nil {
					if resp != nil {
						return fmt.Errorf("%s: %w", req.Op, err)
					}
					return err
				}
				b, err := json.Marshal(resp)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(env.Stdout, "%s\n", b)
				return err
			}
		},
	}
}

// ctlRequest turns `ctl OP [ARG...]` into a request.
func ctlRequest(args []string) (control.Request, error) {
	op, rest := args[0], args[1:]
	req := control.Request{V: control.Version, Op: op}
	switch op {
	case "status", "press", "release", "tap", "cancel", "mute", "unmute", "subscribe":
		if len(rest) > 0 {
			return req, cli.Usagef("ctl %s takes no argument", op)
		}
	case "volume":
		if len(rest) != 1 {
			return req, cli.Usagef("ctl volume takes one argument: 0..1, or a step such as +0.1 or -0.1")
		}
		v, err := strconv.ParseFloat(rest[0], 64)
		if err != nil {
			return req, cli.Usagef("ctl volume %q: not a number (0..1, or a step such as +0.1)", rest[0])
		}
		if strings.HasPrefix(rest[0], "+") || strings.HasPrefix(rest[0], "-") {
			req.Step = &v
		} else {
			req.Value = &v
		}
	case "say":
		req.Text = strings.Join(rest, " ")
		if strings.TrimSpace(req.Text) == "" {
			return req, cli.Usagef("ctl say needs the text to answer")
		}
	default:
		return req, cli.Usagef("ctl: unknown op %q (want one of %s)", op, strings.Join(control.Ops, ", "))
	}
	return req, nil
}
