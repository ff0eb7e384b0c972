package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/edgevoice/edgevoice/emulator"
)

// buildBinary builds ./cmd/edgevoice into a temporary directory as name, with the
// build tags and extra environment given (e.g. CGO_ENABLED=0), and returns its path.
func buildBinary(t *testing.T, name, tags string, env ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-tags", tags, "-o", bin, "./cmd/edgevoice")
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
