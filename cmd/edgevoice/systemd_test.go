package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const systemdDir = "../../systemd"

var units = []string{"edgevoice.service", "edgevoice-provisioning.service"}

// needTool returns the path of a tool, skipping the test off CI when it is missing
// (build/install-deps.sh installs it; CI must never skip).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found; build/install-deps.sh installs it", name)
		}
		t.Skipf("%s not found (run build/install-deps.sh)", name)
	}
	return p
}

// verifyUnits copies the units into a temporary directory, points ExecStart at a stub
// that exists (systemd-analyze checks that the command is executable), applies edit to
// each file, and returns what `systemd-analyze verify` printed and whether it exited 0.
func verifyUnits(t *testing.T, edit func(name, text string) string) (string, bool) {
	t.Helper()
	tool := needTool(t, "systemd-analyze")
	dir := t.TempDir()
	stub := filepath.Join(dir, "edgevoice")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, u := range units {
		b, err := os.ReadFile(filepath.Join(systemdDir, u))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(strings.ReplaceAll(string(b), "/usr/bin/edgevoice-provisiond", stub), "/usr/bin/edgevoice", stub)
		if edit != nil {
			text = edit(u, text)
		}
		p := filepath.Join(dir, u)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	cmd := exec.Command(tool, append([]string{"verify", "--man=no"}, paths...)...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err == nil
}

// TestSystemdVerify: `systemd-analyze verify` accepts every unit without a single
// warning (it exits 0 on unknown keys and bad values, so any output is a failure).
func TestSystemdVerify(t *testing.T) {
	out, ok := verifyUnits(t, nil)
	if !ok || out != "" {
		t.Fatalf("systemd-analyze verify (exit ok=%v):\n%s", ok, out)
	}
	// The check can fail: a unit with a typo and a bad value is reported.
	out, _ = verifyUnits(t, func(name, text string) string {
		if name != "edgevoice.service" {
			return text
		}
		text = strings.Replace(text, "\nType=notify", "\nTyp=notify", 1)
		return strings.Replace(text, "\nRestart=on-failure", "\nRestart=sometimes", 1)
	})
	if !strings.Contains(out, "Unknown key 'Typ'") || !strings.Contains(out, "sometimes") {
		t.Errorf("systemd-analyze verify did not report the broken unit:\n%s", out)
	}
}

// unitKeys reads a unit file into section.key -> values.
func unitKeys(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string][]string{}
	sec := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "["):
			sec = strings.Trim(l, "[]")
		default:
			k, v, _ := strings.Cut(l, "=")
			m[sec+"."+k] = append(m[sec+"."+k], v)
		}
	}
	return m
}

// TestSystemdUnitPolicy: the units say what the product promises (notify + watchdog,
// dedicated users, hardening, devices, credential handling, ordering).
func TestSystemdUnitPolicy(t *testing.T) {
	want := map[string]map[string]string{
		"edgevoice.service": {
			"Service.Type": "notify", "Service.WatchdogSec": "20s", "Service.Restart": "on-failure",
			"Service.User": "edgevoice", "Service.SupplementaryGroups": "audio gpio spi",
			"Service.RuntimeDirectory": "edgevoice", "Service.ConfigurationDirectory": "edgevoice",
			"Service.NoNewPrivileges": "yes", "Service.ProtectSystem": "strict", "Service.ProtectHome": "yes",
			"Service.PrivateTmp": "yes", "Service.RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
			"Service.DevicePolicy": "closed", "Service.DeviceAllow": "char-alsa rw|char-gpiochip rw|char-spi rw",
			"Service.EnvironmentFile": "-/etc/default/edgevoice", "Unit.After": "edgevoice-provisioning.service",
			"Install.WantedBy": "multi-user.target", "Service.ExecReload": "/bin/kill -HUP $MAINPID",
		},
		"edgevoice-provisioning.service": {
			"Service.Type": "notify", "Service.User": "edgevoice-keys", "Service.ExecReload": "/bin/kill -HUP $MAINPID",
			"Service.NoNewPrivileges": "yes", "Service.ProtectSystem": "strict", "Service.PrivateDevices": "yes",
			"Unit.Before": "edgevoice.service", "Service.ReadWritePaths": "/run/edgevoice",
		},
	}
	// The key daemon reads /etc/edgevoice/credential itself at every mint: LoadCredential=
	// would copy it once at start (a replaced credential unseen until a restart), and a
	// condition on the credential would keep an unconfigured device offline instead of
	// showing no-key.
	// Nor may it declare RuntimeDirectory=: systemd chowns a unit's runtime directory to
	// the unit's user at every start, so a restart of the key daemon took /run/edgevoice
	// (and control.sock) from the appliance (lab scenario 6).
	for k, v := range map[string]string{"Service.LoadCredential": "", "Unit.ConditionPathExists": "/etc/edgevoice/credential", "Service.RuntimeDirectory": ""} {
		for _, g := range unitKeys(t, filepath.Join(systemdDir, "edgevoice-provisioning.service"))[k] {
			if v == "" || g == v {
				t.Errorf("edgevoice-provisioning.service: %s=%s must go", k, g)
			}
		}
	}
	for unit, keys := range want {
		got := unitKeys(t, filepath.Join(systemdDir, unit))
		for k, v := range keys {
			for _, one := range strings.Split(v, "|") {
				found := false
				for _, g := range got[k] {
					if g == one || strings.Contains(" "+g+" ", " "+one+" ") {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: %s lacks %q (has %q)", unit, k, one, got[k])
				}
			}
		}
	}
}

// TestSysusersTmpfiles applies the sysusers.d and tmpfiles.d snippets to an empty root.
func TestSysusersTmpfiles(t *testing.T) {
	sysusers := needTool(t, "systemd-sysusers")
	tmpfiles := needTool(t, "systemd-tmpfiles")
	root := t.TempDir()
	sd, err := filepath.Abs(systemdDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sysusers, "--root="+root, filepath.Join(sd, "edgevoice.sysusers")).CombinedOutput(); err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	group, err := os.ReadFile(filepath.Join(root, "etc/group"))
	if err != nil {
		t.Fatal(err)
	}
	members := map[string]string{}
	for _, l := range strings.Split(string(group), "\n") {
		if f := strings.Split(l, ":"); len(f) == 4 {
			members[f[0]] = f[3]
		}
	}
	for g, want := range map[string]string{"audio": "edgevoice", "gpio": "edgevoice", "spi": "edgevoice", "edgevoice": "edgevoice-keys"} {
		if !strings.Contains(","+members[g]+",", ","+want+",") {
			t.Errorf("group %s members %q, want %s in it", g, members[g], want)
		}
	}
	if out, err := exec.Command(tmpfiles, "--root="+root, "--create", filepath.Join(sd, "edgevoice.tmpfiles")).CombinedOutput(); err != nil {
		t.Fatalf("systemd-tmpfiles: %v\n%s", err, out)
	}
	for dir, mode := range map[string]os.FileMode{"run/edgevoice": 0o770, "var/lib/edgevoice": 0o700, "var/lib/edgevoice-keys": 0o700} {
		st, err := os.Stat(filepath.Join(root, dir))
		if err != nil {
			t.Errorf("tmpfiles did not create /%s: %v", dir, err)
			continue
		}
		if st.Mode().Perm() != mode {
			t.Errorf("/%s mode %v, want %v", dir, st.Mode().Perm(), mode)
		}
	}
}
