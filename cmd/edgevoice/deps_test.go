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
		"github.com/gen2brain/malgo": "hw/audio",
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
		case under(pkg, "hw/button"), under(pkg, "hw/led"), under(pkg, "hw/sim"):
			for _, d := range info.deps {
				if strings.HasPrefix(d, "periph.io/x/host/") || strings.HasPrefix(d, "github.com/gen2brain/malgo") || strings.HasPrefix(d, "github.com/pion/") {
					t.Errorf("%s depends on %s; buttons, LEDs and the simulated board use periph conn only", pkg, d)
				}
			}
		}
		// cgo stays in the two leaf packages that need it.
		if info.cgo && pkg != "hw/audio" && pkg != "rtc/opus" {
			t.Errorf("%s uses cgo; only hw/audio (malgo) and rtc/opus (libopus) may", pkg)
		}
	}
	// Libraries never read TOML: only cmd/edgevoice imports go-toml.
	for pkg, info := range pkgs {
		if under(pkg, "cmd") {
			continue
		}
		for _, imp := range info.imports {
			if strings.HasPrefix(imp, "github.com/pelletier/go-toml") {
				t.Errorf("%s imports %s; libraries never read TOML, cmd/edgevoice maps the config into options", pkg, imp)
			}
		}
	}
}
