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

// TestCommandAndHTTPTools: [[tools.command]] and [[tools.http]] decode; a relative
// program, a bad env entry, a clear-text URL to another host, a relative token file,
// a name in use and bad limits are reported where they are written.
func TestCommandAndHTTPTools(t *testing.T) {
	good := `[[tools.command]]
name = "lights"
argv = ["/usr/local/bin/lights", "--json"]
env = ["ROOM=kitchen"]
timeout = "3s"

[[tools.http]]
name = "ha_scene"
url = "https://ha.lan:8123/api/webhook/abc"
bearer_token_file = "/run/credentials/edgevoice.service/ha-token"
parameters = '{"type":"object","properties":{"scene":{"type":"string"}}}'
`
	c, err := Decode("x.toml", []byte(good))
	if err != nil || len(c.Tools.Command) != 1 || c.Tools.Command[0].Argv[1] != "--json" || c.Tools.HTTP[0].Timeout != 0 {
		t.Fatalf("decode: %+v, %v", c.Tools, err)
	}
	if m := c.Masked(); strings.Contains(m.Tools.HTTP[0].URL, "abc") || strings.Contains(m.Tools.Command[0].Env[0], "kitchen") {
		t.Errorf("printed config shows the URL or env: %+v", m.Tools)
	}
	bad := `[[tools.command]]
name = "stop"
argv = ["lights"]
env = ["NOPE"]
max_output = -1

[[tools.http]]
name = "ha"
url = "http://ha.lan/api"
bearer_token_file = "token"
timeout = "1h"
`
	_, err = Decode("x.toml", []byte(bad))
	if err == nil {
		t.Fatal("accepted")
	}
	got := err.Error()
	for _, w := range []string{
		`x.toml:2:1: key "tools.command.0.name": "stop" is already the name of another tool`,
		`x.toml:3:1: key "tools.command.0.argv": must start with the absolute path`,
		`x.toml:4:1: key "tools.command.0.env": "NOPE" is not NAME=value`,
		`x.toml:5:1: key "tools.command.0.max_output": -1 is out of range`,
		`x.toml:9:1: key "tools.http.0.url": use https://`,
		`x.toml:10:1: key "tools.http.0.bearer_token_file": "token" is not an absolute path`,
		`x.toml:11:1: key "tools.http.0.timeout": 1h0m0s is out of range`,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("errors lack %q:\n%s", w, got)
		}
	}
}
