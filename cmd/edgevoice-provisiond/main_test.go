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

// TestProvisiondBuildDeps: the key daemon (what edgevoice-provisioning.service runs)
// links none of the WebRTC, audio, codec or GPIO code and not the broker, so it builds
// without cgo.
func TestProvisiondBuildDeps(t *testing.T) {
	deps := goListDeps(t, "./cmd/edgevoice-provisiond", "CGO_ENABLED=0")
	for _, d := range deps {
		rel := strings.TrimPrefix(d, modulePath+"/")
		for _, bad := range []string{"github.com/pion/", "github.com/gen2brain/malgo", "gopkg.in/hraban/", "periph.io/",
			"hw/", "appliance", "rtc/", "emulator", "internal/brokercmd", "provisioning/broker"} {
			if strings.HasPrefix(d, bad) || strings.HasPrefix(rel, bad) || rel == "rtc" {
				t.Errorf("edgevoice-provisiond depends on %s", d)
			}
		}
	}
}

// TestProvisiondHasNoBrokerServer checks the linked binary itself, beside the import
// rules: no symbol of the broker server or its device store is in it.
func TestProvisiondHasNoBrokerServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := buildBinary(t, "./cmd/edgevoice-provisiond", "CGO_ENABLED=0")
	out, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	syms := string(out)
	if !strings.Contains(syms, "provisioning/keyd.NewDaemon") {
		t.Fatalf("go tool nm lists no provisioning/keyd.NewDaemon: the symbol check would pass vacuously")
	}
	for _, bad := range []string{"provisioning/broker.", "internal/brokercmd."} {
		if strings.Contains(syms, bad) {
			t.Errorf("edgevoice-provisiond links %s (the broker server)", bad)
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
	bin := buildBinary(t, "./cmd/edgevoice-provisiond", "CGO_ENABLED=0")
	help, _ := exec.Command(bin, "help").CombinedOutput()
	for _, c := range []string{"provisiond", "check", "keys", "check-config", "version"} {
		if !strings.Contains(string(help), "\n  "+c+" ") {
			t.Errorf("edgevoice-provisiond lacks %q:\n%s", c, help)
		}
	}
	for _, c := range []string{"run", "demo", "devices", "emulator", "pins", "broker"} {
		if strings.Contains(string(help), "\n  "+c+" ") {
			t.Errorf("edgevoice-provisiond has %q:\n%s", c, help)
		}
	}
	for _, f := range []string{"../../configs/edgevoice.toml", "../../configs/edgevoice.toml.example"} {
		if out, err := exec.Command(bin, "check-config", f).CombinedOutput(); err != nil {
			t.Errorf("check-config %s: %v\n%s", f, err, out)
		}
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
			t.Fatalf("no key from edgevoice-provisiond: %v\n%s", err, logs.String())
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

// TestSameConfigVerdicts: edgevoice check-config, edgevoice-provisiond check-config and
// edgevoice-provisiond check accept and reject exactly the same files (one validation,
// in internal/config), and no secret in a refused file reaches the output.
func TestSameConfigVerdicts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries")
	}
	const secret = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
	prov := buildBinary(t, "./cmd/edgevoice-provisiond", "CGO_ENABLED=0")
	ev := buildBinary(t, "./cmd/edgevoice")
	dir := t.TempDir()
	files := map[string]string{
		"empty":        "",
		"run only":     "[appliance]\ntalk_mode = \"toggle\"\n[provisioning]\nsocket = \"/tmp/k.sock\"\n",
		"broker":       "[provisioning]\nbroker_url = \"https://keys.example.com\"\ncredential_file = \"/nonexistent/credential\"\n",
		"audio format": "[audio]\ncapture_format = \"s24\"\n",
		"mixer":        "[audio]\ncapture_channels = 2\nmixer_channels = [2]\n",
		"rtc":          "[rtc]\nopus_rate = 44100\n",
		"session":      "[session]\nturn_detection = \"vad\"\n",
		"no url":       "[provisioning]\nprofile = \"broker\"\ncredential_file = \"/etc/edgevoice/credential\"\n",
		"azure":        "[provisioning]\nprofile = \"azure\"\n",
		"http":         "[provisioning]\nbroker_url = \"http://keys.example.com\"\n",
		"key as file":  "[provisioning]\nbroker_url = \"https://keys.example.com\"\ncredential_file = \"" + secret + "\"\n",
		"unknown key":  "[audio]\ncapture_devcie = \"hw:1\"\n",
	}
	for name, doc := range files {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".toml")
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		evOut, evErr := exec.Command(ev, "check-config", "-q", path).CombinedOutput()
		provOut, provErr := exec.Command(prov, "check-config", "-q", "-config", path).CombinedOutput()
		// check fails later for a good file (no credential, no network): only the config
		// step is compared.
		checkOut, _ := exec.Command(prov, "check", "-config", path).CombinedOutput()
		checkRejects := strings.Contains(string(checkOut), "config ........ FAILED")
		wantOK := name == "empty" || name == "run only" || name == "broker"
		if (evErr == nil) != wantOK {
			t.Errorf("%s: edgevoice check-config: %v, want accepted %v", name, evErr, wantOK)
		}
		if (evErr == nil) != (provErr == nil) || (evErr == nil) == checkRejects {
			t.Errorf("%s: edgevoice check-config %v, edgevoice-provisiond check-config %v, check rejects the config %v\n%s\n%s\n%s",
				name, evErr, provErr, checkRejects, evOut, provOut, checkOut)
		}
		if evErr != nil && !strings.Contains(string(evOut), path+":") {
			t.Errorf("%s: the error has no FILE:LINE:COL:\n%s", name, evOut)
		}
		for _, out := range [][]byte{evOut, provOut, checkOut} {
			if strings.Contains(string(out), "abcdefghij") {
				t.Errorf("%s: the output echoes the secret:\n%s", name, out)
			}
		}
	}
}
