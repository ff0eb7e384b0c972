package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/provisioning/keyd"
	"github.com/edgevoice/edgevoice/realtime"
)

func init() {
	register(&command{name: "provisiond", summary: "key daemon: keeps ephemeral keys ready on a unix socket (-once: fetch one and report)", run: runProvisiond})
	register(&command{name: "check", summary: "fetch one ephemeral key and report each step (for installers)", run: runCheck})
	register(&command{name: "keys", summary: "ask the key daemon: keys status | keys get", run: runKeys})
	register(&command{name: "broker", summary: "reference key broker for fleets (broker add-device NAME, list-devices, remove-device NAME)", run: runBroker})
}

// provFlags are the command-line overrides of the [provisioning] section.
type provFlags struct {
	config                                   string
	profile, brokerURL, mintURL, sdpURL      string
	resource, region, deployment, model      string
	credFile, socket, policy, auth, caBundle string
	logLevel, allowUsers                     string
	minValid                                 time.Duration
}

func (f *provFlags) register(fs *flag.FlagSet, daemonFlags bool) {
	fs.StringVar(&f.config, "config", "", "config `file` (default $EDGEVOICE_CONFIG or "+defaultConfigPath+" if it exists)")
	fs.StringVar(&f.profile, "profile", "", "key `profile`: broker, azure, azure-preview or openai")
	fs.StringVar(&f.brokerURL, "broker-url", "", "broker base `URL` (profile broker)")
	fs.StringVar(&f.mintURL, "mint-url", "", "override the mint `URL`")
	fs.StringVar(&f.sdpURL, "sdp-url", "", "override the SDP `URL` handed out with keys")
	fs.StringVar(&f.resource, "resource", "", "Azure resource `name`")
	fs.StringVar(&f.region, "region", "", "Azure `region` (eastus2, swedencentral)")
	fs.StringVar(&f.deployment, "deployment", "", "Azure deployment `name`")
	fs.StringVar(&f.model, "model", "", "OpenAI `model`")
	fs.StringVar(&f.auth, "auth", "", "Azure auth: api-key or bearer")
	fs.StringVar(&f.credFile, "credential-file", "", "credential `file` (mode 0600; default $CREDENTIALS_DIRECTORY/credential)")
	fs.StringVar(&f.caBundle, "ca-bundle", "", "PEM CA bundle `file` trusted instead of the system roots")
	fs.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error (default from [appliance] log_level)")
	if daemonFlags {
		fs.StringVar(&f.socket, "socket", "", "key socket `path` (default "+keyd.DefaultSocketPath+")")
		fs.StringVar(&f.policy, "policy", "", "prefetch or on-demand")
		fs.DurationVar(&f.minValid, "min-validity", 0, "prefetch: keep a key valid at least this `duration`")
		fs.StringVar(&f.allowUsers, "allow-users", "", "comma-separated `users` (names or uids) allowed on the socket (default [provisioning] allowed_users)")
	}
}

// load reads the config (when there is one), applies the flags and validates
// [provisioning] and [broker] again.
func (f *provFlags) load(env *Env) (*Config, string, error) {
	path, explicit := f.config, f.config != ""
	if !explicit {
		path = configPathFromEnv(env)
		explicit = path != defaultConfigPath
	}
	var c *Config
	if _, err := os.Stat(path); err == nil || explicit {
		var lerr error
		if c, lerr = loadConfig(path); lerr != nil {
			return nil, "", lerr
		}
	} else {
		c = &Config{}
		c.setDefaults()
		path = "(no config file; defaults and flags)"
	}
	p := &c.Provisioning
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&p.Profile, f.profile)
	set(&p.BrokerURL, f.brokerURL)
	set(&p.MintURL, f.mintURL)
	set(&p.SDPURL, f.sdpURL)
	set(&p.Resource, f.resource)
	set(&p.Region, f.region)
	set(&p.Deployment, f.deployment)
	set(&p.Model, f.model)
	set(&p.Auth, f.auth)
	set(&p.CredentialFile, f.credFile)
	set(&p.CABundle, f.caBundle)
	set(&p.Socket, f.socket)
	set(&p.Policy, f.policy)
	if f.allowUsers != "" {
		p.AllowedUsers = strings.Split(f.allowUsers, ",")
	}
	if f.minValid > 0 {
		p.MinValidity = duration(f.minValid)
	}
	if err := p.validate(); err != nil {
		return nil, "", fmt.Errorf("[provisioning] %w", err)
	}
	return c, path, nil
}

func provLogger(env *Env, level string, app *applianceConfig) (*slog.Logger, error) {
	if level == "" {
		level = app.LogLevel
	}
	return newLogger(env.Stderr, provOr(level, "info"), provOr(app.LogFormat, "auto"), env.Getenv)
}

// buildProvider turns [provisioning] into a provider. It reads the credential once to
// refuse a bad file at start; afterwards it is re-read on each mint.
func buildKeyProvider(c *provisioningConfig, env *Env, log *slog.Logger) (provisioning.Provider, string, error) {
	credDir := ""
	if env.Getenv != nil {
		credDir = env.Getenv("CREDENTIALS_DIRECTORY")
	}
	var credOpt []provisioning.Option
	certOnly := c.Profile == provisioning.ProfileBroker && c.ClientCertFile != "" && c.CredentialFile == "" && credDir == ""
	credPath := ""
	if !certOnly { // a broker device with a client certificate needs no token
		var err error
		if credPath, err = provisioning.CredentialPath(c.CredentialFile, credDir, c.CredentialName); err != nil {
			return nil, "", err
		}
		if _, err := provisioning.ReadCredentialFile(credPath); err != nil {
			return nil, credPath, err
		}
		credOpt = append(credOpt, provisioning.WithCredential(provisioning.FileCredential(credPath)))
	}
	auth, _ := provisioning.ParseAuthMode(c.Auth)
	sess := realtime.SessionDefaults{Voice: c.Voice, Instructions: c.Instructions}
	if c.ToolsFile != "" {
		b, err := os.ReadFile(c.ToolsFile)
		if err != nil {
			return nil, credPath, fmt.Errorf("tools_file: %w", err)
		}
		var tools []json.RawMessage
		if err := json.Unmarshal(b, &tools); err != nil {
			return nil, credPath, fmt.Errorf("tools_file %s: want a JSON array of tool definitions: %w", c.ToolsFile, err)
		}
		sess.Tools = b
	}
	opts := append(credOpt,
		provisioning.WithAuth(auth),
		provisioning.WithResource(c.Resource), provisioning.WithRegion(c.Region),
		provisioning.WithDeployment(c.Deployment), provisioning.WithModel(c.Model),
		provisioning.WithSessionDefaults(sess), provisioning.WithKeyLifetime(c.KeyLifetime.D()),
		provisioning.WithRequestTimeout(c.RequestTimeout.D()), provisioning.WithLogger(log),
		provisioning.WithSDPURL(c.SDPURL),
		provisioning.WithPreviewFallback(c.PreviewFallback, c.PreviewMintURL, c.PreviewSDPURL),
	)
	if c.BrokerURL != "" {
		opts = append(opts, provisioning.WithBrokerURL(c.BrokerURL))
	}
	if c.MintURL != "" {
		opts = append(opts, provisioning.WithMintURL(c.MintURL))
	}
	if c.CABundle != "" {
		pem, err := os.ReadFile(c.CABundle)
		if err != nil {
			return nil, credPath, fmt.Errorf("ca_bundle: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, credPath, fmt.Errorf("ca_bundle %s holds no PEM certificate", c.CABundle)
		}
		opts = append(opts, provisioning.WithRootCAs(pool))
	}
	if c.ClientCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.ClientCertFile, c.ClientKeyFile)
		if err != nil {
			return nil, credPath, fmt.Errorf("client certificate: %w", err)
		}
		opts = append(opts, provisioning.WithClientCertificate(cert))
	}
	p, err := provisioning.NewProvider(c.Profile, opts...)
	return p, credPath, err
}

// lookupUIDs resolves user names or numeric uids.
func lookupAllowedUIDs(names []string) ([]uint32, error) {
	var out []uint32
	for _, n := range names {
		if id, err := strconv.ParseUint(n, 10, 32); err == nil {
			out = append(out, uint32(id))
			continue
		}
		u, err := user.Lookup(n)
		if err != nil {
			return nil, fmt.Errorf("allowed_users: user %q does not exist (create it, or list a numeric uid)", n)
		}
		id, _ := strconv.ParseUint(u.Uid, 10, 32)
		out = append(out, uint32(id))
	}
	return out, nil
}

// runProvisiond: edgevoice provisiond [-config FILE] [-once] [flags]
func runProvisiond(ctx context.Context, env *Env) error {
	fs := flag.NewFlagSet("provisiond", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var f provFlags
	f.register(fs, true)
	once := fs.Bool("once", false, "fetch one key, report each step and exit (same as the check subcommand)")
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: edgevoice provisiond [-config FILE] [-once] [flags]\n\n"+
			"The key daemon: reads the credential (mode 0600, or systemd LoadCredential=), keeps\n"+
			"an ephemeral key ready (policy prefetch) or mints on request (on-demand), and serves\n"+
			"keys on a unix socket to the allowed users. SIGHUP retries at once after a rejected\n"+
			"credential. Flags override the [provisioning] section.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(env.Args); err != nil || fs.NArg() != 0 {
		return errUsage
	}
	c, cfgPath, err := f.load(env)
	if err != nil {
		return err
	}
	if *once {
		return checkProvisioning(ctx, env, c, cfgPath, f.logLevel)
	}
	log, err := provLogger(env, f.logLevel, &c.Appliance)
	if err != nil {
		return err
	}
	pc := &c.Provisioning
	p, credPath, err := buildKeyProvider(pc, env, log)
	if err != nil {
		return err
	}
	uids, err := lookupAllowedUIDs(pc.AllowedUsers)
	if err != nil {
		return err
	}
	gid := -1
	if pc.SocketGroup != "" {
		if g, gerr := user.LookupGroup(pc.SocketGroup); gerr == nil {
			gid, _ = strconv.Atoi(g.Gid)
		} else {
			log.Warn("socket group does not exist; keeping the daemon's group", "group", pc.SocketGroup)
		}
	}
	policy, _ := keyd.ParsePolicy(pc.Policy)

	var readyOnce sync.Once
	notify := func(state string) {
		if _, err := daemon.SdNotify(false, state); err != nil {
			log.Debug("sd_notify failed", "err", err)
		}
	}
	d, err := keyd.NewDaemon(p,
		keyd.WithPolicy(policy), keyd.WithMinValidity(pc.MinValidity.D()),
		keyd.WithBackoff(pc.BackoffMin.D(), pc.BackoffMax.D()), keyd.WithRejectedRetry(pc.RejectedRetry.D()),
		keyd.WithLogger(log),
		keyd.WithStatusHook(func(s keyd.Status) {
			notify("STATUS=" + keyStatusLine(s))
			switch s.State {
			case keyd.StateReady, keyd.StateIdle, keyd.StateBackoff, keyd.StateRejected:
				readyOnce.Do(func() { notify(daemon.SdNotifyReady) })
			}
		}))
	if err != nil {
		return err
	}
	l, err := keyd.Listen(pc.Socket, 0o660, gid)
	if err != nil {
		return err
	}
	srv, err := keyd.NewServer(d, keyd.WithAllowedUIDs(uids...), keyd.WithServerLogger(log))
	if err != nil {
		l.Close()
		return err
	}
	log.Info("provisiond starting", "config", cfgPath, "profile", p.Profile(), "policy", policy, "socket", pc.Socket,
		"allowed_uids", uids, "credential_file", credPath)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	var wg sync.WaitGroup
	var runErr, serveErr error
	wg.Add(3)
	go func() { defer wg.Done(); runErr = d.Run(ctx); cancel() }()
	go func() { defer wg.Done(); serveErr = srv.Serve(l); cancel() }()
	go func() { // SIGHUP and the systemd watchdog
		defer wg.Done()
		var tick <-chan time.Time
		if iv, err := daemon.SdWatchdogEnabled(false); err == nil && iv > 0 {
			t := time.NewTicker(iv / 2)
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				log.Info("SIGHUP: retrying now")
				d.Reload()
			case <-tick:
				_ = d.Status() // the daemon's lock is not stuck
				notify(daemon.SdNotifyWatchdog)
			}
		}
	}()
	<-ctx.Done()
	notify(daemon.SdNotifyStopping)
	srv.Close()
	wg.Wait()
	os.Remove(pc.Socket)
	log.Info("provisiond stopped")
	return errors.Join(runErr, serveErr)
}

// statusLine is the systemd STATUS= text: what the daemon does, never a key.
func keyStatusLine(s keyd.Status) string {
	line := fmt.Sprintf("%s (%s, %s)", s.State, s.Profile, s.Policy)
	switch {
	case s.KeyReady:
		line += fmt.Sprintf("; key ready, valid %s more", (time.Duration(s.KeyExpiresInSeconds) * time.Second).Round(time.Second))
	case s.State == keyd.StateBackoff || s.State == keyd.StateRejected:
		e := s.LastError
		if len(e) > 120 {
			e = e[:120] + "..."
		}
		line += "; " + e
		if !s.NextAttempt.IsZero() {
			line += "; next attempt " + s.NextAttempt.Local().Format(time.TimeOnly)
		}
	}
	return line
}

// runCheck: edgevoice check [-config FILE] [flags]
func runCheck(ctx context.Context, env *Env) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var f provFlags
	f.register(fs, false)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: edgevoice check [-config FILE] [flags]\n\n"+
			"Fetches one ephemeral key with the [provisioning] settings and reports each step\n"+
			"(config, credential, clock, DNS, mint) with what to fix. The key is not printed.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(env.Args); err != nil || fs.NArg() != 0 {
		return errUsage
	}
	c, cfgPath, err := f.load(env)
	if err != nil {
		fmt.Fprintf(env.Stdout, "config ........ FAILED\n")
		return err
	}
	return checkProvisioning(ctx, env, c, cfgPath, f.logLevel)
}

// checkOnce fetches one key and reports each step on stdout.
func checkProvisioning(ctx context.Context, env *Env, c *Config, cfgPath, logLevel string) error {
	out := env.Stdout
	step := func(name, format string, args ...any) {
		fmt.Fprintf(out, "%-14s %s\n", name, fmt.Sprintf(format, args...))
	}
	pc := &c.Provisioning
	step("config", "ok: %s (profile %s)", cfgPath, pc.Profile)
	log, err := provLogger(env, provOr(logLevel, "warn"), &c.Appliance)
	if err != nil {
		return err
	}
	p, credPath, err := buildKeyProvider(pc, env, log)
	if err != nil {
		if credPath != "" && strings.Contains(err.Error(), "credential") {
			step("credential", "FAILED: %v", err)
		} else {
			step("provider", "FAILED: %v", err)
		}
		return fmt.Errorf("check failed")
	}
	if fi, err := os.Stat(credPath); err == nil {
		step("credential", "ok: %s (mode %04o, %d bytes; not shown)", credPath, fi.Mode().Perm(), fi.Size())
	} else {
		step("credential", "none: the device authenticates with its client certificate %s", pc.ClientCertFile)
	}
	now := time.Now()
	if now.Before(keyd.SaneTime) {
		step("clock", "FAILED: the wall clock says %s; TLS needs the real time (is NTP running? systemd-timesyncd)", now.UTC().Format(time.RFC3339))
		return fmt.Errorf("check failed")
	}
	step("clock", "ok: %s", now.UTC().Format(time.RFC3339))
	mintURL := pc.MintURL
	if mintURL == "" && pc.BrokerURL != "" {
		mintURL = strings.TrimSuffix(pc.BrokerURL, "/") + "/v1/keys"
	}
	if mintURL == "" {
		switch pc.Profile {
		case provisioning.ProfileOpenAI:
			mintURL = "https://api.openai.com/"
		case provisioning.ProfileAzure, provisioning.ProfileAzurePreview:
			mintURL = "https://" + pc.Resource + ".openai.azure.com/"
		}
	}
	if u, err := url.Parse(mintURL); err == nil && u.Hostname() != "" {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		addrs, err := net.DefaultResolver.LookupHost(rctx, u.Hostname())
		cancel()
		if err != nil {
			step("dns", "FAILED: %s: %v (check the network and the URL/resource name)", u.Hostname(), err)
			return fmt.Errorf("check failed")
		}
		step("dns", "ok: %s -> %s", u.Hostname(), strings.Join(addrs, ", "))
	}
	t0 := time.Now()
	k, err := p.Mint(ctx, nil)
	if err != nil {
		step("mint", "FAILED after %s: %v", time.Since(t0).Round(time.Millisecond), err)
		step("hint", "%s", mintHint(err))
		return fmt.Errorf("check failed")
	}
	step("mint", "ok in %s: key %s, expires in %s (%s)", time.Since(t0).Round(time.Millisecond), realtime.Mask(k.Value),
		time.Until(k.ExpiresAt).Round(time.Second), k.ExpiresAt.UTC().Format(time.RFC3339))
	step("session", "dialect %s, profile %s, SDP URL %s", k.Dialect, k.Profile, k.SDPURL)
	fmt.Fprintln(out, "OK: keys can be minted")
	return nil
}

func provOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// hintFor says what to do about a mint failure.
func mintHint(err error) string {
	var he *provisioning.HTTPError
	var ue x509.UnknownAuthorityError
	var ce *tls.CertificateVerificationError
	switch {
	case errors.Is(err, provisioning.ErrCredentialRejected):
		return "the backend rejected the credential: check the key/token in the credential file (for a broker: re-issue with `edgevoice broker add-device`)"
	case errors.Is(err, provisioning.ErrNotFound):
		return "the endpoint does not exist: check resource, deployment and mint_url; on older Azure resources set preview_fallback = true"
	case errors.As(err, &ue), errors.As(err, &ce):
		return "the server's TLS certificate is not trusted: set ca_bundle to the CA that signed it (verification stays on)"
	case errors.As(err, &he) && (he.StatusCode == 429 || he.StatusCode >= 500):
		return "the backend is overloaded or failing; the daemon retries with backoff"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing listens at the mint URL: check the URL and that the broker runs"
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time: check the network, a proxy or firewall, or raise request_timeout"
	}
	return "see the error above"
}

// runKeys: edgevoice keys [-socket PATH] status|get
func runKeys(ctx context.Context, env *Env) error {
	fs := flag.NewFlagSet("keys", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	socket := fs.String("socket", keyd.DefaultSocketPath, "key socket `path`")
	minValid := fs.Duration("min-valid", 30*time.Second, "get: the key must stay valid this `duration`")
	asJSON := fs.Bool("json", false, "print JSON (status; get prints the key masked unless -reveal)")
	reveal := fs.Bool("reveal", false, "get: print the key value itself (for manual tests)")
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: edgevoice keys [-socket PATH] [-json] status | get [-min-valid 30s] [-reveal]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(env.Args); err != nil {
		return errUsage
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return errUsage
	}
	op := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil { // flags after the operation too
		return errUsage
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	ctx, cancel := context.WithTimeout(ctx, 40*time.Second)
	defer cancel()
	c := keyd.NewClient(*socket)
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
		v := realtime.Mask(k.Value)
		if *reveal {
			v = k.Value
		}
		if *asJSON {
			return json.NewEncoder(env.Stdout).Encode(map[string]any{"value": v, "expires_at": k.ExpiresAt, "sdp_url": k.SDPURL,
				"dialect": k.Dialect.String(), "profile": k.Profile})
		}
		fmt.Fprintf(env.Stdout, "key %s from %s (%s), valid %s more, SDP %s (got in %s)\n", v, k.Profile, k.Dialect,
			time.Until(k.ExpiresAt).Round(time.Second), k.SDPURL, el.Round(time.Microsecond))
		return nil
	}
	fs.Usage()
	return errUsage
}
