package provcmd

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"

	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/realtime"
)

// NewProvider turns [provisioning] into a provider and returns it with the path of the
// credential file. It reads the credential once to refuse a bad file at start;
// afterwards it is re-read on each mint.
func NewProvider(c *config.Provisioning, env *cli.Env, log *slog.Logger) (provisioning.Provider, string, error) {
	credDir := env.Env("CREDENTIALS_DIRECTORY")
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
