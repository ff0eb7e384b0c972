package provcmd

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/provisioning/keyd"
	"github.com/edgevoice/edgevoice/realtime"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:    "check",
		Summary: "fetch one ephemeral key and report each step (for installers)",
		Help: "Fetches one ephemeral key with the [provisioning] settings and reports each step\n" +
			"(config, credential, clock, DNS, mint) with what to fix. The key is not printed.",
		Flags: func(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
			var f Flags
			f.Register(fs, env, false)
			return func(ctx context.Context, _ []string) error {
				c, cfgPath, err := f.Load(env)
				if err != nil {
					fmt.Fprintf(env.Stdout, "config ........ FAILED\n")
					return err
				}
				return checkProvisioning(ctx, env, c, cfgPath, f.LogLevel)
			}
		},
	}
}

// checkProvisioning fetches one key and reports each step on stdout.
func checkProvisioning(ctx context.Context, env *cli.Env, c *config.Config, cfgPath, logLevel string) error {
	out := env.Stdout
	step := func(name, format string, args ...any) {
		fmt.Fprintf(out, "%-14s %s\n", name, fmt.Sprintf(format, args...))
	}
	pc := &c.Provisioning
	if pc.Profile == "" {
		step("config", "FAILED: %s: no [provisioning] profile; %s", cfgPath, notConfiguredHelp)
		return fmt.Errorf("check failed: %w", provisioning.ErrNotConfigured)
	}
	step("config", "ok: %s (profile %s)", cfgPath, pc.Profile)
	log, err := Logger(env, cmp.Or(logLevel, "warn"), &c.Appliance)
	if err != nil {
		return err
	}
	p, credPath, err := NewProvider(pc, env, log)
	if err != nil {
		if errors.Is(err, provisioning.ErrNoCredential) || credPath != "" && strings.Contains(err.Error(), "credential") {
			step("credential", "FAILED: %v", err)
			if credPath == "" {
				step("hint", "%s", noCredentialHelp)
			}
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
	step("session", "dialect %s, profile %s, SDP URL %s", k.Dialect, k.Profile, realtime.RedactURL(k.SDPURL))
	fmt.Fprintln(out, "OK: keys can be minted")
	return nil
}

// mintHint says what to do about a mint failure.
func mintHint(err error) string {
	var he *provisioning.HTTPError
	var ue x509.UnknownAuthorityError
	var ce *tls.CertificateVerificationError
	switch {
	case errors.Is(err, provisioning.ErrCredentialRejected):
		return "the backend rejected the credential: check the key/token in the credential file (for a broker: check `edgevoice-broker device show NAME`, re-issue with `edgevoice-broker device rotate NAME`)"
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
