package main

import (
	"os/exec"
	"strings"
	"testing"
)

const modulePath = "github.com/edgevoice/edgevoice"

// pkgInfo is what go list says about one package of the module.
type pkgInfo struct {
	imports []string // direct imports
	deps    []string // transitive
	cgo     bool     // has cgo files
}

func listPackages(t *testing.T) map[string]pkgInfo {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-f", "{{.ImportPath}}|{{join .Imports \" \"}}|{{join .Deps \" \"}}|{{len .CgoFiles}}", modulePath+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkgInfo{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, "|")
		if len(f) != 4 {
			continue
		}
		pkgs[strings.TrimPrefix(strings.TrimPrefix(f[0], modulePath), "/")] = pkgInfo{
			imports: strings.Fields(f[1]), deps: strings.Fields(f[2]), cgo: f[3] != "0",
		}
	}
	if len(pkgs) < 3 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".") && path != "C"
}

func under(pkg, dir string) bool { return pkg == dir || strings.HasPrefix(pkg, dir+"/") }

// TestLayering keeps the layering of DESIGN.md true: each heavy or cgo dependency stays
// in the one package that owns it, and the libraries stay buildable on any machine.
func TestLayering(t *testing.T) {
	pkgs := listPackages(t)
	// exclusive[dep prefix] = the only module package (dir) allowed to import it directly
	exclusive := map[string]string{
		"periph.io/x/host/":          "hw/board",
		"github.com/gen2brain/malgo": "hw/audio/malgo",
		"gopkg.in/hraban/opus.v2":    "rtc/opus",
	}
	for pkg, info := range pkgs {
		for _, imp := range info.imports {
			for dep, owner := range exclusive {
				if strings.HasPrefix(imp+"/", dep) || strings.HasPrefix(imp, dep) {
					if pkg != owner {
						t.Errorf("%s imports %s; only %s may (DESIGN.md, Packages)", pkg, imp, owner)
					}
				}
			}
		}
		switch {
		case under(pkg, "dsp"):
			// dsp: the standard library only, also transitively. Exception:
			// golang.org/x/sys/cpu (pure Go CPU feature detection for the resampler's
			// AVX2/NEON kernels; no cgo, already in the module graph through pion).
			for _, d := range info.deps {
				if d == "golang.org/x/sys/cpu" {
					continue
				}
				if !isStd(d) && !under(strings.TrimPrefix(d, modulePath+"/"), "dsp") {
					t.Errorf("%s depends on %s; dsp uses the standard library only", pkg, d)
				}
			}
		case under(pkg, "provisioning"):
			// provisioning: std + go-systemd, clockwork, x/time/rate and the std-only realtime.
			for _, d := range info.deps {
				rel := strings.TrimPrefix(d, modulePath+"/")
				if isStd(d) || under(rel, "provisioning") || under(rel, "realtime") || under(rel, "internal/backoff") ||
					d == "github.com/jonboulle/clockwork" || d == "golang.org/x/time/rate" ||
					strings.HasPrefix(d, "github.com/coreos/go-systemd/") || strings.HasPrefix(d, "golang.org/x/sys/") {
					continue
				}
				t.Errorf("%s depends on %s; provisioning uses the standard library and go-systemd only", pkg, d)
			}
		case under(pkg, "hw/button"), under(pkg, "hw/led"), under(pkg, "hw/sim"), pkg == "hw/audio":
			for _, d := range info.deps {
				if strings.HasPrefix(d, "periph.io/x/host/") || strings.HasPrefix(d, "github.com/gen2brain/malgo") || strings.HasPrefix(d, "github.com/pion/") {
					t.Errorf("%s depends on %s; buttons, LEDs and the simulated board use periph conn only", pkg, d)
				}
			}
		}
		// cgo stays in the two leaf packages that need it.
		if info.cgo && pkg != "hw/audio/malgo" && pkg != "rtc/opus" {
			t.Errorf("%s uses cgo; only hw/audio/malgo and rtc/opus (libopus) may", pkg)
		}
	}
	// Libraries never read TOML: only internal/config imports go-toml, and the commands
	// map the config into options.
	for pkg, info := range pkgs {
		for _, imp := range info.imports {
			if strings.HasPrefix(imp, "github.com/pelletier/go-toml") && pkg != "internal/config" {
				t.Errorf("%s imports %s; only internal/config reads TOML, the commands map the config into options", pkg, imp)
			}
		}
	}
	for pkg, info := range pkgs {
		switch {
		case pkg == "internal/config":
			// The standard library and go-toml only (no hw, rtc, provisioning): every
			// binary links it.
			for _, d := range info.deps {
				if !isStd(d) && !strings.HasPrefix(d, "github.com/pelletier/go-toml/") {
					t.Errorf("internal/config depends on %s; it uses the standard library and go-toml only", d)
				}
			}
		case under(pkg, "internal/cli"):
			for _, d := range info.deps {
				rel := strings.TrimPrefix(d, modulePath+"/")
				if !isStd(d) && !strings.HasPrefix(d, "github.com/pelletier/go-toml/") && !strings.HasPrefix(d, "github.com/coreos/go-systemd/") &&
					!strings.HasPrefix(d, "golang.org/x/sys/") && !under(rel, "internal/cli") && rel != "internal/config" {
					t.Errorf("%s depends on %s; internal/cli uses the standard library, go-systemd and internal/config only", pkg, d)
				}
			}
		}
		// No library imports a command or the command-line helpers.
		if under(pkg, "cmd") || under(pkg, "internal") {
			continue
		}
		for _, imp := range info.imports {
			rel := strings.TrimPrefix(imp, modulePath+"/")
			if under(rel, "cmd") || under(rel, "internal/cli") || under(rel, "internal/provcmd") || under(rel, "internal/brokercmd") {
				t.Errorf("%s imports %s; libraries never import the commands", pkg, imp)
			}
		}
	}
	// No build tag chooses between implementations: every package lists no file that a
	// tag other than the platform's or cgo's leaves out.
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}: {{join .IgnoredGoFiles \" \"}}", modulePath+"/cmd/...", modulePath+"/internal/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if _, files, _ := strings.Cut(l, ": "); strings.TrimSpace(files) != "" {
			t.Errorf("files left out by build tags: %s", l)
		}
	}
}
