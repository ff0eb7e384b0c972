package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"github.com/edgevoice/edgevoice/internal/config"
)

// fieldDocs maps a struct type name to its fields' doc comments (Go field name -> text).
type fieldDocs map[string]map[string]string

// parseStructDocs reads the doc comments of the fields of every struct type declared in
// the non-test Go files of dir.
func parseStructDocs(dir string) (fieldDocs, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	docs := fieldDocs{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return false
			}
			fields := map[string]string{}
			for _, fl := range st.Fields.List {
				text := ""
				if fl.Doc != nil {
					text = fl.Doc.Text()
				} else if fl.Comment != nil {
					text = fl.Comment.Text()
				}
				for _, name := range fl.Names {
					fields[name.Name] = text
				}
			}
			docs[ts.Name.Name] = fields
			return false
		})
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("no struct types in %s", dir)
	}
	return docs, nil
}

var textMarshaler = reflect.TypeOf((*interface{ MarshalText() ([]byte, error) })(nil)).Elem()

// isTable reports whether t is written as a TOML table.
func isTable(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && !t.Implements(textMarshaler) && !reflect.PointerTo(t).Implements(textMarshaler)
}

// gen writes the key reference.
type gen struct {
	docs    fieldDocs
	values  map[string]string // "table.key" -> the default as config.Encode writes it
	buf     bytes.Buffer
	missing []string
}

// generate returns the groff text of every table and key of config.Default().
func generate(docs fieldDocs) ([]byte, error) {
	def := config.Default()
	values, err := encodedValues(def)
	if err != nil {
		return nil, err
	}
	g := &gen{docs: docs, values: values}
	g.table(nil, reflect.ValueOf(def).Elem(), false)
	if len(g.missing) > 0 {
		return nil, fmt.Errorf("config fields without a doc comment: %s", strings.Join(g.missing, ", "))
	}
	return g.buf.Bytes(), nil
}

// table writes the scalar keys of struct v at path (without defaults for an array of
// tables' entry shape), then its sub-tables, each under its own subsection heading.
func (g *gen) table(path []string, v reflect.Value, shape bool) {
	t := v.Type()
	docs := g.docs[t.Name()]
	type sub struct {
		name, doc string
		v         reflect.Value
		array     bool
	}
	var subs []sub
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := config.TOMLName(f)
		if key == "" {
			continue
		}
		doc := docs[f.Name]
		if strings.TrimSpace(doc) == "" {
			g.missing = append(g.missing, t.Name()+"."+f.Name)
		}
		fv := v.Field(i)
		switch {
		case isTable(f.Type):
			subs = append(subs, sub{key, doc, fv, false})
		case f.Type.Kind() == reflect.Slice && isTable(f.Type.Elem()):
			subs = append(subs, sub{key, doc, fv, true})
		default:
			g.buf.WriteString(".TP\n")
			if shape {
				g.buf.WriteString(".B " + key + "\n")
			} else {
				val, ok := g.values[strings.Join(append(append([]string{}, path...), key), ".")]
				if !ok {
					val = "(not encoded)"
					g.missing = append(g.missing, strings.Join(path, ".")+"."+key+" (no encoded default)")
				}
				g.buf.WriteString(".B " + escapeArg(key+" = "+val) + "\n")
			}
			g.text(doc)
		}
	}
	for _, s := range subs {
		p := append(append([]string{}, path...), s.name)
		name := strings.Join(p, ".")
		if s.array {
			g.buf.WriteString(".SS \"[[" + name + "]]\"\n")
			g.text(s.doc)
			g.buf.WriteString("Each entry is a table of its own, [[" + name + "]], with these keys; there are none by default.\n")
			g.table(p, reflect.New(s.v.Type().Elem()).Elem(), true)
			continue
		}
		g.buf.WriteString(".SS \"[" + name + "]\"\n")
		g.text(s.doc)
		g.table(p, s.v, shape)
	}
}

// encodedValues returns the values of c as config.Encode writes them (go-toml, the
// encoder of the config package), by "table.key": configman reads no TOML itself.
func encodedValues(c *config.Config) (map[string]string, error) {
	b, err := config.Encode(c)
	if err != nil {
		return nil, err
	}
	values := map[string]string{}
	table := ""
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "[[") && strings.HasSuffix(l, "]]"):
			return nil, fmt.Errorf("config.Encode of the defaults has an array of tables (%s); configman lists only their shape", l)
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			table = strings.TrimSuffix(strings.TrimPrefix(l, "["), "]")
		default:
			key, val, ok := strings.Cut(l, " = ")
			if !ok {
				return nil, fmt.Errorf("config.Encode wrote %q, which is not key = value", l)
			}
			values[table+"."+key] = val
		}
	}
	return values, nil
}

var codeSpan = regexp.MustCompile("`([^`]*)`")

// text writes a doc comment as groff text: `code` in bold, blank lines as paragraph
// breaks inside the tagged paragraph, lines that groff would take for requests escaped.
func (g *gen) text(doc string) {
	for _, l := range strings.Split(strings.TrimSpace(doc), "\n") {
		if strings.TrimSpace(l) == "" {
			g.buf.WriteString(".IP\n")
			continue
		}
		l = strings.ReplaceAll(l, `\`, `\e`)
		l = codeSpan.ReplaceAllString(l, `\fB$1\fR`)
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			l = `\&` + l
		}
		g.buf.WriteString(l + "\n")
	}
}

// escapeArg makes s one argument of a groff request: backslashes, quotes and dashes
// escaped, spaces kept by quoting.
func escapeArg(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, `"`, `\(dq`)
	s = strings.ReplaceAll(s, `'`, `\(aq`)
	s = strings.ReplaceAll(s, "-", `\-`)
	return `"` + s + `"`
}
