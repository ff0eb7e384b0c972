package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/pelletier/go-toml/v2"
)

const template = "../deb/edgevoice.toml.5.in"

// keyLine matches a key's tag line in the page: .B "key = value" (or .B key for the
// keys of an array of tables).
var (
	sectionLine = regexp.MustCompile(`^\.SS "(\[\[?[a-z_.]+\]\]?)"$`)
	keyLine     = regexp.MustCompile(`^\.B (?:"([a-z_]+) = (.*)"|([a-z_]+))$`)
)

// pageKeys returns, per subsection heading ("[appliance]", "[[session.tools]]"), its
// keys with their default as written (unescaped; "" for none).
func pageKeys(page string) map[string]map[string]string {
	out := map[string]map[string]string{}
	var cur map[string]string
	lines := strings.Split(page, "\n")
	unescape := strings.NewReplacer(`\(aq`, `'`, `\(dq`, `"`, `\-`, `-`, `\e`, `\`)
	for i, l := range lines {
		if m := sectionLine.FindStringSubmatch(l); m != nil {
			cur = map[string]string{}
			out[m[1]] = cur
			continue
		}
		if cur == nil || i == 0 || lines[i-1] != ".TP" {
			continue
		}
		if m := keyLine.FindStringSubmatch(l); m != nil {
			if m[3] != "" {
				cur[m[3]] = ""
			} else {
				cur[m[1]] = unescape.Replace(m[2])
			}
		}
	}
	return out
}

// TestPageDocumentsEveryKey: the rendered page has a subsection for every table of the
// config (every top-level section among them) and a tagged paragraph for every key,
// whose default, decoded as TOML, is the one config.Default() has, as config.Encode
// writes the whole default config.
func TestPageDocumentsEveryKey(t *testing.T) {
	page, err := render(template, "../../internal/config")
	if err != nil {
		t.Fatal(err)
	}
	got := pageKeys(string(page))

	// what the config encodes, as nested maps
	enc, err := config.Encode(config.Default())
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := toml.Unmarshal(enc, &want); err != nil {
		t.Fatal(err)
	}
	// every top-level section of the Config struct, even one that encodes to nothing
	ct := reflect.TypeOf(config.Config{})
	for i := 0; i < ct.NumField(); i++ {
		name := config.TOMLName(ct.Field(i))
		if _, ok := got["["+name+"]"]; !ok {
			t.Errorf("section [%s] is not in the page", name)
		}
	}
	var walk func(path string, m map[string]any)
	walk = func(path string, m map[string]any) {
		keys := got["["+path+"]"]
		if keys == nil {
			t.Errorf("table [%s] is not in the page", path)
			return
		}
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(path+"."+k, sub)
				continue
			}
			if _, ok := got["[["+path+"."+k+"]]"]; ok && isEmptyList(v) {
				continue // an array of tables, documented by its entries' keys
			}
			written, ok := keys[k]
			if !ok {
				t.Errorf("[%s] %s is not in the page", path, k)
				continue
			}
			var dec map[string]any
			if err := toml.Unmarshal([]byte("v = "+written), &dec); err != nil {
				t.Errorf("[%s] %s: the page's default %q is not TOML: %v", path, k, written, err)
				continue
			}
			if !reflect.DeepEqual(dec["v"], v) && !(isEmptyList(dec["v"]) && isEmptyList(v)) {
				t.Errorf("[%s] %s: the page says %q (%#v), the default is %#v", path, k, written, dec["v"], v)
			}
		}
		if n := countScalars(path, m, got); len(keys) != n {
			t.Errorf("[%s]: the page has %d keys, the config %d", path, len(keys), n)
		}
	}
	for name, v := range want {
		if m, ok := v.(map[string]any); ok {
			walk(name, m)
		}
	}
	if tools := got["[[session.tools]]"]; len(tools) == 0 {
		t.Errorf("the keys of [[session.tools]] entries are not in the page")
	}
}

// countScalars counts the keys of table m at path that the page lists as keys (not
// sub-tables, not arrays of tables).
func countScalars(path string, m map[string]any, page map[string]map[string]string) int {
	n := 0
	for k, v := range m {
		_, sub := v.(map[string]any)
		_, arr := page["[["+path+"."+k+"]]"]
		if !sub && !arr {
			n++
		}
	}
	return n
}

func isEmptyList(v any) bool {
	l, ok := v.([]any)
	return v == nil || (ok && len(l) == 0)
}

// TestPageHasNoGroffWarnings renders the page with man --warnings, as lintian does.
func TestPageHasNoGroffWarnings(t *testing.T) {
	if _, err := exec.LookPath("man"); err != nil {
		t.Skip("man is not installed")
	}
	page, err := render(template, "../../internal/config")
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "edgevoice.toml.5")
	if err := os.WriteFile(f, page, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", f)
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "LC_ALL=C.UTF-8")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Errorf("man --warnings: %v\n%s", err, stderr.String())
	}
}

func TestTemplateNeedsMarker(t *testing.T) {
	f := filepath.Join(t.TempDir(), "x.5.in")
	if err := os.WriteFile(f, []byte(".TH X 5\n.SH NAME\nx \\- y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := render(f, "../../internal/config"); err == nil || !strings.Contains(err.Error(), keysMarker) {
		t.Errorf("err = %v, want one naming the missing marker", err)
	}
}
