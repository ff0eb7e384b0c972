// Package provcmd holds the commands of edgevoice-provisiond (provisiond, check, keys)
// and what edgevoice-broker shares with them: the [provisioning] flags and the mapping
// of the config onto a provisioning.Provider. It links no WebRTC, audio, codec or GPIO
// code.
package provcmd

import (
	"cmp"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
)

// Flags are the command-line overrides of the [provisioning] section.
type Flags struct {
	Config                                   string
	profile, brokerURL, mintURL, sdpURL      string
	resource, region, deployment, model      string
	credFile, socket, policy, auth, caBundle string
	LogLevel, allowUsers                     string
	minValid                                 time.Duration
}

// Register adds the flags to fs; daemonFlags adds those of the key daemon (socket,
// policy, users).
func (f *Flags) Register(fs *flag.FlagSet, env *cli.Env, daemonFlags bool) {
	fs.StringVar(&f.Config, "config", config.Path(env.Getenv), "config `file` (default $"+config.EnvVar+", else "+config.DefaultPath+" if it exists; \"\" for none)")
	fs.StringVar(&f.profile, "profile", "", "key `profile`: broker, azure, azure-preview or openai")
	fs.StringVar(&f.brokerURL, "broker-url", "", "broker base `URL` (profile broker)")
	fs.StringVar(&f.mintURL, "mint-url", "", "override the mint `URL`")
	fs.StringVar(&f.sdpURL, "sdp-url", "", "override the SDP `URL` handed out with keys")
	fs.StringVar(&f.resource, "resource", "", "Azure resource `name`")
	fs.StringVar(&f.region, "region", "", "Azure `region` (eastus2, swedencentral)")
	fs.StringVar(&f.deployment, "deployment", "", "Azure deployment `name`")
	fs.StringVar(&f.model, "model", "", "OpenAI `model`")
	fs.StringVar(&f.auth, "auth", "", "Azure auth: api-key or bearer")
	fs.StringVar(&f.credFile, "credential-file", "", "credential `file` (mode 0600; default $CREDENTIALS_DIRECTORY/credential, else /etc/edgevoice/credential)")
	fs.StringVar(&f.caBundle, "ca-bundle", "", "PEM CA bundle `file` trusted instead of the system roots")
	fs.StringVar(&f.LogLevel, "log-level", "", "debug, info, warn or error (default from [appliance] log_level)")
	if daemonFlags {
		fs.StringVar(&f.socket, "socket", "", "key socket `path` (default "+config.DefaultKeySocket+")")
		fs.StringVar(&f.policy, "policy", "", "prefetch or on-demand")
		fs.DurationVar(&f.minValid, "min-validity", 0, "prefetch: keep a key valid at least this `duration`")
		fs.StringVar(&f.allowUsers, "allow-users", "", "comma-separated `users` (names or uids) allowed on the socket (default [provisioning] allowed_users)")
	}
}

// Load reads the config (when there is one: an explicit -config or $EDGEVOICE_CONFIG must
// exist, the default path may be missing), applies the flags and validates the result.
// It returns the config and a description of where it came from.
func (f *Flags) Load(env *cli.Env) (*config.Config, string, error) {
	path := f.Config
	explicit := path != config.DefaultPath
	var c *config.Config
	if _, err := os.Stat(path); path != "" && (err == nil || explicit) {
		var lerr error
		if c, lerr = config.Load(path); lerr != nil {
			return nil, "", lerr
		}
	} else {
		c = config.Default()
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
		p.MinValidity = config.Duration(f.minValid)
	}
	if err := c.Validate(); err != nil {
		return nil, "", fmt.Errorf("with the command-line flags: %w", err)
	}
	return c, path, nil
}

// Logger is the daemon logger at level (default [appliance] log_level) in the
// [appliance] log format.
func Logger(env *cli.Env, level string, app *config.Appliance) (*slog.Logger, error) {
	return cli.NewLogger(env.Stderr, cmp.Or(level, app.LogLevel, "info"), cmp.Or(app.LogFormat, "auto"), env)
}
