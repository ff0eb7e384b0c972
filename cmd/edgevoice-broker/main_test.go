package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgevoice/edgevoice/internal/cli/clitest"
)

const modulePath = "github.com/edgevoice/edgevoice"

// TestCLIConventions: every command of edgevoice-broker follows the convention.
func TestCLIConventions(t *testing.T) {
	clitest.CheckConventions(t, app, []string{"add-device", "broker", "check-config", "list-devices", "remove-device", "version"})
	clitest.CheckArgCount(t, app, "add-device")
	clitest.CheckArgCount(t, app, "add-device", "a", "b")
	clitest.CheckArgCount(t, app, "remove-device")
	clitest.CheckArgCount(t, app, "list-devices", "x")
	clitest.CheckArgCount(t, app, "broker", "x")
}

// TestDeviceCommands: add, list and remove a device record, with the records directory
// from the config named by $EDGEVOICE_CONFIG and the flags after the name.
func TestDeviceCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "broker.toml")
	if err := os.WriteFile(cfg, []byte("[broker]\ndevices_dir = \""+filepath.Join(dir, "devices")+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"EDGEVOICE_CONFIG": cfg}
	r := clitest.Run(t, app, env, "add-device", "kitchen")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "evd_") || !strings.Contains(r.Stderr, "shown ONCE") {
		t.Fatalf("add-device: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "devices", "kitchen.json")); err != nil {
		t.Errorf("the record is not in the config's devices_dir: %v", err)
	}
	other := filepath.Join(dir, "other")
	if r := clitest.Run(t, app, env, "add-device", "hall", "-devices", other); r.Code != 0 {
		t.Fatalf("add-device hall -devices: exit %d, stderr %q", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(other, "hall.json")); err != nil {
		t.Errorf("-devices after the name was ignored: %v", err)
	}
	if r := clitest.Run(t, app, env, "list-devices"); r.Code != 0 || !strings.HasPrefix(r.Stdout, "kitchen ") || strings.Contains(r.Stdout, "hall") {
		t.Errorf("list-devices: exit %d, stdout %q", r.Code, r.Stdout)
	}
	if r := clitest.Run(t, app, env, "remove-device", "kitchen"); r.Code != 0 {
		t.Errorf("remove-device: exit %d, stderr %q", r.Code, r.Stderr)
	}
	if r := clitest.Run(t, app, env, "list-devices"); r.Code != 0 || r.Stdout != "" {
		t.Errorf("list-devices after remove: exit %d, stdout %q", r.Code, r.Stdout)
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
