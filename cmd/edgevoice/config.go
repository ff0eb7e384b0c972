package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// defaultConfigPath is where the device reads its config (ConfigurationDirectory=edgevoice).
const defaultConfigPath = "/etc/edgevoice/edgevoice.toml"

// Config is the whole config file: one field per section. Each section type lives in
// the file of the area that owns it (config_<section>.go); this file decodes them all
// strictly and reports problems as FILE:LINE:COL.
type Config struct {
	// Appliance: how the appliance behaves (talk mode, idle policy, control socket, logs).
	Appliance applianceConfig `toml:"appliance"`
	// Board: the hardware (or the simulated board): buttons and LEDs.
	Board boardConfig `toml:"board"`
	// Audio: capture and playback devices (or WAV files).
	Audio audioConfig `toml:"audio"`
	// Provisioning: where ephemeral keys come from (the provisioning daemon).
	Provisioning provisioningConfig `toml:"provisioning"`
	// Broker: the reference key broker a fleet operator runs on a server.
	Broker brokerConfig `toml:"broker"`
	// Session: the realtime conversation (voice, instructions, turn detection).
	Session sessionConfig `toml:"session"`
	// RTC: the WebRTC transport (ICE, codec, jitter buffer).
	RTC rtcConfig `toml:"rtc"`
}

// section is what every config section implements.
type section interface {
	setDefaults()
	validate() error
}

// sections lists the sections of c in file order, with their TOML names.
func (c *Config) sections() []struct {
	name string
	s    section
} {
	return []struct {
		name string
		s    section
	}{
		{"appliance", &c.Appliance},
		{"board", &c.Board},
		{"audio", &c.Audio},
		{"provisioning", &c.Provisioning},
		{"broker", &c.Broker},
		{"session", &c.Session},
		{"rtc", &c.RTC},
	}
}

// setDefaults fills every section's zero fields with its defaults.
func (c *Config) setDefaults() {
	for _, s := range c.sections() {
		s.s.setDefaults()
	}
}

// validate checks every section and returns all problems joined, each prefixed with
// its section.
func (c *Config) validate() error {
	var errs []error
	for _, s := range c.sections() {
		if err := s.s.validate(); err != nil {
			errs = append(errs, sectionError{section: s.name, err: err})
		}
	}
	return errors.Join(errs...)
}

// sectionError is a validate error of one section.
type sectionError struct {
	section string
	err     error
}

func (e sectionError) Error() string { return "[" + e.section + "] " + e.err.Error() }
func (e sectionError) Unwrap() error { return e.err }

// fieldError is a validate error about one key of a section. Sections may return one
// (through fieldErr) so that check-config points at the line of that key.
type fieldError struct {
	key string // the TOML key inside the section, dotted for sub-tables ("capture.device")
	msg string
}

func (e *fieldError) Error() string { return e.key + ": " + e.msg }

// fieldErr returns an error about one key of the section being validated.
func fieldErr(key, format string, args ...any) error {
	return &fieldError{key: key, msg: fmt.Sprintf(format, args...)}
}

// loadConfig reads, strictly decodes, defaults and validates the config file at path.
func loadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w (write one from configs/edgevoice.toml or pass -config FILE)", err)
	}
	return decodeConfig(path, data)
}

// decodeConfig decodes data (named name in messages) strictly into a Config, fills the
// defaults and validates it. Every problem comes back as "name:LINE:COL: message" naming
// the key, one per line.
func decodeConfig(name string, data []byte) (*Config, error) {
	c := &Config{}
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return nil, describeDecodeError(name, err)
	}
	idx := indexKeys(data)
	if err := checkTypes(name, idx, reflect.TypeOf(*c)); err != nil {
		return nil, err
	}
	c.setDefaults()
	if err := c.validate(); err != nil {
		return nil, describeValidateError(name, idx, err)
	}
	return c, nil
}

// describeDecodeError turns go-toml's errors into FILE:LINE:COL lines that name the key
// and say what is expected.
func describeDecodeError(name string, err error) error {
	var sme *toml.StrictMissingError
	if errors.As(err, &sme) {
		lines := make([]string, 0, len(sme.Errors))
		for i := range sme.Errors {
			e := &sme.Errors[i]
			row, col := e.Position()
			key := strings.Join(e.Key(), ".")
			var msg string
			if known := knownKeys(e.Key()[:len(e.Key())-1]); len(e.Key()) == 1 {
				msg = fmt.Sprintf("unknown section [%s] (sections: %s)", key, strings.Join(known, ", "))
			} else if e.Error() == "toml: missing table" {
				msg = fmt.Sprintf("unknown table [%s] (keys in [%s]: %s)", key, strings.Join(e.Key()[:len(e.Key())-1], "."), strings.Join(known, ", "))
			} else {
				msg = fmt.Sprintf("unknown key %q (keys in [%s]: %s)", key, strings.Join(e.Key()[:len(e.Key())-1], "."), strings.Join(known, ", "))
			}
			lines = append(lines, fmt.Sprintf("%s:%d:%d: %s", name, row, col, msg))
		}
		return &configError{lines: lines}
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if m := typeErrRe.FindStringSubmatch(msg); m != nil {
			msg = fmt.Sprintf("got a TOML %s, want %s", m[1], goTypeWords(m[2]))
		}
		if k := strings.Join(de.Key(), "."); k != "" {
			msg = fmt.Sprintf("key %q: %s", k, msg)
		}
		return &configError{lines: []string{fmt.Sprintf("%s:%d:%d: %s", name, row, col, msg)}}
	}
	return fmt.Errorf("%s: %w", name, err)
}

var typeErrRe = regexp.MustCompile(`^cannot decode TOML (\w+) into (?:struct field \S+|a Go value) of type (\S+)`)

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
	case strings.HasPrefix(t, "main."):
		if t == "main.duration" {
			return "a duration string such as \"5s\""
		}
		return "a table"
	}
	return t
}

// configError is one or more FILE:LINE:COL problems, printed one per line.
type configError struct{ lines []string }

func (e *configError) Error() string { return strings.Join(e.lines, "\n") }

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
		if k := tomlName(t.Field(i)); k != "" {
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

// tomlName is the key a struct field decodes from ("" for skipped/unexported fields).
func tomlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("toml")
	name, _, _ := strings.Cut(tag, ",")
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
		if n := tomlName(f); n != "" && (n == key || strings.EqualFold(n, key)) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// keyPos is where a key=value sits in the document and what kind of value it has.
type keyPos struct {
	line, col int
	kind      unstable.Kind
}

// indexKeys maps every dotted key path of the document ("appliance.talk_mode"; array
// tables as "board.buttons.0.pin") to its position and value kind. Documents that do not
// parse give an empty index: the decoder has already reported them.
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
	for p.NextExpression() {
		n := p.Expression()
		switch n.Kind {
		case unstable.Table:
			table, _ = keyOf(n.Key())
		case unstable.ArrayTable:
			parts, _ := keyOf(n.Key())
			k := strings.Join(parts, ".")
			i := arrays[k]
			arrays[k] = i + 1
			table = append(parts, fmt.Sprint(i))
		case unstable.KeyValue:
			parts, first := keyOf(n.Key())
			full := append(append([]string{}, table...), parts...)
			pos := keyPos{kind: n.Value().Kind}
			if first != nil {
				s := p.Shape(first.Raw)
				pos.line, pos.col = s.Start.Line, s.Start.Column
			}
			idx[strings.Join(full, ".")] = pos
		}
	}
	return idx
}

var durationType = reflect.TypeOf(duration(0))

// checkTypes catches what go-toml accepts but a person did not mean: an integer for a
// duration (go-toml would read `timeout = 5` as 5 ns). Durations must be strings.
func checkTypes(name string, idx map[string]keyPos, root reflect.Type) error {
	var lines []string
	keys := make([]string, 0, len(idx))
	for k := range idx {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		pos := idx[k]
		t := root
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
		if ok && t == durationType && pos.kind != unstable.String {
			lines = append(lines, fmt.Sprintf("%s:%d:%d: key %q: got a TOML %s, want a duration string such as \"5s\" or \"250ms\"",
				name, pos.line, pos.col, k, strings.ToLower(pos.kind.String())))
		}
	}
	if lines != nil {
		return &configError{lines: lines}
	}
	return nil
}

// describeValidateError adds the file name, and the line of the key when a section
// returned a fieldError.
func describeValidateError(name string, idx map[string]keyPos, err error) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	lines := make([]string, 0, len(errs))
	for _, e := range errs {
		var se sectionError
		var fe *fieldError
		if errors.As(e, &se) && errors.As(e, &fe) {
			k := se.section + "." + fe.key
			if pos, ok := idx[k]; ok {
				lines = append(lines, fmt.Sprintf("%s:%d:%d: key %q: %s", name, pos.line, pos.col, k, fe.msg))
			} else {
				lines = append(lines, fmt.Sprintf("%s: key %q: %s", name, k, fe.msg))
			}
			continue
		}
		lines = append(lines, fmt.Sprintf("%s: %v", name, e))
	}
	return &configError{lines: lines}
}

// secretKeyRe matches the names of keys that hold secrets; keys naming a file, path,
// socket, URL or environment variable that holds one do not.
var (
	secretKeyRe    = regexp.MustCompile(`(?i)(^|_)(key|api_key|secret|token|password|credential|bearer)$`)
	notSecretKeyRe = regexp.MustCompile(`(?i)(_file|_path|_socket|_url|_env|_dir)$`)
)

// isSecretField reports whether a field must be masked when the config is printed: it
// has the tag secret:"true", or its key names a secret.
func isSecretField(f reflect.StructField) bool {
	if f.Tag.Get("secret") == "true" {
		return true
	}
	n := tomlName(f)
	return secretKeyRe.MatchString(n) && !notSecretKeyRe.MatchString(n)
}

// masked returns a copy of c with every secret string replaced by its mask.
func (c *Config) masked() *Config {
	cp := *c
	maskValue(reflect.ValueOf(&cp).Elem())
	return &cp
}

func maskValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			fv := v.Field(i)
			if isSecretField(f) {
				switch fv.Kind() {
				case reflect.String:
					if fv.String() != "" {
						fv.SetString(maskSecret(fv.String()))
					}
					continue
				case reflect.Slice:
					if fv.Type().Elem().Kind() == reflect.String {
						cp := reflect.MakeSlice(fv.Type(), fv.Len(), fv.Len())
						for j := 0; j < fv.Len(); j++ {
							cp.Index(j).SetString(maskSecret(fv.Index(j).String()))
						}
						fv.Set(cp)
						continue
					}
				}
			}
			maskValue(fv)
		}
	case reflect.Slice:
		if v.IsNil() {
			return
		}
		cp := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(cp, v)
		v.Set(cp) // do not mask the caller's backing array
		for j := 0; j < v.Len(); j++ {
			maskValue(v.Index(j))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		cp := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(it.Value())
			maskValue(e)
			cp.SetMapIndex(it.Key(), e)
		}
		v.Set(cp)
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		e := reflect.New(v.Type().Elem())
		e.Elem().Set(v.Elem())
		maskValue(e.Elem())
		v.Set(e)
	}
}

// encodeTOML writes c as TOML.
func encodeTOML(c *Config) ([]byte, error) {
	var buf bytes.Buffer
	enc := toml.NewEncoder(&buf)
	enc.SetIndentTables(false)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("config: toml encode: %w", err)
	}
	return buf.Bytes(), nil
}

// maskSecret hides a secret for printing: a short prefix such as "ek_" and the length.
func maskSecret(s string) string {
	if s == "" {
		return ""
	}
	prefix := ""
	if len(s) >= 12 && s[2] == '_' {
		prefix = s[:3]
	}
	return fmt.Sprintf("%s***(%d chars)", prefix, len(s))
}
