package provcmd

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/realtime"
)

// defaultCredentialFile is where the credential is looked for last
// (provisioning.DefaultCredentialFile; tests point it elsewhere).
var defaultCredentialFile = provisioning.DefaultCredentialFile

// NewProvider turns [provisioning] into a provider and returns it with the path of the
// credential file. The credential is credential_file, else $CREDENTIALS_DIRECTORY's
// credential_name, else /etc/edgevoice/credential; it is read once here to refuse a bad
// file at start, and looked up and read again on each mint. With no credential anywhere
// it fails with an error wrapping provisioning.ErrNoCredential. extra options come last
// (the broker passes its HTTP client).
func NewProvider(c *config.Provisioning, env *cli.Env, log *slog.Logger, extra ...provisioning.Option) (provisioning.Provider, string, error) {
	return newProvider(c, env, log, true, extra...)
}

// newProvider is NewProvider; with needCredential false a missing credential is not an
// error (the key daemon of a device not set up yet): the provider's mints fail with
// ErrNoCredential until one is put in place, and the path returned is "".
func newProvider(c *config.Provisioning, env *cli.Env, log *slog.Logger, needCredential bool, extra ...provisioning.Option) (provisioning.Provider, string, error) {
	credDir := env.Env("CREDENTIALS_DIRECTORY")
	var credOpt []provisioning.Option
	certOnly := c.Profile == provisioning.ProfileBroker && c.ClientCertFile != "" && c.CredentialFile == "" && credDir == ""
	credPath := ""
	if !certOnly { // a broker device with a client certificate needs no token
		var err error
		credPath, err = provisioning.CredentialPath(c.CredentialFile, credDir, c.CredentialName, defaultCredentialFile)
		switch {
		case errors.Is(err, provisioning.ErrNoCredential) && !needCredential:
			credPath = ""
		case err != nil:
			return nil, "", err
		default:
			// A file that exists but cannot be used is no usable credential: check fails
			// on it, the key daemon runs on and says how to fix it (no crash loop).
			if _, err := provisioning.ReadCredentialFile(credPath); err != nil && (needCredential || !errors.Is(err, provisioning.ErrNoCredential)) {
				return nil, credPath, err
			}
		}
		credOpt = append(credOpt, provisioning.WithCredential(
			provisioning.LookupCredential(c.CredentialFile, credDir, c.CredentialName, defaultCredentialFile)))
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
		provisioning.WithAllowInsecureHTTP(c.AllowInsecureHTTP),
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
	p, err := provisioning.NewProvider(c.Profile, append(opts, extra...)...)
	return p, credPath, err
}
