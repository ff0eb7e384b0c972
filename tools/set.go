package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// printer writes the validator's messages.
var printer = message.NewPrinter(language.English)

// MaxOutput bounds a tool's output (bytes of JSON) sent to the model.
const MaxOutput = 16 << 10

// DefaultTimeout bounds a tool that sets no Timeout.
const DefaultTimeout = 5 * time.Second

// ErrUnknownTool is wrapped by RunTool's error for a name the Set does not have.
var ErrUnknownTool = errors.New("unknown tool")

// ErrInvalidArguments is wrapped by RunTool's error for arguments that are not JSON or
// do not match the tool's schema.
var ErrInvalidArguments = errors.New("invalid arguments")

// Tool is one function tool.
type Tool struct {
	Name        string          // letters, digits, '_' and '-', at most 64
	Description string          // what it does, for the model
	Parameters  json.RawMessage // JSON Schema of the arguments (an object); nil = none
	Timeout     time.Duration   // 0 = DefaultTimeout
	// Run does the work. args passed the schema. The result is sent to the model as
	// JSON (a json.RawMessage as it is). It must return soon after ctx ends.
	Run func(ctx context.Context, args json.RawMessage) (any, error)
}

// ErrUnavailable is wrapped by RunTool's error for a tool of a group (an MCP server)
// that is gone for now: the server went away and its tools were withdrawn.
var ErrUnavailable = errors.New("server unavailable")

type entry struct {
	Tool
	schema *jsonschema.Schema
	group  string // "" = added with Add (fixed)
}

// Set is a set of tools: fixed ones (Add, before the first RunTool) and groups that
// come and go (Replace, at any time: an MCP server's tools). Every method is safe for
// concurrent use.
type Set struct {
	mu    sync.RWMutex
	tools map[string]*entry
	order []string
	gone  map[string]string // name → group, for tools a group withdrew
	log   *slog.Logger
}

// NewSet returns an empty set that logs to log (nil = discard).
func NewSet(log *slog.Logger) *Set {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Set{tools: map[string]*entry{}, log: log}
}

// ValidName reports whether name can name a function tool.
func ValidName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	return strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == ""
}

// noLoader refuses every $ref outside the schema itself: tool schemas are
// self-contained, and a schema must not make the device read files or the network.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schemas may not refer to %s (use only local $defs)", url)
}

// CompileSchema compiles a tool's JSON Schema (it must be a JSON object).
func CompileSchema(name string, schema json.RawMessage) (*jsonschema.Schema, error) {
	if len(schema) == 0 {
		schema = json.RawMessage(`{"type":"object","properties":{}}`)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, fmt.Errorf("tools: %s: the parameters are not JSON: %v", name, err)
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, fmt.Errorf("tools: %s: the parameters must be a JSON Schema object such as {\"type\":\"object\",\"properties\":{}}", name)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	url := "mem:///tools/" + name + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("tools: %s: %v", name, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("tools: %s: the parameters are not a valid JSON Schema: %v", name, err)
	}
	return s, nil
}

// Add adds t; its name must be valid and new, its schema valid.
func (s *Set) Add(t Tool) error {
	if !ValidName(t.Name) {
		return fmt.Errorf("tools: name %q: use 1 to 64 letters, digits, '_' and '-'", t.Name)
	}
	if t.Run == nil {
		return fmt.Errorf("tools: %s has no Run", t.Name)
	}
	if t.Timeout < 0 {
		return fmt.Errorf("tools: %s: negative timeout", t.Name)
	}
	sch, err := CompileSchema(t.Name, t.Parameters)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.tools[t.Name]; dup {
		return fmt.Errorf("tools: %s is defined twice", t.Name)
	}
	s.tools[t.Name] = &entry{Tool: t, schema: sch}
	s.order = append(s.order, t.Name)
	delete(s.gone, t.Name)
	return nil
}

// Replace makes ts the tools of group (an MCP server's name), in place of the ones it
// had; nil withdraws them all. A tool whose name is invalid, taken by a tool outside
// the group or repeated, or whose schema does not compile, is left out and named in
// the error; the others are in. A call to a name the group withdrew gets an error
// wrapping ErrUnavailable until the group has it again. changed reports whether the
// declarations differ from before.
func (s *Set) Replace(group string, ts []Tool) (changed bool, err error) {
	if group == "" {
		return false, errors.New("tools: Replace: empty group name")
	}
	var errs []error
	news := make([]*entry, 0, len(ts))
	seen := map[string]bool{}
	for _, t := range ts {
		switch {
		case !ValidName(t.Name):
			errs = append(errs, fmt.Errorf("tools: %s: name %q: use 1 to 64 letters, digits, '_' and '-'", group, t.Name))
			continue
		case t.Run == nil:
			errs = append(errs, fmt.Errorf("tools: %s has no Run", t.Name))
			continue
		case seen[t.Name]:
			errs = append(errs, fmt.Errorf("tools: %s: %s is listed twice", group, t.Name))
			continue
		}
		sch, err := CompileSchema(t.Name, t.Parameters)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		seen[t.Name] = true
		news = append(news, &entry{Tool: t, schema: sch, group: group})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	before := s.declsLocked()
	kept := s.order[:0:0]
	for _, n := range s.order {
		if e := s.tools[n]; e.group == group {
			delete(s.tools, n)
			if s.gone == nil {
				s.gone = map[string]string{}
			}
			s.gone[n] = group
			continue
		}
		kept = append(kept, n)
	}
	s.order = kept
	for _, e := range news {
		if o, taken := s.tools[e.Name]; taken {
			errs = append(errs, fmt.Errorf("tools: %s: %s is already the name of a tool%s; set a prefix", group, e.Name, groupWords(o.group)))
			continue
		}
		s.tools[e.Name] = e
		s.order = append(s.order, e.Name)
		delete(s.gone, e.Name)
	}
	after := s.declsLocked()
	changed = len(before) != len(after)
	for i := 0; !changed && i < len(before); i++ {
		a, b := before[i], after[i]
		changed = a.Name != b.Name || a.Description != b.Description || !bytes.Equal(a.Parameters, b.Parameters)
	}
	return changed, errors.Join(errs...)
}

func groupWords(g string) string {
	if g == "" {
		return ""
	}
	return " of " + g
}

// Group returns the group of the tool name ("" for a fixed tool or an unknown name).
func (s *Set) Group(name string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if e := s.tools[name]; e != nil {
		return e.group
	}
	return ""
}

// Names returns the tools' names in the order they were added.
func (s *Set) Names() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]string(nil), s.order...)
}

// Declarations returns the tools as the session declares them to the model.
func (s *Set) Declarations() []events.Tool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.declsLocked()
}

func (s *Set) declsLocked() []events.Tool {
	out := make([]events.Tool, 0, len(s.order))
	for _, n := range s.order {
		t := s.tools[n]
		out = append(out, events.Tool{Name: t.Name, Description: t.Description, Parameters: t.Parameters})
	}
	return out
}

// RunTool runs the tool name with args (JSON text; "" = {}) and returns its output as
// JSON text. It implements rtc.ToolRunner.
func (s *Set) RunTool(ctx context.Context, name, args string) (string, error) {
	s.mu.RLock()
	t := s.tools[name]
	group, gone := s.gone[name]
	s.mu.RUnlock()
	if t == nil && gone {
		return "", fmt.Errorf("%s: %w (%s is reconnecting)", name, ErrUnavailable, group)
	}
	if t == nil {
		return "", fmt.Errorf("%w %q", ErrUnknownTool, name)
	}
	if strings.TrimSpace(args) == "" {
		args = "{}"
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(args))
	if err != nil {
		return "", fmt.Errorf("%w: not JSON", ErrInvalidArguments)
	}
	if err := t.schema.Validate(inst); err != nil {
		return "", fmt.Errorf("%w for %s: %s", ErrInvalidArguments, name, schemaProblem(err))
	}
	timeout := t.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := t.Run(ctx, json.RawMessage(args))
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return "", fmt.Errorf("%s did not finish within %v", name, timeout)
		}
		return "", err
	}
	var out []byte
	if raw, ok := res.(json.RawMessage); ok && json.Valid(raw) {
		out = raw
	} else if out, err = json.Marshal(res); err != nil {
		return "", fmt.Errorf("%s: its result is not JSON: %v", name, err)
	}
	if len(out) > MaxOutput {
		return "", fmt.Errorf("%s: its output of %d bytes is larger than %d", name, len(out), MaxOutput)
	}
	s.log.Debug("tools: output", "tool", name, "args", args, "output", string(out))
	return string(out), nil
}

// schemaProblem is the validation error in one line, for the model: where and what,
// as the validator says it (the keyword and the expectation, not the instance text).
func schemaProblem(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	var parts []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			loc := "/" + strings.Join(e.InstanceLocation, "/")
			parts = append(parts, loc+": "+e.ErrorKind.LocalizedString(printer))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	if len(parts) > 4 {
		parts = append(parts[:4], "...")
	}
	return strings.Join(parts, "; ")
}
