package layout

import (
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/edgevoice/edgevoice"

// pkg is what go list says about one package (paths of module packages are relative to
// the module: "rtc/opus").
type pkg struct {
	Path    string
	Imports []string // direct, non-test
	Deps    []string // transitive, non-test
	Cgo     bool
}

func rel(p string) string {
	if p == module {
		return "."
	}
	return strings.TrimPrefix(p, module+"/")
}

// short names a package as the rules do: a module package by its folder ("rtc/opus"),
// a standard-library package with a "std:" prefix (so "internal/abi" never matches the
// module's internal/ folder), anything else by its import path.
func short(p string) string {
	switch {
	case isOurs(p):
		return rel(p)
	case isStd(p):
		return "std:" + p
	}
	return p
}

func isStd(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ".") && p != "C"
}

func isOurs(p string) bool { return p == module || strings.HasPrefix(p, module+"/") }

func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

func hasPrefixAny(p string, prefixes ...string) bool {
	for _, x := range prefixes {
		if p == x || strings.HasPrefix(p, strings.TrimSuffix(x, "/")+"/") {
			return true
		}
	}
	return false
}

// listPackages runs go list over the module (from this package's directory, two levels
// below the root).
func listPackages(t *testing.T, env ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,Deps,CgoFiles,Error", module+"/...")
	cmd.Dir = "../.."
	cmd.Env = append(cmd.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath string
			Imports    []string
			Deps       []string
			CgoFiles   []string
			Error      *struct{ Err string }
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Errorf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		q := pkg{Path: rel(p.ImportPath), Cgo: len(p.CgoFiles) > 0}
		for _, i := range p.Imports {
			q.Imports = append(q.Imports, short(i))
		}
		for _, d := range p.Deps {
			q.Deps = append(q.Deps, short(d))
		}
		pkgs = append(pkgs, q)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found only %d packages; the listing is broken", len(pkgs))
	}
	return pkgs
}

// exclusive: an outside dependency (prefix) that only one package may import directly.
var exclusive = map[string]string{
	"periph.io/x/host":           "hw/board",
	"github.com/gen2brain/malgo": "hw/audio/malgo",
	"gopkg.in/hraban/opus.v2":    "rtc/opus",
}

// commandPkgs are the mains and the packages that hold their commands and CLI helpers;
// no library imports them. (Each main's own deps test says what its binary links.)
var commandPkgs = []string{"cmd", "internal/cli", "internal/provcmd", "internal/brokercmd"}

// cgoAllowed: the only packages with cgo files.
var cgoAllowed = []string{"hw/audio/malgo", "rtc/opus", "hw/aec"}

// forbidden lists, per folder, module folders and outside modules it must not depend
// on, even transitively. This is the one-way picture of DESIGN.md:
// dsp ← hw ← appliance ← cmd; realtime ← {rtc, provisioning, emulator}.
var forbidden = []struct {
	dir  string
	deps []string
	why  string
}{
	{"dsp", []string{"hw", "appliance", "rtc", "realtime", "provisioning", "emulator", "internal", "cmd"}, "dsp is the bottom layer"},
	{"realtime", []string{"dsp", "hw", "appliance", "rtc", "provisioning", "emulator", "internal", "cmd"}, "realtime is shared by client, key daemon and emulator"},
	{"hw", []string{"appliance", "rtc", "realtime", "provisioning", "emulator", "internal/cli", "internal/config", "cmd", "github.com/pion"}, "hw sits below appliance"},
	{"hw/button", []string{"periph.io/x/host", "github.com/gen2brain/malgo"}, "buttons use periph conn only"},
	{"hw/led", []string{"periph.io/x/host", "github.com/gen2brain/malgo"}, "LEDs use periph conn only"},
	{"hw/sim", []string{"periph.io/x/host", "github.com/gen2brain/malgo"}, "the simulated board runs anywhere"},
	{"rtc", []string{"provisioning", "appliance", "hw", "emulator", "internal/cli", "internal/config", "cmd"}, "the WebRTC session never depends on the key daemon"},
	{"provisioning", []string{"rtc", "appliance", "hw", "emulator", "dsp", "internal/cli", "internal/config", "cmd", "github.com/pion", "github.com/gen2brain/malgo", "gopkg.in/hraban/opus.v2", "periph.io"}, "providers and the key daemon stay small"},
	{"provisioning/keyd", []string{"provisioning/broker"}, "the key daemon never carries the broker server"},
	{"emulator", []string{"appliance", "hw", "internal/cli", "internal/config", "cmd"}, "the emulator is a service, not the device"},
	{"emulator", []string{"modernc.org", "github.com/jackc/pgx"}, "the emulator speaks the broker's wire format (provisioning/broker/wire) without its store"},
	{"cmd/edgevoice", []string{"modernc.org", "github.com/jackc/pgx"}, "the device binary does not carry the broker's database drivers (20 MB arm64 goal)"},
	{"cmd/edgevoice-provisiond", []string{"github.com/modelcontextprotocol", "tools"}, "the key daemon runs no tools (the MCP SDK is for edgevoice only)"},
	{"cmd/edgevoice-broker", []string{"github.com/modelcontextprotocol", "tools"}, "the broker runs no tools (its [[tools.mcp_remote]] are config, not a client)"},
	{"appliance", []string{"provisioning", "emulator", "internal/cli", "internal/config", "cmd"}, "appliance gets keys through rtc.KeySource"},
	{"tools", []string{"appliance", "rtc", "hw", "emulator", "provisioning", "dsp", "internal", "cmd", "github.com/pion", "periph.io", "github.com/gen2brain/malgo"}, "tools act on the device through tools.Device and answer rtc.ToolRunner without importing either"},
	{"internal/config", []string{"hw", "rtc", "provisioning", "appliance", "emulator", "dsp", "internal/cli", "cmd", "github.com/pion", "periph.io", "github.com/gen2brain/malgo"}, "one config validation for every binary, with no heavy imports"},
	{"internal/cli", []string{"hw", "rtc", "provisioning", "appliance", "emulator", "dsp", "cmd", "github.com/pion", "periph.io", "github.com/gen2brain/malgo"}, "the CLI helpers are shared by all three mains"},
}

// check returns every broken rule, sorted.
func check(pkgs []pkg) []string {
	var bad []string
	for _, p := range pkgs {
		for _, imp := range p.Imports {
			for dep, owner := range exclusive {
				if hasPrefixAny(imp, dep) && p.Path != owner {
					bad = append(bad, fmt.Sprintf("%s imports %s; only %s may", p.Path, imp, owner))
				}
			}
			if hasPrefixAny(imp, commandPkgs...) && !hasPrefixAny(p.Path, commandPkgs...) {
				bad = append(bad, fmt.Sprintf("%s imports %s; no library imports the commands or internal/cli", p.Path, imp))
			}
			if strings.HasPrefix(imp, "github.com/pelletier/go-toml") && p.Path != "internal/config" && !under(p.Path, "cmd") {
				bad = append(bad, fmt.Sprintf("%s imports %s; libraries never read TOML (internal/config does)", p.Path, imp))
			}
		}
		if p.Cgo && !slices.Contains(cgoAllowed, p.Path) {
			bad = append(bad, fmt.Sprintf("%s uses cgo; only %v may", p.Path, cgoAllowed))
		}
		if under(p.Path, "dsp") || under(p.Path, "realtime") {
			for _, d := range p.Deps {
				if strings.Contains(d, ".") && d != "golang.org/x/sys/cpu" {
					bad = append(bad, fmt.Sprintf("%s depends on %s; it uses the standard library only", p.Path, d))
				}
			}
		}
		for _, f := range forbidden {
			if !under(p.Path, f.dir) {
				continue
			}
			for _, d := range p.Deps {
				if hasPrefixAny(d, f.deps...) {
					bad = append(bad, fmt.Sprintf("%s depends on %s (%s)", p.Path, d, f.why))
				}
			}
		}
	}
	sort.Strings(bad)
	return slices.Compact(bad)
}

// TestImportRules checks DESIGN.md's package table against the real tree.
func TestImportRules(t *testing.T) {
	pkgs := listPackages(t)
	seen := map[string]bool{}
	for _, p := range pkgs {
		seen[p.Path] = true
	}
	for _, want := range []string{"cmd/edgevoice", "cmd/edgevoice-provisiond", "cmd/edgevoice-broker", "realtime", "realtime/events", "rtc", "rtc/opus", "provisioning", "provisioning/keyd", "provisioning/broker", "emulator", "appliance", "hw/audio", "hw/audio/malgo", "hw/board", "internal/cli", "internal/config", "dsp/ring", "tools"} {
		if !seen[want] {
			t.Errorf("package %s is missing; the rules below would pass vacuously", want)
		}
	}
	for _, b := range check(pkgs) {
		t.Error(b)
	}
}

// TestKeyDaemonBuildsWithoutCgo: the key daemon and the broker need no C compiler.
func TestKeyDaemonBuildsWithoutCgo(t *testing.T) {
	for _, p := range listPackages(t, "CGO_ENABLED=0") {
		if p.Path != "cmd/edgevoice-provisiond" && p.Path != "cmd/edgevoice-broker" {
			continue
		}
		for _, d := range p.Deps {
			if d == "runtime/cgo" {
				t.Errorf("%s links runtime/cgo with CGO_ENABLED=0", p.Path)
			}
		}
	}
}

// TestCheckCatchesViolations proves each kind of rule can fail, on made-up packages.
func TestCheckCatchesViolations(t *testing.T) {
	pkgs := []pkg{
		{Path: "rtc", Deps: []string{"realtime", "provisioning", "github.com/pion/webrtc/v4"}},
		{Path: "dsp/ring", Deps: []string{"std:sync", "std:internal/abi", "github.com/pion/rtp"}},
		{Path: "dsp/mix", Deps: []string{"std:internal/abi", "internal/cli"}},
		{Path: "hw/led", Imports: []string{"periph.io/x/host/v3"}, Deps: []string{"periph.io/x/host/v3"}},
		{Path: "hw/audio", Cgo: true, Imports: []string{"github.com/gen2brain/malgo"}},
		{Path: "appliance", Imports: []string{"internal/cli"}},
		{Path: "provisioning/keyd", Deps: []string{"provisioning/broker"}},
		{Path: "rtc/events", Imports: []string{"github.com/pelletier/go-toml/v2"}},
		{Path: "realtime", Deps: []string{"golang.org/x/net/http2"}},
	}
	want := []string{
		"rtc depends on provisioning",
		"dsp/ring depends on github.com/pion/rtp; it uses the standard library only",
		"hw/led imports periph.io/x/host/v3; only hw/board may",
		"hw/audio uses cgo",
		"hw/audio imports github.com/gen2brain/malgo; only hw/audio/malgo may",
		"appliance imports internal/cli",
		"provisioning/keyd depends on provisioning/broker",
		"rtc/events imports github.com/pelletier/go-toml/v2",
		"realtime depends on golang.org/x/net/http2; it uses the standard library only",
		"dsp/mix depends on internal/cli",
	}
	got := strings.Join(check(pkgs), "\n")
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("check missed %q; it reported:\n%s", w, got)
		}
	}
	good := []pkg{
		{Path: "rtc", Deps: []string{"realtime", "dsp/ring", "std:internal/abi", "github.com/pion/webrtc/v4"}},
		{Path: "hw/board", Imports: []string{"periph.io/x/host/v3"}},
		{Path: "dsp/resample", Deps: []string{"std:math", "std:internal/cpu", "golang.org/x/sys/cpu"}},
	}
	if ok := check(good); len(ok) != 0 {
		t.Errorf("check rejects a correct tree: %v", ok)
	}
}
