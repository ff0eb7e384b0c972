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
	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/provisioning/broker"
	"github.com/edgevoice/edgevoice/realtime"
)

// Commands are the commands of edgevoice-broker (check-config and version come from
// package cli).
func Commands() []*cli.Command {
	return []*cli.Command{
		brokerCommand(),
		deviceCommand(),
		importDirCommand(),
	}
}

func brokerCommand() *cli.Command {
	return &cli.Command{
		Name:    "broker",
		Summary: "serve the reference key broker (POST /v1/keys) for a fleet of devices",
		Help: "The reference key broker: devices POST /v1/keys with \"Authorization: Bearer <device\n" +
			"token>\" and get {value, expires_at, webrtc_url, protocol, session}. The upstream\n" +
			"(profile, endpoint, model API key as credential) is the [provisioning] section; the\n" +
			"server settings are [broker]; its device store is [broker] database (a SQLite file, or\n" +
			"a postgres:// URL shared by replicas). GET /healthz answers ok, GET /metrics the\n" +
			"counters. Devices: `edgevoice-broker device`.",
		Flags: func(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
			var f provcmd.Flags
			f.Register(fs, env, false)
			listen := fs.String("listen", "", "`address` to listen on (default [broker] listen, 127.0.0.1:8080)")
			database := fs.String("database", "", "device store: SQLite `file` or postgres:// URL (default [broker] database)")
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
				if *database != "" {
					bc.Database = *database
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
				// one upstream host, many devices at once: keep enough idle connections
				// (the default keeps 2, so a busy broker would open one per mint)
				tr := http.DefaultTransport.(*http.Transport).Clone()
				tr.MaxIdleConnsPerHost = 64
				defer tr.CloseIdleConnections()
				up, _, err := provcmd.NewProvider(&c.Provisioning, env, log, provisioning.WithHTTPClient(&http.Client{Transport: tr}))
				if err != nil {
					return err
				}
				store, err := broker.Open(ctx, bc.Database)
				if err != nil {
					return err
				}
				defer store.Close()
				pc := &c.Provisioning
				defaults := realtime.SessionDefaults{Voice: pc.Voice, Instructions: pc.Instructions}
				if pc.ToolsFile != "" {
					// NewProvider has read and checked the file already
					defaults.Tools, _ = os.ReadFile(pc.ToolsFile)
				}
				if defaults.Tools, err = withRemoteMCP(defaults.Tools, c.Tools.MCPRemote); err != nil {
					return err
				}
				opts := []broker.Option{broker.WithRateLimit(bc.RatePerMinute, bc.RateBurst),
					broker.WithClientRateLimit(bc.ClientRatePerMinute, bc.ClientRateBurst), broker.WithLogger(log)}
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
				devs, err := store.Devices(ctx)
				if err != nil {
					return err
				}
				scheme := "http"
				if bc.TLSCertFile != "" {
					scheme = "https"
				}
				log.Info("broker listening", "url", scheme+"://"+ln.Addr().String()+"/v1/keys", "config", cfgPath, "upstream", up.Profile(),
					"database", broker.RedactDatabase(bc.Database), "devices", len(devs), "pinned", bc.PinSession)
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
