package deb

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeBin writes executable shell scripts named after the keys of cmds into a new
// directory and returns it, for the front of PATH.
func fakeBin(t *testing.T, cmds map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range cmds {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// script runs a maintainer script with args and env (added to a minimal environment)
// and returns its exit status and combined output.
func script(t *testing.T, name string, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command("/bin/sh", append([]string{name}, args...)...)
	cmd.Env = append([]string{"LC_ALL=C"}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		t.Fatalf("%s: %v", name, err)
	}
	return 0, string(out)
}

// TestPreinstRefusesARMv6: the armhf package stops on ARMv6 CPUs (whose /proc/cpuinfo
// says "CPU architecture: 7") and installs on ARMv7 and ARMv8 boards.
func TestPreinstRefusesARMv6(t *testing.T) {
	for _, tc := range []struct {
		cpuinfo, machine, arch string
		action                 string
		refuse                 bool
		why                    string
	}{
		{"pi-zero-w", "armv6l", "armhf", "install", true, "uname -m is armv6l"},
		{"pi-1-b-plus", "armv6l", "armhf", "upgrade", true, "uname -m is armv6l"},
		// the model name alone (a kernel that says armv7l for an ARM11, or a container)
		{"pi-zero-w", "armv7l", "armhf", "install", true, `"ARMv6-compatible processor rev 7 (v6l)"`},
		{"armv5-arm926", "armv7l", "armhf", "install", true, "CPU architecture: 5TEJ"},
		{"pi-2-b", "armv7l", "armhf", "install", false, ""},
		{"pi-zero-2-w-32bit", "armv7l", "armhf", "install", false, ""},
		{"pi-4-arm64-kernel", "aarch64", "armhf", "install", false, ""},
		{"pi-4-arm64-kernel", "aarch64", "arm64", "install", false, ""},
		{"x86_64", "x86_64", "amd64", "install", false, ""},
		// only armhf is checked; other actions pass
		{"pi-zero-w", "armv6l", "arm64", "install", false, ""},
		{"pi-zero-w", "armv6l", "armhf", "abort-upgrade", false, ""},
	} {
		env := []string{
			"DPKG_MAINTSCRIPT_ARCH=" + tc.arch,
			"EDGEVOICE_CPUINFO=testdata/cpuinfo/" + tc.cpuinfo,
			"EDGEVOICE_MACHINE=" + tc.machine,
			"PATH=/usr/bin:/bin",
		}
		code, out := script(t, "preinst", env, tc.action)
		name := tc.cpuinfo + "/" + tc.machine + "/" + tc.arch + "/" + tc.action
		switch {
		case tc.refuse && code == 0:
			t.Errorf("%s: preinst exited 0, want a refusal", name)
		case !tc.refuse && code != 0:
			t.Errorf("%s: preinst exited %d, want 0:\n%s", name, code, out)
		case tc.refuse && (!strings.Contains(out, "older than ARMv7") || !strings.Contains(out, tc.why) || !strings.Contains(out, "Zero 2 W")):
			t.Errorf("%s: the refusal does not say why (%q) and what runs it:\n%s", name, tc.why, out)
		case !tc.refuse && out != "":
			t.Errorf("%s: preinst printed %q", name, out)
		}
	}

	// The ARM11 part number on its own (no model name, the architecture line says 7).
	f := filepath.Join(t.TempDir(), "cpuinfo")
	if err := os.WriteFile(f, []byte("CPU implementer\t: 0x41\nCPU architecture: 7\nCPU part\t: 0xb76\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := script(t, "preinst", []string{"DPKG_MAINTSCRIPT_ARCH=armhf", "EDGEVOICE_CPUINFO=" + f, "EDGEVOICE_MACHINE=armv7l", "PATH=/usr/bin:/bin"}, "install")
	if code == 0 || !strings.Contains(out, "CPU part 0xb76") {
		t.Errorf("ARM11 by part number: exit %d, output %q; want a refusal naming the part", code, out)
	}
	// Installing into another root says nothing about the CPU that will run it.
	code, out = script(t, "preinst", []string{"DPKG_MAINTSCRIPT_ARCH=armhf", "DPKG_ROOT=/tmp/x", "EDGEVOICE_MACHINE=armv6l", "PATH=/usr/bin:/bin"}, "install")
	if code != 0 {
		t.Errorf("with DPKG_ROOT: exit %d: %s", code, out)
	}
}

// systemdFakes are the commands the postinst and postrm call, each logging its
// arguments to $LOG; deb-systemd-helper was-enabled answers from $WAS_ENABLED (the
// units that were enabled, or had no state yet: a first installation).
var systemdFakes = map[string]string{
	"deb-systemd-helper": `echo "deb-systemd-helper $*" >>"$LOG"
if [ "$1" = --quiet ]; then shift; fi
if [ "$1" = was-enabled ]; then
	case " $WAS_ENABLED " in *" $2 "*) exit 0 ;; esac
	exit 1
fi`,
	"deb-systemd-invoke": `echo "deb-systemd-invoke $*" >>"$LOG"`,
	"systemctl":          `echo "systemctl $*" >>"$LOG"`,
	"systemd-sysusers":   `echo "systemd-sysusers $*" >>"$LOG"`,
	"systemd-tmpfiles":   `echo "systemd-tmpfiles $*" >>"$LOG"`,
	"udevadm":            `echo "udevadm $*" >>"$LOG"`,
}

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// TestPostinstWasEnabled: the first installation enables both units; an upgrade enables
// only the units that were enabled and keeps an admin's `systemctl disable`.
func TestPostinstWasEnabled(t *testing.T) {
	bin := fakeBin(t, systemdFakes)
	for _, tc := range []struct {
		name        string
		args        []string
		wasEnabled  string
		enabled     []string
		updateState []string
	}{
		{"first install", []string{"configure", ""}, "edgevoice.service edgevoice-provisioning.service",
			[]string{"edgevoice-provisioning.service", "edgevoice.service"}, nil},
		{"upgrade, edgevoice disabled by the admin", []string{"configure", "0.1.0"}, "edgevoice-provisioning.service",
			[]string{"edgevoice-provisioning.service"}, []string{"edgevoice.service"}},
		{"upgrade, both disabled", []string{"configure", "0.1.0"}, "",
			nil, []string{"edgevoice-provisioning.service", "edgevoice.service"}},
	} {
		log := filepath.Join(t.TempDir(), "log")
		env := []string{"PATH=" + bin + ":/usr/bin:/bin", "LOG=" + log, "WAS_ENABLED=" + tc.wasEnabled}
		code, out := script(t, "postinst", env, tc.args...)
		if code != 0 {
			t.Errorf("%s: postinst exited %d: %s", tc.name, code, out)
			continue
		}
		calls := readLog(t, log)
		for _, u := range []string{"edgevoice-provisioning.service", "edgevoice.service"} {
			en := strings.Contains(calls, "deb-systemd-helper enable "+u+"\n")
			up := strings.Contains(calls, "deb-systemd-helper update-state "+u+"\n")
			wantEn, wantUp := contains(tc.enabled, u), contains(tc.updateState, u)
			if en != wantEn || up != wantUp {
				t.Errorf("%s: %s: enable %v (want %v), update-state %v (want %v); calls:\n%s", tc.name, u, en, wantEn, up, wantUp, calls)
			}
			if !strings.Contains(calls, "deb-systemd-helper unmask "+u+"\n") {
				t.Errorf("%s: %s is not unmasked (earlier packages masked it on remove); calls:\n%s", tc.name, u, calls)
			}
		}
		if !strings.Contains(calls, "systemd-sysusers edgevoice.conf\n") || !strings.Contains(calls, "systemd-tmpfiles --create edgevoice.conf\n") {
			t.Errorf("%s: users and directories not created; calls:\n%s", tc.name, calls)
		}
		// Starting and restarting need /run/systemd/system; the lab checks them under systemd.
		if strings.Contains(calls, "deb-systemd-invoke start") && len(tc.args) > 1 && tc.args[1] != "" {
			t.Errorf("%s: an upgrade starts units (want try-restart only); calls:\n%s", tc.name, calls)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestPostrmPurge: purge deletes the state directories and the credential, keeps an
// admin's drop-ins; remove deletes nothing.
func TestPostrmPurge(t *testing.T) {
	bin := fakeBin(t, systemdFakes)
	for _, action := range []string{"remove", "purge"} {
		root := t.TempDir()
		files := []string{
			"var/lib/edgevoice/x", "var/lib/edgevoice-keys/key.json", "run/edgevoice/keys.sock",
			"etc/edgevoice/credential", "etc/edgevoice/edgevoice.toml.d/10-board.toml",
		}
		for _, f := range files {
			p := filepath.Join(root, f)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		log := filepath.Join(t.TempDir(), "log")
		code, out := script(t, "postrm", []string{"PATH=" + bin + ":/usr/bin:/bin", "LOG=" + log, "DPKG_ROOT=" + root}, action)
		if code != 0 {
			t.Fatalf("postrm %s exited %d: %s", action, code, out)
		}
		gone := map[string]bool{}
		for _, f := range files {
			_, err := os.Stat(filepath.Join(root, f))
			gone[f] = os.IsNotExist(err)
		}
		calls := readLog(t, log)
		switch action {
		case "remove":
			for f, g := range gone {
				if g {
					t.Errorf("remove deleted %s", f)
				}
			}
			if strings.Contains(calls, "mask") || strings.Contains(calls, "purge") {
				t.Errorf("remove masks or purges units (debhelper 13.10 and later do not); calls:\n%s", calls)
			}
		case "purge":
			for _, f := range files[:4] {
				if !gone[f] {
					t.Errorf("purge left %s", f)
				}
			}
			if gone[files[4]] {
				t.Errorf("purge deleted the admin's drop-in %s", files[4])
			}
			if !strings.Contains(calls, "deb-systemd-helper purge edgevoice.service edgevoice-provisioning.service") {
				t.Errorf("purge does not forget the units' enable state; calls:\n%s", calls)
			}
		}
	}
}
