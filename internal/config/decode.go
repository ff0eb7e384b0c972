package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Load reads, strictly decodes, defaults and validates the config file at path and its
// drop-ins (see LoadFiles).
func Load(path string) (*Config, error) {
	c, _, err := LoadFiles(path)
	return c, err
}

// DropInDir is the drop-in directory of the config file path: path + ".d"
// (/etc/edgevoice/edgevoice.toml.d).
func DropInDir(path string) string { return path + ".d" }

// DropIns lists the drop-in files of the config file path: the *.toml files of
// DropInDir(path), in lexical order. A missing directory has none; hidden files
// (".name.toml") and package-manager leftovers (*.dpkg-*, *.ucf-*) are skipped, and so
// is everything that does not end in ".toml".
func DropIns(path string) ([]string, error) {
	dir := DropInDir(path)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: drop-in directory: %w", err)
	}
	var out []string
	for _, e := range ents { // os.ReadDir sorts by name
		n := e.Name()
		if !strings.HasSuffix(n, ".toml") || strings.HasPrefix(n, ".") || strings.Contains(n, ".dpkg-") || strings.Contains(n, ".ucf-") {
			continue
		}
		full := filepath.Join(dir, n)
		if st, err := os.Stat(full); err != nil || st.IsDir() {
			continue // a dangling link or a directory named *.toml
		}
		out = append(out, full)
	}
	return out, nil
}

// LoadFiles reads the config file at path, then every drop-in of DropIns(path) in
// order, merges them (tables merge; a later file's key replaces an earlier one's, and
// arrays, arrays of tables included, are replaced whole), fills the defaults and
// validates the result. It returns the config and the files read, path first. Every
// problem of every file comes back at once, each with the FILE:LINE:COL of the file it
// is in.
//
// checks run after the config's own validation; their problems are placed at the
// FILE:LINE:COL of their Key like the rest (a binary's checks that need more than
// this package may import: edgevoice compiles the tools' JSON Schemas).
func LoadFiles(path string, checks ...Check) (*Config, []string, error) {
	data, err := readCapped(path)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("config: %w (the package installs %s; pass -config FILE or set %s to use another file)", err, DefaultPath, EnvVar)
	}
	files := []string{path}
	srcs := []Source{{Name: path, Data: data}}
	drop, err := DropIns(path)
	if err != nil {
		return nil, files, err
	}
	for _, f := range drop {
		b, err := readCapped(f)
		if errors.Is(err, errTooLarge) {
			return nil, files, err
		}
		if err != nil {
			return nil, files, fmt.Errorf("config: drop-in: %w", err)
		}
		files = append(files, f)
		srcs = append(srcs, Source{Name: f, Data: b})
	}
	c, err := DecodeFiles(srcs, checks...)
	return c, files, err
}

// Check is an extra check of a decoded, valid-so-far config. It returns problems
// with Key (the dotted key, "session.tools.0.parameters") and Msg set; the decoder
// fills in File, Line and Col.
type Check func(c *Config) []Problem

// Source is one file of a config: its name (for messages) and its contents.
type Source struct {
	Name string
	Data []byte
}

// Decode decodes data (named name in messages) strictly into a Config, fills the
// defaults and validates it. Every problem of the file comes back in one *Error, each as
// "name:LINE:COL: key "section.key": message".
func Decode(name string, data []byte) (*Config, error) {
	return DecodeFiles([]Source{{Name: name, Data: data}})
}

// DecodeFiles decodes each source strictly, merges them in order (as LoadFiles), fills
// the defaults and validates the result. Problems name the source they are in.
func DecodeFiles(srcs []Source, checks ...Check) (*Config, error) {
	for _, src := range srcs {
		if len(src.Data) > MaxFileSize {
			return nil, tooLarge(src.Name)
		}
	}
	var probs []Problem
	merged := map[string]any{}
	idx := map[string]keyPos{}
	fatal := false
	for _, src := range srcs {
		doc, fidx, fprobs, ok := decodeOne(src.Name, src.Data)
		probs = append(probs, fprobs...)
		if !ok {
			fatal = true // a syntax error: the file's keys are unknown
			continue
		}
		mergeTables(merged, doc)
		mergeIndex(idx, fidx, src.Name)
	}
	order := map[string]int{}
	for i, src := range srcs {
		if _, dup := order[src.Name]; !dup {
			order[src.Name] = i
		}
	}
	if fatal {
		return nil, &Error{Problems: dedupe(probs, order)}
	}
	out, err := toml.Marshal(merged)
	if err != nil {
		return nil, fmt.Errorf("config: merging %s: %w", srcNames(srcs), err)
	}
	c := &Config{}
	// Unknown keys and values of the wrong type were reported (and wrong values dropped)
	// file by file; what is left decodes.
	if err := toml.NewDecoder(bytes.NewReader(out)).Decode(c); err != nil {
		return nil, fmt.Errorf("config: merging %s: %w", srcNames(srcs), err)
	}
	c.SetDefaults()
	main := ""
	if len(srcs) > 0 {
		main = srcs[0].Name
	}
	if err := c.validate(main, idx); err != nil {
		var e *Error
		if errors.As(err, &e) {
			probs = append(probs, e.Problems...)
		}
	}
	if len(probs) == 0 {
		p := &problems{file: main, idx: idx}
		for _, check := range checks {
			for _, pr := range check(c) {
				p.addFull(pr.Key, true, "%s", pr.Msg)
			}
		}
		probs = append(probs, p.list...)
	}
	if len(probs) > 0 {
		return nil, &Error{Problems: dedupe(probs, order)}
	}
	return c, nil
}

func srcNames(srcs []Source) string {
	names := make([]string, len(srcs))
	for i, s := range srcs {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// decodeOne decodes one file strictly into a Config to find its problems (unknown keys,
// values of the wrong type), and returns the file as a generic document without the
// values that did not decode, with its key index. ok is false when the file does not
// parse at all.
func decodeOne(name string, data []byte) (doc map[string]any, idx map[string]keyPos, probs []Problem, ok bool) {
	idx = indexKeys(data)
	if unk := unknownKeys(name, idx); len(unk) > maxUnknownKeys {
		// go-toml builds the context of every strict error from the whole document
		// (quadratic): report the first ones and count the rest without asking it.
		probs = append(unk[:maxUnknownKeys:maxUnknownKeys], Problem{File: name,
			Msg: fmt.Sprintf("and %d more unknown keys (is this an edgevoice config file?)", len(unk)-maxUnknownKeys)})
		return nil, idx, probs, false
	}
	c := &Config{}
	// go-toml stops at the first value it cannot decode: report it, drop the key and
	// decode again, so that every bad value of the file is reported at once.
	cur := data
	for round := 0; ; round++ {
		*c = Config{}
		dec := toml.NewDecoder(bytes.NewReader(cur))
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
			return nil, idx, append(probs, Problem{File: name, Msg: err.Error()}), false
		}
		reported := map[string]bool{}
		for _, p := range probs {
			reported[p.Key] = true
		}
		probs = append(probs, decodeProblem(name, de, idx, round == 0, reported))
		if len(de.Key()) == 0 || round > 200 {
			return nil, idx, probs, false // a syntax error: nothing more to read
		}
		next, ok := dropKey(data, idx, probs)
		if !ok {
			return nil, idx, probs, false
		}
		cur = next
	}
	probs = append(probs, checkTypes(name, idx)...)
	doc = map[string]any{}
	if err := toml.Unmarshal(cur, &doc); err != nil {
		return nil, idx, append(probs, Problem{File: name, Msg: err.Error()}), false
	}
	return doc, idx, probs, true
}

// mergeTables merges src into dst: tables merge key by key, anything else (values,
// arrays, arrays of tables) replaces what dst had.
func mergeTables(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeTables(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// mergeIndex adds the key positions of one file (named name) to idx, as mergeTables
// merges the values: a key of the file replaces the earlier one, and every earlier key
// under a value or an array of tables the file sets is dropped (the file replaced it).
func mergeIndex(idx, fidx map[string]keyPos, name string) {
	var replaced []string
	for k, pos := range fidx {
		switch pos.kind {
		case unstable.Table:
		case unstable.ArrayTable:
			if i := strings.LastIndexByte(k, '.'); i > 0 {
				replaced = append(replaced, k[:i])
			}
		default:
			replaced = append(replaced, k)
		}
	}
	for _, r := range replaced {
		for k := range idx {
			if k == r || strings.HasPrefix(k, r+".") {
				delete(idx, k)
			}
		}
	}
	for k, pos := range fidx {
		pos.file = name
		idx[k] = pos
	}
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
// array of tables). A path that ends on an element of an array ("tools.0", when tools
// had to be a table) removes the whole array: the shape of its elements was wrong.
func deletePath(v any, path []string) {
	if len(path) == 0 {
		return
	}
	switch t := v.(type) {
	case map[string]any:
		if len(path) == 1 || endsOnElement(t[path[0]], path[1:]) {
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

// endsOnElement reports whether rest names one element of the array v.
func endsOnElement(v any, rest []string) bool {
	if len(rest) != 1 {
		return false
	}
	if _, err := strconv.Atoi(rest[0]); err != nil {
		return false
	}
	switch v.(type) {
	case []any, []map[string]any:
		return true
	}
	return false
}

// dedupe keeps the first problem of each key of a file (a value that did not decode is
// not also reported as out of range) and sorts by file (in the order of order), then
// position.
func dedupe(probs []Problem, order map[string]int) []Problem {
	seen := map[string]bool{}
	out := probs[:0]
	for _, p := range probs {
		k := p.File + "\x00" + p.Key
		if p.Key != "" && seen[k] {
			continue
		}
		if p.Key != "" && !p.multi {
			seen[k] = true
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Line == 0) != (b.Line == 0) {
			return a.Line != 0
		}
		if oa, ob := order[a.File], order[b.File]; oa != ob {
			return oa < ob
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
	if pos, ok := tablePos(s.p.idx, full); ok {
		pr.File, pr.Line, pr.Col = cmp.Or(pos.file, pr.File), pos.line, pos.col
	} else if pos, ok := s.p.idx[s.name]; ok && s.p.idx != nil {
		// a default that does not fit: point at the table
		pr.File, pr.Line, pr.Col = cmp.Or(pos.file, pr.File), pos.line, pos.col
	}
	s.p.list = append(s.p.list, pr)
}

// addFull reports a problem with the dotted key full (from the top of the config);
// multi false: it is the only problem reported for the key.
func (p *problems) addFull(full string, multi bool, format string, args ...any) {
	pr := Problem{File: p.file, Key: full, Msg: fmt.Sprintf(format, args...), multi: multi}
	if pos, ok := tablePos(p.idx, full); ok {
		pr.File, pr.Line, pr.Col = cmp.Or(pos.file, pr.File), pos.line, pos.col
	}
	p.list = append(p.list, pr)
}

// tablePos finds where the file sets the dotted key full or, when it does not (a key
// left at its default, an element of an array written as one table), the innermost
// table header around it.
func tablePos(idx map[string]keyPos, full string) (keyPos, bool) {
	if pos, ok := idx[full]; ok {
		return pos, true
	}
	for i := strings.LastIndexByte(full, '.'); i > 0; i = strings.LastIndexByte(full, '.') {
		full = full[:i]
		if pos, ok := idx[full]; ok && (pos.kind == unstable.Table || pos.kind == unstable.ArrayTable) {
			return pos, true
		}
	}
	return keyPos{}, false
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
	if strings.Contains(msg, "cannot store an array table in a struct") {
		t := withoutIndexes(p.Key)
		p.Msg = fmt.Sprintf("%s is one table: write [%s], not [[%s]]", t, t, t)
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
	file        string // the file the key is in (merged indexes)
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
	// Parser.Shape counts lines from the start of the document at every call
	// (quadratic in the keys); look the offset up in a table of line starts instead.
	lineStarts := []int{0}
	for i, b := range data {
		if b == '\n' {
			lineStarts = append(lineStarts, i+1)
		}
	}
	pos := func(n *unstable.Node) (int, int) {
		if n == nil || n.Raw.Length == 0 {
			return 0, 0
		}
		off := int(n.Raw.Offset)
		l := sort.SearchInts(lineStarts, off+1) // lines starting at or before off
		return l, off - lineStarts[l-1] + 1
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

// MaxFileSize is the largest config file (or drop-in) read: a config is a few KiB, and
// a bound keeps a runaway file from costing minutes of CPU.
const MaxFileSize = 1 << 20

// maxUnknownKeys is how many unknown keys of one file are reported one by one; the rest
// are counted.
const maxUnknownKeys = 50

// errTooLarge marks a file over MaxFileSize.
var errTooLarge = errors.New("larger than 1 MiB")

func tooLarge(name string) error {
	return fmt.Errorf("config: %s: %w; a config file is a few KiB: is this the right file?", name, errTooLarge)
}

// readCapped reads the file at path, refusing one over MaxFileSize (or one that is not
// a regular file, such as a FIFO, which would block the reader).
func readCapped(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if st.Size() > MaxFileSize {
		return nil, tooLarge(path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, tooLarge(path)
	}
	return b, nil
}

// unknownKeys returns a problem for every key of idx that is not in Config, in file
// order, the way strictProblems words them.
func unknownKeys(name string, idx map[string]keyPos) []Problem {
	var out []Problem
	seen := map[string]bool{}
	for k, pos := range idx {
		parts := strings.Split(k, ".")
		t := reflect.TypeOf(Config{})
		for i, part := range parts {
			if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
				if _, err := strconv.Atoi(part); err == nil {
					t = t.Elem()
					continue
				}
			}
			f, found := fieldByTOML(t, part)
			if !found {
				if u := strings.Join(parts[:i+1], "."); !seen[u] && (i == len(parts)-1 || t.Kind() == reflect.Struct) {
					seen[u] = true
					parent := parts[:i]
					msg := fmt.Sprintf("unknown key %q (keys in [%s]: %s)", strings.Join(parts[:i+1], "."), strings.Join(withoutIndexesParts(parent), "."), strings.Join(knownKeys(withoutIndexesParts(parent)), ", "))
					if i == 0 {
						msg = fmt.Sprintf("unknown section [%s] (sections: %s)", part, strings.Join(knownKeys(nil), ", "))
					}
					out = append(out, Problem{File: name, Line: pos.line, Col: pos.col, Msg: msg})
				}
				break
			}
			t = f.Type
			for t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Col < out[j].Col
	})
	return out
}

func withoutIndexesParts(parts []string) []string {
	var out []string
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			out = append(out, p)
		}
	}
	return out
}
