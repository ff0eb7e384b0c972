package main

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

	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/provisioning/broker"
	"github.com/edgevoice/edgevoice/realtime"
)

// runBroker: edgevoice broker [-config FILE] [flags] | broker add-device NAME |
// broker list-devices | broker remove-device NAME
func runBroker(ctx context.Context, env *Env) error {
	if len(env.Args) > 0 {
		switch env.Args[0] {
		case "add-device", "list-devices", "remove-device":
			return runBrokerDevices(env, env.Args[0], env.Args[1:])
		}
	}
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var f provFlags
	f.register(fs, false)
	listen := fs.String("listen", "", "`address` to listen on (default [broker] listen, 127.0.0.1:8080)")
	devices := fs.String("devices", "", "device records `dir` (default [broker] devices_dir)")
	tlsCert := fs.String("tls-cert", "", "PEM certificate `file` for HTTPS")
	tlsKey := fs.String("tls-key", "", "PEM key `file` for HTTPS")
	pin := fs.Bool("pin-session", false, "pin the session defaults (devices cannot change them)")
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: edgevoice broker [-config FILE] [flags]\n"+
			"       edgevoice broker add-device [-config FILE | -devices DIR] NAME\n"+
			"       edgevoice broker list-devices [-config FILE | -devices DIR]\n"+
			"       edgevoice broker remove-device [-config FILE | -devices DIR] NAME\n\n"+
			"The reference key broker: devices POST /v1/keys with \"Authorization: Bearer <device\n"+
			"token>\" and get {value, expires_at, webrtc_url, protocol, session}. The upstream\n"+
			"(profile, endpoint, model API key as credential) is the [provisioning] section; the\n"+
			"server settings are [broker]. GET /healthz answers ok.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(env.Args); err != nil || fs.NArg() != 0 {
		return errUsage
	}
	c, cfgPath, err := f.load(env)
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
	if err := bc.validate(); err != nil {
		return fmt.Errorf("[broker] %w", err)
	}
	if c.Provisioning.Profile == provisioning.ProfileBroker {
		return errors.New("[provisioning] profile is \"broker\": for the broker it names the upstream; set azure, azure-preview or openai")
	}
	log, err := provLogger(env, f.logLevel, &c.Appliance)
	if err != nil {
		return err
	}
	up, _, err := buildKeyProvider(&c.Provisioning, env, log)
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
		// buildKeyProvider has read and checked the file already
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

func runBrokerDevices(env *Env, op string, args []string) error {
	fs := flag.NewFlagSet("broker "+op, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	cfg := fs.String("config", "", "config `file` whose [broker] devices_dir to use")
	devices := fs.String("devices", "", "device records `dir` (overrides the config)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	wantArgs := 1
	if op == "list-devices" {
		wantArgs = 0
	}
	if fs.NArg() != wantArgs {
		fmt.Fprintf(env.Stderr, "usage: edgevoice broker %s [-config FILE | -devices DIR]%s\n", op, map[bool]string{true: " NAME", false: ""}[wantArgs == 1])
		return errUsage
	}
	dir := *devices
	if dir == "" {
		pf := provFlags{config: *cfg}
		c, _, err := pf.load(env)
		if err != nil {
			return err
		}
		dir = c.Broker.DevicesDir
	}
	store, err := broker.OpenStore(dir)
	if err != nil {
		return err
	}
	switch op {
	case "add-device":
		tok, err := store.AddDevice(fs.Arg(0), time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "device %q added to %s. Its token is shown ONCE, below; only its hash is stored.\n"+
			"Put it in the device's credential file (/etc/edgevoice/credential, mode 0600) with\n"+
			"[provisioning] profile = \"broker\" and broker_url set to this broker.\n", fs.Arg(0), dir)
		fmt.Fprintln(env.Stdout, tok)
	case "remove-device":
		if err := store.RemoveDevice(fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "device %q removed; its token no longer works\n", fs.Arg(0))
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
