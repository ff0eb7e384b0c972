package config

import (
	"strings"
	"testing"
)

// TestBrokerDatabase: a password in [broker] database is refused (check-config would
// print it) without echoing it; a SQLite path or a URL without one is accepted; the
// client rate limits refuse NaN.
func TestBrokerDatabase(t *testing.T) {
	const secret = "S3cretPassw0rd"
	for _, db := range []string{"postgres://broker:" + secret + "@db.example/edgevoice", "postgresql://db.example/edgevoice?sslmode=require&password=" + secret} {
		_, err := Decode("x.toml", []byte("[broker]\ndatabase = \""+db+"\"\n"))
		if err == nil || !strings.Contains(err.Error(), "pgpass") || strings.Contains(err.Error(), secret) {
			t.Errorf("%s: %v", db, err)
		}
	}
	for _, db := range []string{"/var/lib/edgevoice-broker/broker.db", "postgres://broker@db.example/edgevoice?sslmode=verify-full", "postgres:///edgevoice?host=/run/postgresql"} {
		if _, err := Decode("x.toml", []byte("[broker]\ndatabase = \""+db+"\"\n")); err != nil {
			t.Errorf("%s: %v", db, err)
		}
	}
	if _, err := Decode("x.toml", []byte("[broker]\nclient_rate_per_minute = nan\n")); err == nil || !strings.Contains(err.Error(), "client_rate_per_minute") {
		t.Errorf("NaN client rate: %v", err)
	}
}
