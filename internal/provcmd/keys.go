package provcmd

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/edgevoice/edgevoice/provisioning/keyd"
	"github.com/edgevoice/edgevoice/realtime"
)

func keysCommand() *cli.Command {
	return &cli.Command{
		Name:    "keys",
		Args:    "status | get",
		Summary: "ask the key daemon: keys status | keys get",
		Help: "status: what the key daemon does (state, key age, counts, the last error).\n" +
			"get: fetch one key from the socket, as the appliance does; printed masked unless -reveal.",
		MinArgs: 1, MaxArgs: 1,
		Flags: func(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
			socket := fs.String("socket", config.DefaultKeySocket, "key socket `path`")
			minValid := fs.Duration("min-valid", 30*time.Second, "get: the key must stay valid this `duration`")
			asJSON := fs.Bool("json", false, "print JSON (status; get prints the key masked unless -reveal)")
			reveal := fs.Bool("reveal", false, "get: print the key value itself (for manual tests)")
			return func(ctx context.Context, args []string) error {
				op := args[0]
				ctx, cancel := context.WithTimeout(ctx, 40*time.Second)
				defer cancel()
				c := keyd.NewClient(*socket)
				defer c.Close()
				switch op {
				case "status":
					st, err := c.Status(ctx)
					if err != nil {
						return err
					}
					if *asJSON {
						return json.NewEncoder(env.Stdout).Encode(st)
					}
					fmt.Fprintf(env.Stdout, "state:      %s\nprofile:    %s\npolicy:     %s\n", st.State, st.Profile, st.Policy)
					if st.KeyReady {
						fmt.Fprintf(env.Stdout, "key:        ready, age %.0fs, valid %.0fs more\n", st.KeyAgeSeconds, st.KeyExpiresInSeconds)
					} else {
						fmt.Fprintf(env.Stdout, "key:        none ready\n")
					}
					fmt.Fprintf(env.Stdout, "counts:     %d requests, %d minted, %d handed out, %d failures (%d in a row)\n",
						st.Requests, st.Minted, st.HandedOut, st.Failures, st.ConsecutiveFailures)
					if st.LastError != "" {
						fmt.Fprintf(env.Stdout, "last error: %s (%s)\n", st.LastError, st.LastErrorAt.Local().Format(time.DateTime))
					}
					if !st.NextAttempt.IsZero() {
						fmt.Fprintf(env.Stdout, "next try:   %s\n", st.NextAttempt.Local().Format(time.DateTime))
					}
					return nil
				case "get":
					t0 := time.Now()
					k, err := c.Get(ctx, *minValid)
					if err != nil {
						return err
					}
					el := time.Since(t0)
					// Masked unless -reveal: the key, and a secret the SDP URL may carry.
					v, sdpURL := realtime.Mask(k.Value), realtime.RedactURL(k.SDPURL)
					if *reveal {
						v, sdpURL = k.Value, k.SDPURL
					}
					if *asJSON {
						return json.NewEncoder(env.Stdout).Encode(map[string]any{"value": v, "expires_at": k.ExpiresAt, "sdp_url": sdpURL,
							"dialect": k.Dialect.String(), "profile": k.Profile})
					}
					fmt.Fprintf(env.Stdout, "key %s from %s (%s), valid %s more, SDP %s (got in %s)\n", v, k.Profile, k.Dialect,
						time.Until(k.ExpiresAt).Round(time.Second), sdpURL, el.Round(time.Microsecond))
					return nil
				}
				return cli.Usagef("unknown operation %q: want status or get", op)
			}
		},
	}
}
