package main

import (
	"fmt"
	"strings"
	"time"
)

// duration is a time.Duration that decodes from TOML strings such as "5s" or "150ms".
type duration time.Duration

// UnmarshalText parses a Go duration string.
func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("bad duration %q (use a number with a unit, such as \"20ms\" or \"5s\")", b)
	}
	*d = duration(v)
	return nil
}

// MarshalText prints the duration as Go does, without zero trailing units ("1m30s",
// "1m" rather than "1m0s", "2h" rather than "2h0m0s").
func (d duration) MarshalText() ([]byte, error) {
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
func (d duration) D() time.Duration { return time.Duration(d) }

// Config sections: each area fills in its own section type in its own file, with toml
// tags, a doc comment on every field, and these methods:
//
//	func (c *xConfig) setDefaults()   // fill zero fields with the defaults
//	func (c *xConfig) validate() error // say what is wrong and how to fix it
//
// The top-level Config (config.go) holds one field per section and does the strict
// decoding, file:line errors and check-config.
