package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Load reads, strictly decodes, defaults and validates the config file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w (write one from configs/edgevoice.toml and pass -config FILE or set %s)", err, EnvVar)
	}
	return Decode(path, data)
}

// Decode decodes data (named name in messages) strictly into a Config, fills the
// defaults and validates it. Every problem of the file comes back in one *Error, each as
// "name:LINE:COL: key "section.key": message".
func Decode(name string, data []byte) (*Config, error) {
	idx := indexKeys(data)
	c := &Config{}
	var probs []Problem
	// go-toml stops at the first value it cannot decode: report it, drop the key and
	// decode again, so that every bad value of the file is reported at once.
	doc := data
	for round := 0; ; round++ {
		*c = Config{}
		dec := toml.NewDecoder(bytes.NewReader(doc))
		dec.DisallowUnknownFields()
		err := dec.Decode(c)
		if err == nil {
			break
		}
		var sme *toml.StrictMissingError
		if errors.As(err, &sme) {
			probs = append(probs, strictProblems(name, sme, idx, round == 0)...)
			break // the rest of the document was decoded
		}
		var de *toml.DecodeError
		if !errors.As(err, &de) {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		reported := map[string]bool{}
		for _, p := range probs {
			reported[p.Key] = true
		}
		pr := decodeProblem(name, de, idx, round == 0, reported)
		probs = append(probs, pr)
		key := de.Key()
		if len(key) == 0 || round > 200 {
			return nil, &Error{Problems: probs} // a syntax error: nothing more to read
		}
		next, ok := dropKey(data, idx, probs)
		if !ok {
			return nil, &Error{Problems: probs}
		}
		doc = next
	}
	probs = append(probs, checkTypes(name, idx)...)
	c.SetDefaults()
	if err := c.validate(name, idx); err != nil {
		var e *Error
		if errors.As(err, &e) {
			probs = append(probs, e.Problems...)
		}
	}
	if len(probs) > 0 {
		return nil, &Error{Problems: dedupe(probs)}
	}
	return c, nil
}

// dropKey re-encodes data without every key already reported (as a generic document,
// which always decodes), so that decoding can go on past a bad value.
func dropKey(data []byte, idx map[string]keyPos, probs []Problem) ([]byte, bool) {
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		return nil, false
	}
	for _, p := range probs {
		if p.Key == "" {
			continue
		}
		deletePath(m, strings.Split(p.Key, "."))
	}
	out, err := toml.Marshal(m)
	return out, err == nil
}

// deletePath removes the key at path from a generic document (in every element of an
// array of tables).
func deletePath(v any, path []string) {
	switch t := v.(type) {
	case map[string]any:
		if len(path) == 1 {
			delete(t, path[0])
			return
		}
		deletePath(t[path[0]], path[1:])
	case []any:
		if i, err := strconv.Atoi(path[0]); err == nil {
			if i < len(t) {
				deletePath(t[i], path[1:])
			}
			return
		}
		for _, e := range t {
			deletePath(e, path)
		}
	case []map[string]any:
		for _, e := range t {
			deletePath(e, path)
		}
	}
}

// dedupe keeps the first problem of each key (a value that did not decode is not also
// reported as out of range) and sorts by position.
func dedupe(probs []Problem) []Problem {
	seen := map[string]bool{}
	out := probs[:0]
	for _, p := range probs {
		if p.Key != "" && seen[p.Key] {
			continue
		}
		if p.Key != "" && !p.multi {
			seen[p.Key] = true
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Line == 0) != (b.Line == 0) {
			return a.Line != 0
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return out
}

// Problem is one thing wrong with a config file.
type Problem struct {
	File      string // the file name as given
	Line, Col int    // 1-based; 0 when the key is not in the file (a default, a flag)
	Key       string // dotted key ("audio.capture_format"); "" for the whole file
	Msg       string // what is wrong and how to fix it; never a secret value

	multi bool // more problems of the same key may follow (lists)
}

func (p Problem) String() string {
	pos := p.File
	if p.Line > 0 {
		pos = fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
	if pos == "" {
		pos = "config"
	}
	if p.Key == "" {
		return pos + ": " + p.Msg
	}
	return fmt.Sprintf("%s: key %q: %s", pos, p.Key, p.Msg)
}

// Error is every problem of a config file, printed one per line.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// problems collects the validation problems of one file.
type problems struct {
	file string
	idx  map[string]keyPos
	list []Problem
}

// section returns an adder for the keys of one section.
func (p *problems) section(name string) *sectionProblems {
	return &sectionProblems{p: p, name: name}
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &Error{Problems: p.list}
}

// sectionProblems adds problems about the keys of one section.
type sectionProblems struct {
	p    *problems
	name string
}

// add reports a problem with key (inside the section, dotted for sub-tables).
func (s *sectionProblems) add(key, format string, args ...any) {
	full := s.name + "." + key
	pr := Problem{File: s.p.file, Key: full, Msg: fmt.Sprintf(format, args...), multi: true}
	if pos, ok := s.p.idx[full]; ok {
		pr.Line, pr.Col = pos.line, pos.col
	} else if pos, ok := s.p.idx[s.name]; ok && s.p.idx != nil {
		pr.Line, pr.Col = pos.line, pos.col // a default that does not fit: point at the table
	}
	s.p.list = append(s.p.list, pr)
}

// setEmpty reports whether the file sets key to an empty string.
func (s *sectionProblems) setEmpty(key string) bool {
	return s.p.idx[s.name+"."+key].empty
}

// strictProblems turns go-toml's unknown-key errors into problems that list the keys
// that exist.
func strictProblems(name string, sme *toml.StrictMissingError, idx map[string]keyPos, exact bool) []Problem {
	out := make([]Problem, 0, len(sme.Errors))
	for i := range sme.Errors {
		e := &sme.Errors[i]
		key := strings.Join(e.Key(), ".")
		parent := e.Key()[:len(e.Key())-1]
		known := knownKeys(parent)
		var msg string
		switch {
		case len(e.Key()) == 1:
			msg = fmt.Sprintf("unknown section [%s] (sections: %s)", key, strings.Join(known, ", "))
		case e.Error() == "toml: missing table":
			msg = fmt.Sprintf("unknown table [%s] (keys in [%s]: %s)", key, strings.Join(parent, "."), strings.Join(known, ", "))
		default:
			msg = fmt.Sprintf("unknown key %q (keys in [%s]: %s)", key, strings.Join(parent, "."), strings.Join(known, ", "))
		}
		p := Problem{File: name, Msg: msg}
		if exact {
			p.Line, p.Col = e.Position()
		} else if pos, ok := idx[key]; ok {
			p.Line, p.Col = pos.line, pos.col
		}
		out = append(out, p)
	}
	return out
}

var typeErrRe = regexp.MustCompile(`^cannot decode TOML (\w+) into (?:struct field \S+|a Go value) of type (\S+)`)

// decodeProblem describes a value go-toml could not decode.
func decodeProblem(name string, de *toml.DecodeError, idx map[string]keyPos, exact bool, reported map[string]bool) Problem {
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	if m := typeErrRe.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("got a TOML %s, want %s", m[1], goTypeWords(m[2]))
	}
	key := strings.Join(de.Key(), ".")
	p := Problem{File: name, Key: key, Msg: msg}
	if exact {
		p.Line, p.Col = de.Position()
	}
	if _, ok := idx[key]; !ok {
		// go-toml names a key of an array table without its index: find the entry
		// (on the reported line, or the first one not reported yet).
		var cands []string
		for k := range idx {
			if withoutIndexes(k) == key {
				cands = append(cands, k)
			}
		}
		sort.Strings(cands)
		for _, k := range cands {
			if !exact && !reported[k] || exact && idx[k].vline == p.Line {
				p.Key = k
				break
			}
		}
	}
	if pos, ok := idx[p.Key]; ok && !exact {
		p.Line, p.Col = pos.vline, pos.vcol
	}
	return p
}

// withoutIndexes drops the array indexes of a dotted key ("session.tools.0.name" ->
// "session.tools.name").
func withoutIndexes(key string) string {
	parts := strings.Split(key, ".")
	out := parts[:0]
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}

// goTypeWords says what a Go type looks like in TOML.
func goTypeWords(t string) string {
	switch {
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case t == "config.Duration":
		return "a duration string such as \"5s\""
	case strings.HasPrefix(t, "config."):
		return "a table"
	}
	return t
}

// knownKeys lists the TOML keys of the table at path inside Config (nil if path leads
// nowhere), sorted.
func knownKeys(path []string) []string {
	t := reflect.TypeOf(Config{})
	for _, p := range path {
		f, ok := fieldByTOML(t, p)
		if !ok {
			return nil
		}
		t = derefElem(f.Type)
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		if k := TOMLName(t.Field(i)); k != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// derefElem follows pointers, slices and arrays to the element type.
func derefElem(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	return t
}

// TOMLName is the key a struct field decodes from ("" for skipped/unexported fields).
func TOMLName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return f.Name
	}
	return name
}

// fieldByTOML finds the field of struct type t that decodes from key.
func fieldByTOML(t reflect.Type, key string) (reflect.StructField, bool) {
	if t.Kind() != reflect.Struct {
		return reflect.StructField{}, false
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if n := TOMLName(f); n != "" && (n == key || strings.EqualFold(n, key)) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// keyPos is where a key sits in the document (line, col of the key; vline, vcol of its
// value) and what kind of value it has.
type keyPos struct {
	line, col   int
	vline, vcol int
	kind        unstable.Kind
	empty       bool // an empty string
	nonString   bool // an array with an element that is not a string
}

// indexKeys maps every dotted key path of the document ("appliance.talk_mode"; array
// tables as "session.tools.0.name"; tables by their name) to its position and value
// kind. Documents that do not parse give an empty index: the decoder reports them.
func indexKeys(data []byte) map[string]keyPos {
	idx := map[string]keyPos{}
	var p unstable.Parser
	p.Reset(data)
	var table []string
	arrays := map[string]int{}
	keyOf := func(it unstable.Iterator) ([]string, *unstable.Node) {
		var parts []string
		var first *unstable.Node
		for it.Next() {
			if first == nil {
				first = it.Node()
			}
			parts = append(parts, string(it.Node().Data))
		}
		return parts, first
	}
	pos := func(n *unstable.Node) (int, int) {
		if n == nil || n.Raw.Length == 0 {
			return 0, 0
		}
		s := p.Shape(n.Raw)
		return s.Start.Line, s.Start.Column
	}
	for p.NextExpression() {
		n := p.Expression()
		switch n.Kind {
		case unstable.Table:
			parts, first := keyOf(n.Key())
			table = parts
			if _, dup := idx[strings.Join(parts, ".")]; !dup {
				l, c := pos(first)
				idx[strings.Join(parts, ".")] = keyPos{line: l, col: c, vline: l, vcol: c, kind: unstable.Table}
			}
		case unstable.ArrayTable:
			parts, first := keyOf(n.Key())
			k := strings.Join(parts, ".")
			i := arrays[k]
			arrays[k] = i + 1
			table = append(parts, strconv.Itoa(i))
			l, c := pos(first)
			idx[strings.Join(table, ".")] = keyPos{line: l, col: c, vline: l, vcol: c, kind: unstable.ArrayTable}
		case unstable.KeyValue:
			parts, first := keyOf(n.Key())
			full := append(append([]string{}, table...), parts...)
			v := n.Value()
			kp := keyPos{kind: v.Kind, empty: v.Kind == unstable.String && len(v.Data) == 0}
			if v.Kind == unstable.Array {
				for it := v.Children(); it.Next(); {
					kp.nonString = kp.nonString || it.Node().Kind != unstable.String
				}
			}
			kp.line, kp.col = pos(first)
			kp.vline, kp.vcol = pos(v)
			if kp.vline == 0 {
				kp.vline, kp.vcol = kp.line, kp.col
			}
			idx[strings.Join(full, ".")] = kp
		}
	}
	if p.Error() != nil {
		return map[string]keyPos{}
	}
	return idx
}

var durationType = reflect.TypeOf(Duration(0))

// checkTypes catches what go-toml accepts but a person did not mean: an integer for a
// duration (go-toml would read `timeout = 5` as 5 ns). Durations must be strings.
func checkTypes(name string, idx map[string]keyPos) []Problem {
	var out []Problem
	keys := make([]string, 0, len(idx))
	for k := range idx {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		pos := idx[k]
		t := reflect.TypeOf(Config{})
		ok := true
		for _, part := range strings.Split(k, ".") {
			if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
				t = t.Elem()
				continue // index of an array table
			}
			f, found := fieldByTOML(t, part)
			if !found {
				ok = false
				break
			}
			t = f.Type
			for t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
		}
		switch {
		case ok && t == durationType && pos.kind != unstable.String:
			out = append(out, Problem{File: name, Line: pos.line, Col: pos.col, Key: k,
				Msg: fmt.Sprintf("got a TOML %s, want a duration string such as \"5s\" or \"250ms\"", strings.ToLower(pos.kind.String()))})
		case ok && t.Kind() == reflect.Slice && t.Elem() == durationType && pos.nonString:
			out = append(out, Problem{File: name, Line: pos.line, Col: pos.col, Key: k,
				Msg: "want an array of duration strings such as [\"3s\", \"10s\"]"})
		}
	}
	return out
}
