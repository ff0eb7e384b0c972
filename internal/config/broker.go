package config

import (
	"net"
	"strings"
	"time"
)

// Broker is the [broker] section: the reference key broker (`edgevoice-broker`) a
// fleet operator runs on a server. Its upstream (profile, resource, deployment, the model
// API key as credential, session defaults) is the [provisioning] section of the same file.
type Broker struct {
	// Address to listen on, e.g. ":8443" with TLS, or "127.0.0.1:8080" behind a TLS
	// reverse proxy.
	Listen string `toml:"listen"`
	// PEM certificate (chain) for HTTPS. Empty: plain HTTP, only behind a proxy that
	// terminates TLS.
	TLSCertFile string `toml:"tls_cert_file"`
	// PEM private key of tls_cert_file.
	TLSKeyFile string `toml:"tls_key_file"`
	// PEM CA that signs device client certificates (needs tls_cert_file). A device that
	// presents a certificate it signed, with a device record's name as common name, needs
	// no token. Empty: tokens only.
	ClientCAFile string `toml:"client_ca_file"`
	// The device store: the path of a SQLite file (one broker, nothing to run), or a
	// postgres:// URL that N broker replicas share (put a password in ~/.pgpass or
	// PGPASSFILE rather than here). `edgevoice-broker device add NAME` adds a device.
	Database string `toml:"database"`
	// The device directory of brokers before the database store (one NAME.json each);
	// `edgevoice-broker import-dir` imports it. Not read by the broker any more.
	DevicesDir string `toml:"devices_dir"`
	// Keys each device may get per minute (counted across all replicas).
	RatePerMinute float64 `toml:"rate_per_minute"`
	// Keys a device may get in a burst above the rate.
	RateBurst int `toml:"rate_burst"`
	// Requests each client IP address may make per minute, authenticated or not
	// (counted across all replicas). A fleet behind one NAT shares one address.
	ClientRatePerMinute float64 `toml:"client_rate_per_minute"`
	// Requests a client address may make in a burst above its rate.
	ClientRateBurst int `toml:"client_rate_burst"`
	// Pin the session defaults of [provisioning] (instructions, voice, tools): devices
	// cannot change them. false lets a device send its own.
	PinSession bool `toml:"pin_session"`
	// Longest time to read a request's headers (slow clients are dropped).
	ReadHeaderTimeout Duration `toml:"read_header_timeout"`
}

func (c *Broker) setDefaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.DevicesDir == "" {
		c.DevicesDir = "/var/lib/edgevoice-broker/devices"
	}
	if c.Database == "" {
		c.Database = "/var/lib/edgevoice-broker/broker.db"
	}
	if c.ClientRatePerMinute == 0 {
		c.ClientRatePerMinute = 600
	}
	if c.ClientRateBurst == 0 {
		c.ClientRateBurst = 200
	}
	if c.RatePerMinute == 0 {
		c.RatePerMinute = 6
	}
	if c.RateBurst == 0 {
		c.RateBurst = 3
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = Duration(10 * time.Second)
	}
}

func (c *Broker) validate(p *sectionProblems) {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		p.add("listen", "%q: want HOST:PORT, e.g. \":8443\" or \"127.0.0.1:8080\"", c.Listen)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		p.add("tls_key_file", "set both tls_cert_file and tls_key_file, or neither")
	}
	if c.ClientCAFile != "" && c.TLSCertFile == "" {
		p.add("client_ca_file", "client certificates need HTTPS: set tls_cert_file and tls_key_file too")
	}
	if c.RatePerMinute <= 0 || c.RatePerMinute > 6000 {
		p.add("rate_per_minute", "%g out of range (>0 to 6000)", c.RatePerMinute)
	}
	if c.RateBurst < 1 || c.RateBurst > 1000 {
		p.add("rate_burst", "%d out of range (1 to 1000)", c.RateBurst)
	}
	if databaseHasPassword(c.Database) {
		p.add("database", "holds a password, which check-config and logs would show: put it in ~/.pgpass or the file PGPASSFILE names (mode 0600), or use peer or certificate authentication")
	}
	if !(c.ClientRatePerMinute > 0 && c.ClientRatePerMinute <= 1e6) {
		p.add("client_rate_per_minute", "%g out of range (>0 to 1000000)", c.ClientRatePerMinute)
	}
	if c.ClientRateBurst < 1 || c.ClientRateBurst > 1e6 {
		p.add("client_rate_burst", "%d out of range (1 to 1000000)", c.ClientRateBurst)
	}
	if c.ReadHeaderTimeout.D() <= 0 {
		p.add("read_header_timeout", "must be positive")
	}
}

// databaseHasPassword reports whether a postgres:// database URL carries a password
// (user:password@ or a password= parameter).
func databaseHasPassword(db string) bool {
	rest, ok := strings.CutPrefix(db, "postgres://")
	if !ok {
		if rest, ok = strings.CutPrefix(db, "postgresql://"); !ok {
			return false
		}
	}
	host, _, _ := strings.Cut(rest, "/")
	if at := strings.LastIndex(host, "@"); at >= 0 && strings.Contains(host[:at], ":") {
		return true
	}
	_, query, _ := strings.Cut(rest, "?")
	for _, kv := range strings.Split(query, "&") {
		if strings.HasPrefix(kv, "password=") {
			return true
		}
	}
	return false
}
