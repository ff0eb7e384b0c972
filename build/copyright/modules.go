package main

import (
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
)

// Module is one module linked into a binary, as the binary's build information lists it.
type Module struct {
	Path    string
	Version string
	Dir     string   // its source in the module cache (locate)
	In      []string // the binaries (base names) that link it
}

// linkedModules returns the modules linked into the binaries (their dependencies, not
// the main module), sorted by path, and the Go versions that built them. A module
// replaced in go.mod is listed as its replacement, which is what was compiled.
func linkedModules(binaries []string) ([]*Module, []string, error) {
	byKey := map[string]*Module{}
	var goVersions []string
	for _, bin := range binaries {
		info, err := buildinfo.ReadFile(bin)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: no Go build information: %w", bin, err)
		}
		if !slices.Contains(goVersions, info.GoVersion) {
			goVersions = append(goVersions, info.GoVersion)
		}
		base := bin[strings.LastIndex(bin, "/")+1:]
		for _, d := range info.Deps {
			if d.Replace != nil {
				d = d.Replace
			}
			if d.Version == "" || strings.HasPrefix(d.Path, ".") || strings.HasPrefix(d.Path, "/") {
				return nil, nil, fmt.Errorf("%s: module %s is replaced by a local directory; the copyright file lists released modules only", bin, d.Path)
			}
			key := d.Path + "@" + d.Version
			m := byKey[key]
			if m == nil {
				m = &Module{Path: d.Path, Version: d.Version}
				byKey[key] = m
			}
			m.In = append(m.In, base)
		}
	}
	mods := make([]*Module, 0, len(byKey))
	for _, m := range byKey {
		mods = append(mods, m)
	}
	sort.Slice(mods, func(i, j int) bool {
		if mods[i].Path != mods[j].Path {
			return mods[i].Path < mods[j].Path
		}
		return mods[i].Version < mods[j].Version
	})
	return mods, goVersions, nil
}

// locate sets each module's Dir from the module cache with one `go mod download -json`
// call. GOPROXY=off keeps it offline: a module missing from the cache is an error that
// says how to fill the cache.
func locate(mods []*Module) error {
	if len(mods) == 0 {
		return nil
	}
	args := []string{"mod", "download", "-json"}
	for _, m := range mods {
		args = append(args, m.Path+"@"+m.Version)
	}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	// go mod download -json prints one object per module, with Error set for the ones it
	// could not find, and exits 1 if any failed.
	dirs := map[string]string{}
	var missing []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var r struct{ Path, Version, Dir, Error string }
		if err := dec.Decode(&r); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("go mod download -json: %w (stderr: %s)", err, strings.TrimSpace(stderr.String()))
		}
		if r.Error != "" || r.Dir == "" {
			missing = append(missing, fmt.Sprintf("%s@%s: %s", r.Path, r.Version, r.Error))
			continue
		}
		dirs[r.Path+"@"+r.Version] = r.Dir
	}
	if len(missing) > 0 {
		return fmt.Errorf("modules not in the module cache (run `go mod download` or build/install-deps.sh while online):\n  %s", strings.Join(missing, "\n  "))
	}
	if runErr != nil {
		return fmt.Errorf("go mod download: %w: %s", runErr, strings.TrimSpace(stderr.String()))
	}
	for _, m := range mods {
		if m.Dir = dirs[m.Path+"@"+m.Version]; m.Dir == "" {
			return fmt.Errorf("go mod download -json did not report %s@%s", m.Path, m.Version)
		}
	}
	return nil
}

// goEnv returns `go env NAME`.
func goEnv(name string) (string, error) {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}
