package layout

import (
	"bufio"
	"go/build/constraint"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// allowedTags are the build tags a file may depend on besides GOOS, GOARCH and cgo. A
// tag may remove an optional file; it never chooses between two implementations of the
// product (one binary per main instead).
var allowedTags = map[string]string{
	"speexdsp":    "the libspeexdsp reference resampler, linked only by the benchmark comparison",
	"ignore":      "a helper program run with go run, never part of a package",
	"webrtcaudio": "the libwebrtc-audio-processing reference echo canceller, linked only by the comparison that chose speexdsp for hw/aec",
}

var platformTags = map[string]bool{
	"cgo": true, "unix": true, "linux": true, "darwin": true, "windows": true, "freebsd": true, "openbsd": true,
	"netbsd": true, "android": true, "ios": true, "js": true, "wasip1": true, "plan9": true, "solaris": true, "illumos": true, "aix": true, "dragonfly": true,
	"amd64": true, "arm64": true, "arm": true, "386": true, "riscv64": true, "ppc64le": true, "ppc64": true, "s390x": true, "loong64": true,
	"mips": true, "mipsle": true, "mips64": true, "mips64le": true, "wasm": true, "purego": true,
}

// badTags returns the tags of expr that neither the platform nor allowedTags explain.
func badTags(expr constraint.Expr) []string {
	var bad []string
	var walk func(constraint.Expr)
	walk = func(e constraint.Expr) {
		switch x := e.(type) {
		case *constraint.TagExpr:
			if !platformTags[x.Tag] && allowedTags[x.Tag] == "" && !strings.HasPrefix(x.Tag, "go1.") {
				bad = append(bad, x.Tag)
			}
		case *constraint.NotExpr:
			walk(x.X)
		case *constraint.AndExpr:
			walk(x.X)
			walk(x.Y)
		case *constraint.OrExpr:
			walk(x.X)
			walk(x.Y)
		}
	}
	walk(expr)
	return bad
}

// TestNoBuildTagChoosesAnImplementation: every //go:build line in the tree uses only
// platform tags or one of allowedTags (issue 10: two binaries chosen by a provisiond tag
// validated the same config differently).
func TestNoBuildTagChoosesAnImplementation(t *testing.T) {
	root := filepath.Join("..", "..")
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "bin" || n == "dist") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		files++
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "package ") {
				break
			}
			if !constraint.IsGoBuild(line) {
				continue
			}
			expr, err := constraint.Parse(line)
			if err != nil {
				t.Errorf("%s: %v", path, err)
				continue
			}
			if bad := badTags(expr); len(bad) > 0 {
				t.Errorf("%s: %q uses build tags %v; a tag may only drop an optional file (allowedTags), never choose an implementation", path, line, bad)
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("walked only %d Go files; the walk is broken", files)
	}
}

func TestBadTags(t *testing.T) {
	for _, tc := range []struct {
		line string
		bad  int
	}{
		{"//go:build !provisiond", 1},
		{"//go:build linux && (arm64 || amd64)", 0},
		{"//go:build speexdsp", 0},
		{"//go:build cgo && !edgevoice_lite", 1},
	} {
		e, err := constraint.Parse(tc.line)
		if err != nil {
			t.Fatal(err)
		}
		if got := badTags(e); len(got) != tc.bad {
			t.Errorf("%s: bad tags %v, want %d", tc.line, got, tc.bad)
		}
	}
}
