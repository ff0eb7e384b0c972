package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// TestUnitHardening (issue 17): the key daemon's unit has a watchdog (the daemon pings
// it), /proc limited to processes, no link-local or multicast traffic; the appliance's
// hides other users' processes. With systemd-analyze, each unit's exposure stays at or
// below what these settings gave (provisioning 1.7, appliance 2.0; 1.7 and 2.2 before).
func TestUnitHardening(t *testing.T) {
	want := map[string]map[string]string{
		"edgevoice-provisioning.service": {"Service.WatchdogSec": "30s", "Service.ProtectProc": "invisible",
			"Service.ProcSubset": "pid", "Service.IPAddressDeny": "link-local multicast"},
		"edgevoice.service": {"Service.ProtectProc": "invisible", "Service.WatchdogSec": "20s"},
	}
	for unit, keys := range want {
		got := unitKeys(t, filepath.Join(systemdDir, unit))
		for k, v := range keys {
			if g := got[k]; len(g) != 1 || g[0] != v {
				t.Errorf("%s: %s = %q, want %q", unit, k, g, v)
			}
		}
	}
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("no systemd-analyze: exposure not measured")
		return
	}
	re := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)
	for unit, ceiling := range map[string]float64{"edgevoice-provisioning.service": 1.7, "edgevoice.service": 2.0} {
		out, err := exec.Command(sa, "security", "--offline=yes", filepath.Join(systemdDir, unit)).CombinedOutput()
		m := re.FindSubmatch(out)
		if m == nil {
			t.Logf("systemd-analyze security --offline=yes %s: %v (no exposure line; an older systemd?)", unit, err)
			continue
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		t.Logf("%s: exposure %.1f", unit, v)
		if v > ceiling {
			t.Errorf("%s: exposure %.1f, want at most %.1f", unit, v, ceiling)
		}
	}
}
