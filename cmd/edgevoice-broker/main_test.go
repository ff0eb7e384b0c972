package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/edgevoice/edgevoice/internal/cli/clitest"
)

const modulePath = "github.com/edgevoice/edgevoice"

// TestCLIConventions: every command of edgevoice-broker follows the convention.
func TestCLIConventions(t *testing.T) {
	clitest.CheckConventions(t, app, []string{"broker", "check-config", "device", "import-dir", "version"})
	clitest.CheckArgCount(t, app, "device")
	clitest.CheckArgCount(t, app, "device", "add", "a", "b")
	clitest.CheckArgCount(t, app, "import-dir", "a", "b")
	clitest.CheckArgCount(t, app, "broker", "x")
}

// TestDeviceCommands: the device life cycle through `edgevoice-broker device …`, with the
// database from the config named by $EDGEVOICE_CONFIG and flags after the name, and
// import-dir of a legacy directory with a broken record.
func TestDeviceCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "broker.toml")
	db := filepath.Join(dir, "broker.db")
	if err := os.WriteFile(cfg, []byte("[broker]\ndatabase = \""+db+"\"\ndevices_dir = \""+filepath.Join(dir, "devices")+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"EDGEVOICE_CONFIG": cfg}
	r := clitest.Run(t, app, env, "device", "add", "kitchen")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "evd_") || !strings.Contains(r.Stderr, "shown ONCE") {
		t.Fatalf("device add: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the database is not the config's, mode 0600: %v %v", fi, err)
	}
	tok := strings.TrimSpace(r.Stdout)
	if data, _ := os.ReadFile(db); strings.Contains(string(data), tok) {
		t.Error("the token is in the database")
	}
	other := filepath.Join(dir, "other.db")
	if r := clitest.Run(t, app, env, "device", "add", "hall", "-database", other); r.Code != 0 {
		t.Fatalf("device add hall -database: exit %d, stderr %q", r.Code, r.Stderr)
	}
	if r := clitest.Run(t, app, env, "device", "list"); r.Code != 0 || !strings.Contains(r.Stdout, "kitchen  ") || strings.Contains(r.Stdout, "hall") {
		t.Errorf("device list: exit %d, stdout %q", r.Code, r.Stdout)
	}
	for _, op := range []string{"disable", "enable", "rotate"} {
		if r := clitest.Run(t, app, env, "device", op, "kitchen"); r.Code != 0 {
			t.Errorf("device %s: exit %d, stderr %q", op, r.Code, r.Stderr)
		}
	}
	if r := clitest.Run(t, app, env, "device", "show", "kitchen"); r.Code != 0 || !strings.Contains(r.Stdout, "state:        enabled") || !strings.Contains(r.Stdout, "old token until") {
		t.Errorf("device show: exit %d, stdout %q", r.Code, r.Stdout)
	}
	if r := clitest.Run(t, app, env, "device", "remove", "kitchen"); r.Code != 0 {
		t.Errorf("device remove: exit %d, stderr %q", r.Code, r.Stderr)
	}
	if r := clitest.Run(t, app, env, "device", "list"); r.Code != 0 || r.Stdout != "" {
		t.Errorf("device list after remove: exit %d, stdout %q", r.Code, r.Stdout)
	}
	r = clitest.Run(t, app, env, "device", "audit", "kitchen")
	if r.Code != 0 || !regexp.MustCompile(`(?s)removed.*rotated.*enabled.*disabled.*added`).MatchString(r.Stdout) {
		t.Errorf("device audit: exit %d, stdout %q", r.Code, r.Stdout)
	}
	if r := clitest.Run(t, app, env, "device", "frobnicate", "kitchen"); r.Code != 1 || !strings.Contains(r.Stderr, "unknown device operation") {
		t.Errorf("unknown op: exit %d, stderr %q", r.Code, r.Stderr)
	}
	if r := clitest.Run(t, app, env, "device", "show", "nosuch"); r.Code != 1 || !strings.Contains(r.Stderr, "no such device") {
		t.Errorf("show unknown: exit %d, stderr %q", r.Code, r.Stderr)
	}

	// the legacy directory: one good record, one broken
	devDir := filepath.Join(dir, "devices")
	os.Mkdir(devDir, 0o700)
	os.WriteFile(filepath.Join(devDir, "porch.json"), []byte(`{"name":"porch","token_sha256":"`+strings.Repeat("0a", 32)+`"}`), 0o600)
	os.WriteFile(filepath.Join(devDir, "attic.json"), []byte(`{"name":`), 0o600)
	r = clitest.Run(t, app, env, "import-dir")
	if r.Code != 1 || !strings.Contains(r.Stderr, "attic.json: skipped") || !strings.Contains(r.Stdout, "imported 1 of 2") {
		t.Errorf("import-dir: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	if r := clitest.Run(t, app, env, "device", "list"); !strings.Contains(r.Stdout, "porch") {
		t.Errorf("after import-dir: %q", r.Stdout)
	}
}

// TestBrokerBuildDeps: the broker is a server: no WebRTC, audio, codec or GPIO code.
func TestBrokerBuildDeps(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./cmd/edgevoice-broker")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 {
		t.Fatalf("go list found only %d deps", len(deps))
	}
	for _, d := range deps {
		rel := strings.TrimPrefix(d, modulePath+"/")
		for _, bad := range []string{"github.com/pion/", "github.com/gen2brain/malgo", "gopkg.in/hraban/", "periph.io/", "hw/", "appliance", "rtc/rtctest", "emulator"} {
			if strings.HasPrefix(d, bad) || strings.HasPrefix(rel, bad) || rel == "rtc" {
				t.Errorf("edgevoice-broker depends on %s", d)
			}
		}
	}
}
