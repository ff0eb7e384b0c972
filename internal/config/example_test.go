package config

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

var update = flag.Bool("update", false, "rewrite configs/edgevoice.toml.example from the section structs (make configs)")

// exampleConfig is the full reference (installed as
// /usr/share/doc/edgevoice/examples/edgevoice.toml.example); shippedConfig is the
// minimal conffile /etc/edgevoice/edgevoice.toml.
const (
	exampleConfig = "../../configs/edgevoice.toml.example"
	shippedConfig = "../../configs/edgevoice.toml"
)

// TestExampleConfig: configs/edgevoice.toml.example is generated from the section structs (their
// doc comments and defaults), so it documents every field and cannot drift. After
// changing a section, run `make configs` (go test -run TestExampleConfig -update).
func TestExampleConfig(t *testing.T) {
	docs, err := parseStructDocs(".")
	if err != nil {
		t.Fatal(err)
	}
	def := *Default()
	g := &docGen{docs: docs}
	got := g.generate(&def)
	for _, m := range g.missing {
		t.Errorf("config field %s has no doc comment (every field is documented in configs/edgevoice.toml.example)", m)
	}
	if *update {
		if err := os.WriteFile(exampleConfig, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatalf("%v (run `make configs` to generate it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date with the section structs; run `make configs` and commit it.\n%s", exampleConfig, firstDiff(want, got))
	}
	// The generated file loads and gives exactly the defaults.
	c, err := Decode(exampleConfig, got)
	if err != nil {
		t.Fatalf("the generated example does not load:\n%v", err)
	}
	if !reflect.DeepEqual(*c, def) {
		t.Errorf("loading the example does not give the defaults:\n got %+v\nwant %+v", *c, def)
	}
}

// TestConfigExamples: every example under configs/ loads strictly and validates, on its
// own and as a drop-in after the shipped conffile (the README's way to use a board
// example), and the full reference loads too.
func TestConfigExamples(t *testing.T) {
	files, _ := filepath.Glob("../../configs/*.toml")
	boards, _ := filepath.Glob("../../configs/boards/*.toml")
	files = append(files, boards...)
	if len(files) < 6 {
		t.Fatalf("found only %d example configs under configs/", len(files))
	}
	files = append(files, exampleConfig)
	shipped, err := os.ReadFile(shippedConfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Errorf("%v", err)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := DecodeFiles([]Source{{Name: shippedConfig, Data: shipped}, {Name: f, Data: b}})
		if err != nil {
			t.Errorf("as a drop-in after %s: %v", shippedConfig, err)
			continue
		}
		alone, _ := Load(f)
		if alone != nil && !reflect.DeepEqual(c, alone) {
			t.Errorf("%s as a drop-in after the shipped conffile does not give the same config as alone: the shipped conffile must set nothing", f)
		}
	}
}

// TestBoardExamplesOnlyBoard: a board example is dropped in as it is, so it must not set
// up keys: its [provisioning] is the default (a placeholder broker URL there would send
// the key daemon to a host that does not exist).
func TestBoardExamplesOnlyBoard(t *testing.T) {
	boards, _ := filepath.Glob("../../configs/boards/*.toml")
	for _, f := range boards {
		c, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c.Provisioning, Default().Provisioning) {
			t.Errorf("%s sets [provisioning]; keys belong in a drop-in of their own", f)
		}
		if c.Board.Kind == "none" {
			t.Errorf("%s has no [board] kind", f)
		}
	}
}

// TestShippedConfig: the conffile the package installs sets nothing (it only says where
// things go), so that an upgrade never meets a changed conffile and the device is
// unconfigured (no board, no profile) until the admin drops settings in.
func TestShippedConfig(t *testing.T) {
	c, err := Load(shippedConfig)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("%s sets values; it must only hold comments", shippedConfig)
	}
	if c.Board.Kind != "none" || c.Provisioning.Profile != "" {
		t.Errorf("defaults: board kind %q, profile %q; want none and unset (the device is not set up)", c.Board.Kind, c.Provisioning.Profile)
	}
	b, _ := os.ReadFile(shippedConfig)
	for _, want := range []string{DropInDir(DefaultPath), "/usr/share/doc/edgevoice/examples/", "/etc/edgevoice/credential", "profile"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s does not mention %s", shippedConfig, want)
		}
	}
}

func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("first difference at line %d:\n  file:      %q\n  generated: %q", i+1, x, y)
		}
	}
	return ""
}

// structDoc is what the source says about one struct type: its doc and each field's.
type structDoc struct {
	doc    string
	fields map[string]string // Go field name -> doc comment
}

// parseStructDocs reads the doc comments of every struct type of the package in dir.
func parseStructDocs(dir string) (map[string]*structDoc, error) {
	fset := token.NewFileSet()
	matches, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	docs := map[string]*structDoc{}
	for _, path := range matches {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, s := range gd.Specs {
				ts := s.(*ast.TypeSpec)
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				sd := &structDoc{fields: map[string]string{}}
				if ts.Doc != nil {
					sd.doc = ts.Doc.Text()
				} else if gd.Doc != nil {
					sd.doc = gd.Doc.Text()
				}
				for _, fl := range st.Fields.List {
					text := ""
					if fl.Doc != nil {
						text = fl.Doc.Text()
					} else if fl.Comment != nil {
						text = fl.Comment.Text()
					}
					for _, n := range fl.Names {
						sd.fields[n.Name] = text
					}
				}
				docs[ts.Name.Name] = sd
			}
		}
	}
	return docs, nil
}

// docGen writes the documented example config.
type docGen struct {
	docs    map[string]*structDoc
	missing []string
	buf     bytes.Buffer
}

func (g *docGen) generate(c *Config) []byte {
	g.buf.WriteString(`# edgevoice.toml.example — every setting of edgevoice, with its default value.
#
# GENERATED from the config section structs in internal/config/*.go by
# ` + "`make configs`" + `; a test fails when it drifts. Do not copy it whole: put the
# settings you change into a drop-in, /etc/edgevoice/edgevoice.toml.d/NN-NAME.toml
# (read after /etc/edgevoice/edgevoice.toml in lexical order; tables merge, a later
# file's key wins); a key left out takes the default shown here. Check the result with
# ` + "`sudo edgevoice check-config`" + ` (unknown keys and bad values are reported as
# FILE:LINE:COL; the effective config is printed with secrets masked).
#
# Durations are strings with a unit: "250ms", "5s", "1m".
`)
	v := reflect.ValueOf(c).Elem()
	g.table(nil, v, "Config")
	return g.buf.Bytes()
}

// table writes the scalar keys of struct v (Go type name typ) at path, then its
// sub-tables.
func (g *docGen) table(path []string, v reflect.Value, typ string) {
	sd := g.docs[typ]
	t := v.Type()
	type sub struct {
		name string
		doc  string
		v    reflect.Value
		typ  string
		arr  bool
	}
	var subs []sub
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := TOMLName(f)
		if key == "" {
			continue
		}
		doc := ""
		if sd != nil {
			doc = sd.fields[f.Name]
		}
		if strings.TrimSpace(doc) == "" {
			g.missing = append(g.missing, typ+"."+f.Name)
		}
		fv := v.Field(i)
		ft := f.Type
		switch {
		case isTable(ft):
			subs = append(subs, sub{key, doc, fv, ft.Name(), false})
		case ft.Kind() == reflect.Slice && isTable(ft.Elem()):
			subs = append(subs, sub{key, doc, fv, ft.Elem().Name(), true})
		default:
			g.buf.WriteString("\n")
			g.comment(doc)
			g.buf.WriteString(encodeKV(key, fv.Interface()))
		}
	}
	for _, s := range subs {
		p := append(append([]string{}, path...), s.name)
		g.buf.WriteString("\n")
		if len(path) == 0 {
			g.buf.WriteString("\n# " + strings.Repeat("=", 86) + "\n")
		}
		g.comment(s.doc)
		if !s.arr {
			g.buf.WriteString("[" + strings.Join(p, ".") + "]\n")
			g.table(p, s.v, s.typ)
			continue
		}
		if s.v.Len() == 0 {
			// No default entries: show the shape of one, commented out.
			var inner docGen
			inner.docs = g.docs
			inner.buf.WriteString("[[" + strings.Join(p, ".") + "]]\n")
			inner.table(p, reflect.New(s.v.Type().Elem()).Elem(), s.typ)
			g.missing = append(g.missing, inner.missing...)
			g.buf.WriteString("# (none by default; one entry looks like this)\n")
			for _, l := range strings.Split(strings.TrimRight(inner.buf.String(), "\n"), "\n") {
				if l == "" {
					g.buf.WriteString("#\n")
				} else if strings.HasPrefix(l, "#") {
					g.buf.WriteString("#" + l + "\n")
				} else {
					g.buf.WriteString("# " + l + "\n")
				}
			}
			continue
		}
		for j := 0; j < s.v.Len(); j++ {
			if j > 0 {
				g.buf.WriteString("\n")
			}
			g.buf.WriteString("[[" + strings.Join(p, ".") + "]]\n")
			g.table(p, s.v.Index(j), s.typ)
		}
	}
}

var textMarshaler = reflect.TypeOf((*interface{ MarshalText() ([]byte, error) })(nil)).Elem()

// isTable reports whether t is written as a TOML table.
func isTable(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && !t.Implements(textMarshaler) && !reflect.PointerTo(t).Implements(textMarshaler)
}

func (g *docGen) comment(doc string) {
	for _, l := range strings.Split(strings.TrimRight(doc, "\n"), "\n") {
		if l == "" {
			g.buf.WriteString("#\n")
			continue
		}
		g.buf.WriteString("# " + l + "\n")
	}
}

// encodeKV writes one key = value line the way go-toml encodes it.
func encodeKV(key string, v any) string {
	b, err := toml.Marshal(map[string]any{key: v})
	if err != nil {
		return fmt.Sprintf("# %s: cannot encode: %v\n", key, err)
	}
	return string(b)
}
