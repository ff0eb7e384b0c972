package realtime_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/edgevoice/edgevoice/"

// deps lists the packages pkg depends on (not its tests), transitively.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", module+pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	return strings.Fields(string(out))
}

// TestImportsPointOneWay keeps issue 10's arrows for the protocol and key packages:
// realtime ← {rtc, provisioning, emulator}; realtime is the standard library only; rtc
// never reaches provisioning; the key daemon carries no broker server and no WebRTC.
func TestImportsPointOneWay(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, tc := range []struct {
		pkg       string
		forbidden []string // prefixes, module-relative or full
		only      []string // if set: every non-std dependency has one of these prefixes
	}{
		{pkg: "realtime", only: []string{module + "realtime"}},
		{pkg: "realtime/events", only: []string{module + "realtime"}},
		{pkg: "rtc", forbidden: []string{module + "provisioning", module + "emulator", module + "appliance", module + "hw", module + "cmd", module + "internal/cli"}},
		{pkg: "provisioning", only: []string{module + "provisioning", module + "realtime", "github.com/jonboulle/clockwork"}},
		{pkg: "provisioning/keyd", forbidden: []string{module + "provisioning/broker", module + "rtc", module + "emulator", "github.com/pion/", "github.com/gen2brain/malgo", "gopkg.in/hraban/", "periph.io/"}},
		{pkg: "provisioning/broker", forbidden: []string{module + "provisioning/keyd", module + "rtc", module + "emulator", "github.com/pion/"}},
		{pkg: "emulator", forbidden: []string{module + "rtc", module + "appliance", module + "hw", module + "cmd", module + "provisioning/keyd"}},
	} {
		for _, d := range deps(t, tc.pkg) {
			if d == module+tc.pkg {
				continue
			}
			for _, f := range tc.forbidden {
				if strings.HasPrefix(d, f) {
					t.Errorf("%s depends on %s", tc.pkg, d)
				}
			}
			if tc.only != nil {
				ok := false
				for _, o := range tc.only {
					ok = ok || strings.HasPrefix(d, o)
				}
				if !ok {
					t.Errorf("%s depends on %s; it may use only %v and the standard library", tc.pkg, d, tc.only)
				}
			}
		}
	}
}
