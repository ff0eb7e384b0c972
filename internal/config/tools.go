package config

import "slices"

// builtinTools are the built-in tools of package tools (tools.BuiltinNames; a test
// there checks that the lists agree: this package does not import it, to keep the
// schema validator out of the binaries that only read the config).
var builtinTools = []string{"set_volume", "get_volume", "mute", "stop", "get_time", "device_status"}

// BuiltinTools returns the names [tools] builtin accepts.
func BuiltinTools() []string { return slices.Clone(builtinTools) }

// Tools is the [tools] section: the tools the device runs when the model calls them.
type Tools struct {
	// Built-in device tools offered to the model: "set_volume", "get_volume", "mute",
	// "stop", "get_time" and "device_status". They act like the buttons do. Default:
	// all of them, less any name a [[session.tools]] entry declares; [] offers none.
	Builtin []string `toml:"builtin"`
	// Bound on each tool call: past it the model is told the tool did not answer.
	Timeout Duration `toml:"timeout"`
}

func (c *Tools) setDefaults(session *Session) {
	if c.Builtin == nil { // every built-in whose name no [[session.tools]] entry has taken
		c.Builtin = []string{}
		for _, n := range builtinTools {
			if !slices.ContainsFunc(session.Tools, func(t Tool) bool { return t.Name == n }) {
				c.Builtin = append(c.Builtin, n)
			}
		}
	}
	if c.Timeout == 0 {
		c.Timeout = Duration(10e9)
	}
}

func (c *Tools) validate(p *sectionProblems, session *Session) {
	seen := map[string]bool{}
	for _, n := range c.Builtin {
		switch {
		case !slices.Contains(builtinTools, n):
			p.add("builtin", "%q is not a built-in tool; use some of %q", n, builtinTools)
		case seen[n]:
			p.add("builtin", "%q appears twice", n)
		}
		seen[n] = true
	}
	for _, t := range session.Tools {
		if seen[t.Name] {
			p.add("builtin", "%q is also a [[session.tools]] name; rename that tool or take %q out of builtin", t.Name, t.Name)
		}
	}
	if d := c.Timeout.D(); d <= 0 || d > 10*60e9 {
		p.add("timeout", "%v is out of range; use a duration from 1ms to 10m such as \"10s\"", d)
	}
}
