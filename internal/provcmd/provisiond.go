package provcmd

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"os/user"
	"reflect"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/provisioning/keyd"
)

// Commands are the commands of edgevoice-provisiond (check-config and version come from
// package cli).
func Commands() []*cli.Command {
	return []*cli.Command{provisiondCommand(), checkCommand(), keysCommand()}
}

func provisiondCommand() *cli.Command {
	return &cli.Command{
		Name:    "provisiond",
		Summary: "key daemon: keeps ephemeral keys ready on a unix socket (-once: fetch one and report)",
		Help: "The key daemon: reads the credential (mode 0600, or systemd LoadCredential=), keeps\n" +
			"an ephemeral key ready (policy prefetch) or mints on request (on-demand), and serves\n" +
			"keys on a unix socket to the allowed users. Without a profile or a credential it runs\n" +
			"and answers not-configured or no-credential (its status says what to do); the\n" +
			"credential is looked for again at each request. SIGHUP (systemctl reload) re-reads\n" +
			"the config and its drop-ins, takes a changed profile, URL or credential setting\n" +
			"without a restart and retries at once (after a rejected credential or in backoff).\n" +
			"Flags override the [provisioning] section.",
		Flags: func(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
			var f Flags
			f.Register(fs, env, true)
			once := fs.Bool("once", false, "fetch one key, report each step and exit (same as the check command)")
			return func(ctx context.Context, _ []string) error {
				c, cfgPath, err := f.Load(env)
				if err != nil {
					return err
				}
				if *once {
					return checkProvisioning(ctx, env, c, cfgPath, f.LogLevel)
				}
				log, err := Logger(env, f.LogLevel, &c.Appliance)
				if err != nil {
					return err
				}
				reload := func() (*config.Provisioning, error) {
					c, _, err := f.Load(env)
					if err != nil {
						return nil, err
					}
					return &c.Provisioning, nil
				}
				return runDaemon(ctx, env, c.Provisioning, cfgPath, log, reload)
			}
		},
	}
}

// daemonProvider is the key daemon's provider for [provisioning]: without a profile, one
// that answers "not configured" (the device is not set up; a reload brings the profile).
// A missing credential is not an error either (the provider answers "no credential"
// and looks again at each mint).
func daemonProvider(pc *config.Provisioning, env *cli.Env, log *slog.Logger) (provisioning.Provider, error) {
	if pc.Profile == "" {
		log.Warn(notConfiguredHelp)
		return provisioning.NotConfigured(notConfiguredHelp), nil
	}
	p, credPath, err := newProvider(pc, env, log, false)
	if err != nil {
		return nil, err
	}
	if credPath == "" && !(pc.Profile == provisioning.ProfileBroker && pc.ClientCertFile != "") {
		// Installed but not set up: keep running and answer "no credential" (the
		// appliance shows no-key); the credential is looked for again at each attempt.
		log.Warn(noCredentialHelp)
	}
	return p, nil
}

// runDaemon runs the key daemon and its socket server until ctx ends or one of them
// fails. On SIGHUP it calls reload (nil: none) for the [provisioning] section to use.
func runDaemon(ctx context.Context, env *cli.Env, pc config.Provisioning, cfgPath string, log *slog.Logger, reload func() (*config.Provisioning, error)) error {
	p, err := daemonProvider(&pc, env, log)
	if err != nil {
		return err
	}
	credPath, _ := provisioning.CredentialPath(pc.CredentialFile, env.Env("CREDENTIALS_DIRECTORY"), pc.CredentialName, defaultCredentialFile)
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

	n := cli.NewNotifier(log)
	var readyOnce, startOnce sync.Once
	started := make(chan struct{}) // the daemon runs: the socket may answer

	d, err := keyd.NewDaemon(p,
		keyd.WithPolicy(policy), keyd.WithMinValidity(pc.MinValidity.D()),
		keyd.WithBackoff(pc.BackoffMin.D(), pc.BackoffMax.D()), keyd.WithRejectedRetry(pc.RejectedRetry.D()),
		keyd.WithLogger(log),
		keyd.WithCredentialVersion(provisioning.CredentialVersion(pc.CredentialFile, env.Env("CREDENTIALS_DIRECTORY"), pc.CredentialName, defaultCredentialFile)),
		keyd.WithStatusHook(func(s keyd.Status) {
			startOnce.Do(func() { close(started) })
			n.Status(keyStatusLine(s))
			switch s.State {
			case keyd.StateReady, keyd.StateIdle, keyd.StateBackoff, keyd.StateRejected, keyd.StateNoCredential, keyd.StateNotConfigured:
				readyOnce.Do(func() { n.Ready(keyStatusLine(s)) })
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
	defer os.Remove(pc.Socket)
	log.Info("provisiond starting", "config", cfgPath, "profile", p.Profile(), "policy", policy, "socket", pc.Socket,
		"allowed_uids", uids, "credential_file", credPath)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return d.Run(gctx) })
	g.Go(func() error {
		// Serve once the daemon runs: a key request before that would be refused.
		select {
		case <-started:
			return srv.Serve(l)
		case <-gctx.Done():
			return l.Close()
		}
	})
	g.Go(func() error { // the server stops when the group does
		<-gctx.Done()
		n.Stopping()
		return srv.Close()
	})
	g.Go(func() error { // SIGHUP and the systemd watchdog
		var tick <-chan time.Time
		if iv := cli.WatchdogInterval(); iv > 0 {
			t := time.NewTicker(iv)
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-hup:
				if reload != nil {
					pc = reloadProvisioning(pc, reload, d, env, log)
				}
				log.Info("SIGHUP: retrying now")
				d.Reload()
			case <-tick:
				_ = d.Status() // the daemon's lock is not stuck
				n.Watchdog()
			}
		}
	})
	err = g.Wait()
	log.Info("provisiond stopped")
	if ctx.Err() != nil && err == context.Canceled {
		return nil
	}
	return err
}

// reloadProvisioning re-reads the config (SIGHUP): a changed provider setting (profile,
// URLs, credential, TLS files, session defaults) replaces the daemon's provider at once;
// a changed socket, user list or policy needs a restart and is only logged. A config
// that does not load keeps the running one. It returns the section now in use.
func reloadProvisioning(cur config.Provisioning, reload func() (*config.Provisioning, error), d *keyd.Daemon, env *cli.Env, log *slog.Logger) config.Provisioning {
	nc, err := reload()
	if err != nil {
		log.Error("reload (SIGHUP): the config does not load; keeping the running one", "err", err)
		return cur
	}
	daemonPart := func(c config.Provisioning) config.Provisioning {
		return config.Provisioning{Socket: c.Socket, SocketGroup: c.SocketGroup, AllowedUsers: c.AllowedUsers,
			Policy: c.Policy, MinValidity: c.MinValidity, BackoffMin: c.BackoffMin, BackoffMax: c.BackoffMax,
			RejectedRetry: c.RejectedRetry}
	}
	if !reflect.DeepEqual(daemonPart(cur), daemonPart(*nc)) {
		log.Warn("reload (SIGHUP): socket, socket_group, allowed_users, policy, min_validity or backoff changed; these need a restart (systemctl restart edgevoice-provisioning)")
	}
	providerPart := func(c config.Provisioning) config.Provisioning {
		o := daemonPart(config.Provisioning{})
		c.Socket, c.SocketGroup, c.AllowedUsers, c.Policy = o.Socket, o.SocketGroup, o.AllowedUsers, o.Policy
		c.MinValidity, c.BackoffMin, c.BackoffMax, c.RejectedRetry = o.MinValidity, o.BackoffMin, o.BackoffMax, o.RejectedRetry
		return c
	}
	if reflect.DeepEqual(providerPart(cur), providerPart(*nc)) {
		log.Info("reload (SIGHUP): [provisioning] unchanged")
		return cur
	}
	p, err := daemonProvider(nc, env, log)
	if err != nil {
		log.Error("reload (SIGHUP): the new [provisioning] section does not work; keeping the running one", "err", err)
		return cur
	}
	d.SetProvider(p)
	log.Info("reload (SIGHUP): [provisioning] applied", "profile", cmp.Or(nc.Profile, "(none)"))
	// The daemon keeps the running socket and policy settings.
	applied := providerPart(*nc)
	dp := daemonPart(cur)
	applied.Socket, applied.SocketGroup, applied.AllowedUsers, applied.Policy = dp.Socket, dp.SocketGroup, dp.AllowedUsers, dp.Policy
	applied.MinValidity, applied.BackoffMin, applied.BackoffMax, applied.RejectedRetry = dp.MinValidity, dp.BackoffMin, dp.BackoffMax, dp.RejectedRetry
	return applied
}

// lookupAllowedUIDs resolves user names or numeric uids.
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

// noCredentialHelp is what the daemon says (journal and Status=) while no credential is
// configured anywhere.
var noCredentialHelp = "no credential: run `" + provisioning.InstallCredentialCommand + "`, paste the key, press Enter and Ctrl-D" +
	" (or set credential_file in [provisioning]), then `sudo edgevoice-provisiond check`; it is picked up without a restart"

// notConfiguredHelp is what the daemon says while [provisioning] has no profile (a
// fresh device: the credential is missing too, say where it goes).
var notConfiguredHelp = "not configured: set [provisioning] profile in a drop-in in " + config.DropInDir(config.DefaultPath) +
	"/ (see " + config.DefaultPath + "), then `sudo systemctl reload edgevoice-provisioning`; the credential goes in " +
	provisioning.DefaultCredentialFile + " (`" + provisioning.InstallCredentialCommand + "`)"

// keyStatusLine is the systemd STATUS= text: what the daemon does, never a key.
func keyStatusLine(s keyd.Status) string {
	line := fmt.Sprintf("%s (%s, %s)", s.State, cmp.Or(s.Profile, "no profile"), s.Policy)
	switch {
	case s.State == keyd.StateNotConfigured:
		line += "; " + notConfiguredHelp
	case s.State == keyd.StateNoCredential:
		line += "; " + noCredentialHelp
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
