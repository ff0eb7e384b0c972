package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/provisioning/keyd"
	"github.com/edgevoice/edgevoice/realtime"
)

// TestProvisiondBuildDeps: the key-daemon build (tag provisiond, what
// edgevoice-provisioning.service runs) links none of the WebRTC, audio, codec or GPIO
// code, so it builds without cgo.
func TestProvisiondBuildDeps(t *testing.T) {
	cmd := exec.Command("go", "list", "-tags", "provisiond", "-deps", "./cmd/edgevoice")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -tags provisiond: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 {
		t.Fatalf("go list found only %d deps", len(deps))
	}
	for _, d := range deps {
		rel := strings.TrimPrefix(d, modulePath+"/")
		for _, bad := range []string{"github.com/pion/", "github.com/gen2brain/malgo", "gopkg.in/hraban/", "periph.io/", "hw/", "appliance", "emulator"} {
			if strings.HasPrefix(d, bad) || strings.HasPrefix(rel, bad) || rel == "rtc" {
				t.Errorf("the provisiond build depends on %s", d)
			}
		}
	}
}

// TestProvisiondBinary runs the key-daemon build as a real process: it has the
// provisioning commands and only those, decodes the full example config strictly
// (unknown keys in sections it does not use are still errors with file:line), and
// serves keys minted by the emulator's broker endpoint on its socket.
func TestProvisiondBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := buildBinary(t, "edgevoice-provisiond", "provisiond", "CGO_ENABLED=0")
	help, _ := exec.Command(bin, "help").CombinedOutput()
	for _, c := range []string{"provisiond", "check", "keys", "broker", "check-config", "version"} {
		if !strings.Contains(string(help), "\n  "+c+" ") {
			t.Errorf("the provisiond build lacks %q:\n%s", c, help)
		}
	}
	for _, c := range []string{"run", "demo", "devices", "emulator", "pins"} {
		if strings.Contains(string(help), "\n  "+c+" ") {
			t.Errorf("the provisiond build has %q:\n%s", c, help)
		}
	}
	if out, err := exec.Command(bin, "check-config", "../../configs/edgevoice.toml").CombinedOutput(); err != nil {
		t.Errorf("check-config configs/edgevoice.toml: %v\n%s", err, out)
	}
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.toml")
	if err := os.WriteFile(broken, []byte("[audio]\ncapture_device = \"default\"\ncapture_devcie = \"hw:1\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "check-config", broken).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "broken.toml:3:") || !strings.Contains(string(out), "capture_devcie") {
		t.Errorf("a misspelt [audio] key: err %v, output:\n%s", err, out)
	}

	srv := startEmulator(t)
	cred := filepath.Join(dir, "credential")
	if err := os.WriteFile(cred, []byte(srv.DeviceToken()), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "keys.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var logs syncBuffer
	d := exec.CommandContext(ctx, bin, "provisiond", "-config", "", "-profile", "broker", "-broker-url", srv.URL(),
		"-credential-file", cred, "-socket", sock, "-allow-users", fmt.Sprint(os.Getuid()))
	d.Stdout, d.Stderr = &logs, &logs
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Process.Kill(); _ = d.Wait() }()
	c := keyd.NewClient(sock)
	defer c.Close()
	var key realtime.Key
	for {
		gctx, gcancel := context.WithTimeout(ctx, time.Second)
		key, err = c.Get(gctx, 30*time.Second)
		gcancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no key from the provisiond build: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if key.Value == "" || key.Profile != "broker" || srv.Stats().MintsOK < 1 {
		t.Errorf("key %+v, emulator mints %d", key, srv.Stats().MintsOK)
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.Process.Pid)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmRSS") || strings.HasPrefix(l, "RssFile") {
				t.Log(strings.Join(strings.Fields(l), " "))
			}
		}
	}
	_ = d.Process.Signal(os.Interrupt)
	if err := d.Wait(); err != nil {
		t.Errorf("provisiond after SIGINT: %v\n%s", err, logs.String())
	}
	if strings.Contains(logs.String(), srv.DeviceToken()) || strings.Contains(logs.String(), key.Value) {
		t.Error("a token or key appears in the daemon's logs")
	}
}
