package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestToolsSection: [tools] defaults to every built-in; an unknown or repeated name, a
// clash with a [[session.tools]] name and a bad timeout are reported at FILE:LINE:COL.
func TestToolsSection(t *testing.T) {
	c, err := Decode("x.toml", []byte("[tools]\nbuiltin = [\"get_time\"]\n"))
	if err != nil || !reflect.DeepEqual(c.Tools.Builtin, []string{"get_time"}) || c.Tools.Timeout.D().String() != "10s" {
		t.Fatalf("decode: %+v, %v", c.Tools, err)
	}
	c, err = Decode("x.toml", []byte("[tools]\nbuiltin = []\n"))
	if err != nil || c.Tools.Builtin == nil || len(c.Tools.Builtin) != 0 {
		t.Fatalf("builtin = [] must offer none: %#v, %v", c.Tools.Builtin, err)
	}
	if d := Default(); !reflect.DeepEqual(d.Tools.Builtin, BuiltinTools()) {
		t.Errorf("default builtin %v", d.Tools.Builtin)
	}
	// a config written before the built-ins, declaring its own stop: the default
	// leaves that built-in out instead of failing
	c, err = Decode("x.toml", []byte("[[session.tools]]\nname = \"stop\"\n"))
	if err != nil || len(c.Tools.Builtin) != len(BuiltinTools())-1 || slices.Contains(c.Tools.Builtin, "stop") {
		t.Errorf("default builtin with a declared stop: %v, %v", c.Tools.Builtin, err)
	}
	doc := "[session]\n[[session.tools]]\nname = \"stop\"\n\n[tools]\nbuiltin = [\"stop\", \"reboot\", \"stop\"]\ntimeout = \"-1s\"\n"
	_, err = Decode("x.toml", []byte(doc))
	if err == nil {
		t.Fatal("accepted")
	}
	got := strings.Split(err.Error(), "\n")
	want := []string{
		`x.toml:6:1: key "tools.builtin": "reboot" is not a built-in tool; use some of ["set_volume" "get_volume" "mute" "stop" "get_time" "device_status"]`,
		`x.toml:6:1: key "tools.builtin": "stop" appears twice`,
		`x.toml:6:1: key "tools.builtin": "stop" is also a [[session.tools]] name; rename that tool or take "stop" out of builtin`,
		`x.toml:7:1: key "tools.timeout": -1s is out of range; use a duration from 1ms to 10m such as "10s"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
}
