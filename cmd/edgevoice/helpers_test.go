package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/cli/clitest"
)

// Main runs edgevoice's command line in-process.
func Main(ctx context.Context, args []string, env *cli.Env) int { return app.Main(ctx, args, env) }

// buildBinary builds the main package pkg (relative to the module root, such as
// "./cmd/edgevoice") into a temporary directory, with the build tags and extra
// environment given (e.g. CGO_ENABLED=0), and returns its path.
func buildBinary(t *testing.T, pkg, tags string, env ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-tags", tags, "-o", bin, pkg)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags %s: %v\n%s", tags, err, out)
	}
	return bin
}

// startEmulator starts the local realtime emulator on loopback; the test's cleanup
// closes it.
func startEmulator(t *testing.T) *emulator.Server {
	t.Helper()
	srv, err := emulator.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// TestCLIConventions: every command of edgevoice follows the convention of package cli.
func TestCLIConventions(t *testing.T) {
	clitest.CheckConventions(t, app, []string{"aec", "check-config", "ctl", "demo", "devices", "emulator", "levels", "pins", "play", "record",
		"run", "sim", "smoketest", "status", "tools", "version"})
	for _, args := range [][]string{{"run", "x"}, {"status", "x"}, {"demo", "x"}, {"devices", "x"}, {"levels", "x"}, {"record"},
		{"record", "a.wav", "b.wav"}, {"play"}, {"pins", "x"}, {"sim", "x"}, {"emulator", "x"}, {"record", "a.wav", "-seconds", "0"},
		{"levels", "-interval", "0s"}, {"emulator", "-listen", "0.0.0.0:1"}, {"check-config", "a", "b"}} {
		clitest.CheckArgCount(t, app, args[0], args[1:]...)
	}
}

// TestEnvConfig: every command that reads the config takes it from $EDGEVOICE_CONFIG.
func TestEnvConfig(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(bad, []byte("[audio]\ncapture_format = \"s24\"\n[board]\nkind = \"pi\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"EDGEVOICE_CONFIG": bad}
	for _, args := range [][]string{{"run"}, {"check-config"}, {"devices"}, {"levels"}, {"record", filepath.Join(t.TempDir(), "x.wav")},
		{"play", "x.wav"}, {"sim"}} {
		r := clitest.Run(t, app, env, args...)
		if r.Code != 1 || !strings.Contains(r.Stderr, bad+`:2:1: key "audio.capture_format"`) || !strings.Contains(r.Stderr, bad+`:4:1: key "board.kind"`) {
			t.Errorf("%s with EDGEVOICE_CONFIG: exit %d, stderr %q", args[0], r.Code, r.Stderr)
		}
	}
}
