// Package brokercmd holds the commands of edgevoice-broker: the reference key broker
// (a server that holds the model API key and hands devices ephemeral keys) and the
// administration of its device records.
package brokercmd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/edgevoice/edgevoice/internal/provcmd"
	"github.com/edgevoice/edgevoice/provisioning/broker"
	"github.com/edgevoice/edgevoice/realtime"
)

// Commands are the commands of edgevoice-broker (check-config and version come from
// package cli).
func Commands() []*cli.Command {
	return []*cli.Command{
		brokerCommand(),
		devicesCommand("add-device", "NAME", "add a device record and print its token (once)"),
		devicesCommand("list-devices", "", "list the device records"),
		devicesCommand("remove-device", "NAME", "remove a device record; its token stops working"),
	}
}

func brokerCommand() *cli.Command {
	return &cli.Command{
		Name:    "broker",
		Summary: "serve the reference key broker (POST /v1/keys) for a fleet of devices",
		Help: "The reference key broker: devices POST /v1/keys with \"Authorization: Bearer <device\n" +
			"token>\" and get {value, expires_at, webrtc_url, protocol, session}. The upstream\n" +
			"(profile, endpoint, model API key as credential) is the [provisioning] section; the\n" +
			"server settings are [broker]. GET /healthz answers ok. Device records: add-device,\n" +
			"list-devices, remove-device.",
		Flags: func(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
			var f provcmd.Flags
			f.Register(fs, env, false)
			listen := fs.String("listen", "", "`address` to listen on (default [broker] listen, 127.0.0.1:8080)")
			devices := fs.String("devices", "", "device records `dir` (default [broker] devices_dir)")
			tlsCert := fs.String("tls-cert", "", "PEM certificate `file` for HTTPS")
			tlsKey := fs.String("tls-key", "", "PEM key `file` for HTTPS")
			pin := fs.Bool("pin-session", false, "pin the session defaults (devices cannot change them)")
			return func(ctx context.Context, _ []string) error {
				c, cfgPath, err := f.Load(env)
				if err != nil {
					return err
				}
				bc := &c.Broker
				if *listen != "" {
					bc.Listen = *listen
				}
				if *devices != "" {
					bc.DevicesDir = *devices
				}
				if *tlsCert != "" || *tlsKey != "" {
					bc.TLSCertFile, bc.TLSKeyFile = *tlsCert, *tlsKey
				}
				if *pin {
					bc.PinSession = true
				}
				if err := c.Validate(); err != nil {
					return fmt.Errorf("with the command-line flags: %w", err)
				}
				if c.Provisioning.Profile == "" {
					return errors.New("[provisioning] profile is not set: for the broker it names the upstream; set azure, azure-preview or openai (or -profile)")
				}
				if c.Provisioning.Profile == config.ProfileBroker {
					return errors.New("[provisioning] profile is \"broker\": for the broker it names the upstream; set azure, azure-preview or openai")
				}
				log, err := provcmd.Logger(env, f.LogLevel, &c.Appliance)
				if err != nil {
					return err
				}
				up, _, err := provcmd.NewProvider(&c.Provisioning, env, log)
				if err != nil {
					return err
				}
				store, err := broker.OpenStore(bc.DevicesDir)
				if err != nil {
					return err
				}
				pc := &c.Provisioning
				defaults := realtime.SessionDefaults{Voice: pc.Voice, Instructions: pc.Instructions}
				if pc.ToolsFile != "" {
					// NewProvider has read and checked the file already
					defaults.Tools, _ = os.ReadFile(pc.ToolsFile)
				}
				opts := []broker.Option{broker.WithRateLimit(bc.RatePerMinute, bc.RateBurst), broker.WithLogger(log)}
				tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
				if bc.ClientCAFile != "" {
					pem, err := os.ReadFile(bc.ClientCAFile)
					if err != nil {
						return fmt.Errorf("[broker] client_ca_file: %w", err)
					}
					pool := x509.NewCertPool()
					if !pool.AppendCertsFromPEM(pem) {
						return fmt.Errorf("[broker] client_ca_file %s holds no PEM certificate", bc.ClientCAFile)
					}
					tlsConf.ClientCAs, tlsConf.ClientAuth = pool, tls.VerifyClientCertIfGiven
					opts = append(opts, broker.WithClientCertAuth())
				}
				if bc.PinSession {
					opts = append(opts, broker.WithPinnedSession(defaults))
				} else {
					opts = append(opts, broker.WithSessionDefaults(defaults))
				}
				b, err := broker.New(up, store, opts...)
				if err != nil {
					return err
				}
				srv := &http.Server{Handler: b, ReadHeaderTimeout: bc.ReadHeaderTimeout.D(), ReadTimeout: 30 * time.Second,
					WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10,
					TLSConfig: tlsConf}
				ln, err := net.Listen("tcp", bc.Listen)
				if err != nil {
					return fmt.Errorf("broker: %w", err)
				}
				devs, _ := store.Devices()
				scheme := "http"
				if bc.TLSCertFile != "" {
					scheme = "https"
				}
				log.Info("broker listening", "url", scheme+"://"+ln.Addr().String()+"/v1/keys", "config", cfgPath, "upstream", up.Profile(),
					"devices", len(devs), "pinned", bc.PinSession)
				errc := make(chan error, 1)
				go func() {
					if bc.TLSCertFile != "" {
						errc <- srv.ServeTLS(ln, bc.TLSCertFile, bc.TLSKeyFile)
					} else {
						errc <- srv.Serve(ln)
					}
				}()
				select {
				case err := <-errc:
					return fmt.Errorf("broker: %w", err)
				case <-ctx.Done():
				}
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				serr := srv.Shutdown(sctx)
				<-errc
				log.Info("broker stopped")
				return serr
			}
		},
	}
}

// devicesCommand is one of the device record commands.
func devicesCommand(op, args, summary string) *cli.Command {
	n := 0
	if args != "" {
		n = 1
	}
	return &cli.Command{
		Name: op, Args: args, Summary: summary, MinArgs: n, MaxArgs: n,
		Flags: func(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
			cfg := cli.ConfigFlag(fs, env)
			devices := fs.String("devices", "", "device records `dir` (overrides [broker] devices_dir of the config)")
			return func(_ context.Context, args []string) error {
				return runDevices(env, op, *cfg, *devices, args)
			}
		},
	}
}

func runDevices(env *cli.Env, op, cfgPath, devices string, args []string) error {
	dir := devices
	if dir == "" {
		dir = config.Default().Broker.DevicesDir
		if _, err := os.Stat(cfgPath); err == nil || cfgPath != config.DefaultPath {
			c, err := config.Load(cfgPath)
			if err != nil {
				return err
			}
			dir = c.Broker.DevicesDir
		}
	}
	name := ""
	if len(args) > 0 {
		name = args[0]
	}
	store, err := broker.OpenStore(dir)
	if err != nil {
		return err
	}
	switch op {
	case "add-device":
		tok, err := store.AddDevice(name, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "device %q added to %s. Its token is shown ONCE, below; only its hash is stored.\n"+
			"Put it in the device's credential file (/etc/edgevoice/credential, mode 0600) with\n"+
			"[provisioning] profile = \"broker\" and broker_url set to this broker.\n", name, dir)
		fmt.Fprintln(env.Stdout, tok)
	case "remove-device":
		if err := store.RemoveDevice(name); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "device %q removed; its token no longer works\n", name)
	case "list-devices":
		devs, err := store.Devices()
		if err != nil {
			return err
		}
		for _, d := range devs {
			state := "enabled"
			if d.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(env.Stdout, "%-24s %s  %s\n", d.Name, d.Created.Local().Format(time.DateTime), state)
		}
	}
	return nil
}
