// Package config is the edgevoice configuration file: the TOML schema (one struct per
// section, each field documented), strict decoding, defaults, and the one validation
// every binary uses. A config is a file plus its drop-ins (FILE.d/*.toml, merged in
// lexical order; see LoadFiles). Every problem is reported as FILE:LINE:COL of the file
// it is in, with its key, all of them at once, and secrets never appear in a message or
// in the printed config.
//
// The package imports only the standard library and go-toml: the values that the
// libraries (hw/audio, dsp/mix, rtc, provisioning) take are checked here as plain
// strings and numbers, so the key daemon and the appliance accept the same files.
package config

import (
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// DefaultPath is where the device reads its config (ConfigurationDirectory=edgevoice).
const DefaultPath = "/etc/edgevoice/edgevoice.toml"

// EnvVar names the environment variable that overrides DefaultPath.
const EnvVar = "EDGEVOICE_CONFIG"

// Path is the config file a command uses when no -config flag is given: $EDGEVOICE_CONFIG,
// else DefaultPath. getenv may be nil (os.Getenv).
func Path(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if p := getenv(EnvVar); p != "" {
		return p
	}
	return DefaultPath
}

// Config is the whole config file: one field per section.
type Config struct {
	// Appliance: how the appliance behaves (talk mode, idle policy, control socket, logs).
	Appliance Appliance `toml:"appliance"`
	// Board: the hardware (or the simulated board): buttons and LEDs.
	Board Board `toml:"board"`
	// Audio: capture and playback devices (or WAV files).
	Audio Audio `toml:"audio"`
	// Provisioning: where ephemeral keys come from (the provisioning daemon).
	Provisioning Provisioning `toml:"provisioning"`
	// Broker: the reference key broker a fleet operator runs on a server.
	Broker Broker `toml:"broker"`
	// Session: the realtime conversation (voice, instructions, turn detection).
	Session Session `toml:"session"`
	// RTC: the WebRTC transport (ICE, codec, jitter buffer).
	RTC RTC `toml:"rtc"`
	// Tools: the tools the device runs when the model calls them (built-in device tools).
	Tools Tools `toml:"tools"`
}

// Default returns a Config with every default filled in (what an empty file gives).
func Default() *Config {
	c := &Config{}
	c.SetDefaults()
	return c
}

// SetDefaults fills every zero field with its default.
func (c *Config) SetDefaults() {
	c.Appliance.setDefaults()
	c.Board.setDefaults()
	c.Audio.setDefaults()
	c.Provisioning.setDefaults()
	c.Broker.setDefaults()
	c.Session.setDefaults()
	c.RTC.setDefaults()
	c.Tools.setDefaults(&c.Session) // after Session: its tools' names
}

// Validate checks every section and returns every problem (nil if none). It is what
// Load runs after decoding; a command that changes values from flags calls it again.
// Without a file, problems carry no position.
func (c *Config) Validate() error {
	return c.validate("", nil)
}

// validate runs every section's checks; idx gives the positions of the keys in the file
// (nil: no file).
func (c *Config) validate(name string, idx map[string]keyPos) error {
	p := &problems{file: name, idx: idx}
	checkFinite(reflect.ValueOf(c).Elem(), "", p)
	c.Appliance.validate(p.section("appliance"))
	c.Board.validate(p.section("board"))
	c.Audio.validate(p.section("audio"))
	c.Provisioning.validate(p.section("provisioning"), c.Provisioning.configured())
	c.Broker.validate(p.section("broker"))
	c.Session.validate(p.section("session"))
	c.RTC.validate(p.section("rtc"))
	c.Tools.validate(p.section("tools"), &c.Session, c.Provisioning.Profile)
	return p.err()
}

// durText is d as the config file writes it ("1m", "1m30s").
func durText(d Duration) string {
	b, _ := d.MarshalText()
	return string(b)
}

// Duration is a time.Duration that decodes from TOML strings such as "5s" or "150ms".
type Duration time.Duration

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("bad duration %q (use a number with a unit, such as \"20ms\" or \"5s\")", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText prints the duration as Go does, without zero trailing units ("1m30s",
// "1m" rather than "1m0s", "2h" rather than "2h0m0s").
func (d Duration) MarshalText() ([]byte, error) {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return []byte(s), nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// checkFinite reports every float of v (a config struct, found by reflection so that a
// float added later is covered) that is NaN or infinite: NaN compares false with every
// bound, so a range check alone lets it through (rate_per_minute = nan turned the
// broker's rate limit off). It runs before the sections' checks; its problem is the one
// kept for the key.
func checkFinite(v reflect.Value, path string, p *problems) {
	join := func(a, b string) string {
		if a == "" {
			return b
		}
		return a + "." + b
	}
	bad := func(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == durationType {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if n := TOMLName(v.Type().Field(i)); n != "" {
				checkFinite(v.Field(i), join(path, n), p)
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			checkFinite(v.Elem(), path, p)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			e := v.Index(i)
			if (e.Kind() == reflect.Float64 || e.Kind() == reflect.Float32) && bad(e.Float()) {
				p.addFull(path, false, "entry %d: %g is not a finite number", i, e.Float())
				continue
			}
			checkFinite(e, join(path, strconv.Itoa(i)), p)
		}
	case reflect.Float32, reflect.Float64:
		if bad(v.Float()) {
			p.addFull(path, false, "%g is not a finite number", v.Float())
		}
	}
}
