package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgevoice/edgevoice/internal/cli/clitest"
)

// TestCLIConventions: every command of edgevoice-provisiond follows the convention.
func TestCLIConventions(t *testing.T) {
	clitest.CheckConventions(t, app, []string{"check", "check-config", "keys", "provisiond", "version"})
	clitest.CheckArgCount(t, app, "keys")
	clitest.CheckArgCount(t, app, "keys", "status", "get")
	clitest.CheckArgCount(t, app, "keys", "-socket", "/nonexistent", "lock")
	clitest.CheckArgCount(t, app, "provisiond", "extra")
	clitest.CheckArgCount(t, app, "check", "extra")
}

// TestEnvConfig: provisiond and check read $EDGEVOICE_CONFIG.
func TestEnvConfig(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(bad, []byte("[provisioning]\npolicy = \"lazy\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"EDGEVOICE_CONFIG": bad}
	for _, cmd := range []string{"provisiond", "check", "check-config"} {
		r := clitest.Run(t, app, env, cmd)
		if r.Code != 1 || !strings.Contains(r.Stderr, bad+`:2:1: key "provisioning.policy"`) {
			t.Errorf("%s with EDGEVOICE_CONFIG=%s: exit %d, stderr %q", cmd, bad, r.Code, r.Stderr)
		}
	}
}
