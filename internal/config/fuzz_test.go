package config

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzConfigDecode feeds arbitrary files to the decoder (build/fuzz.sh config). It must
// never panic; a file it accepts holds only finite numbers and prints (Encode) to a
// file that decodes to the same config; a file it refuses gets an *Error whose every
// problem points inside the file.
func FuzzConfigDecode(f *testing.F) {
	for _, p := range []string{"../../configs/edgevoice.toml", "../../configs/dev.toml", "../../configs/broker.toml", "../../configs/edgevoice.toml.example"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	boards, _ := filepath.Glob("../../configs/boards/*.toml")
	for _, p := range boards {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"", "[appliance]\nvolume = nan\n", "[broker]\nrate_per_minute = inf\n",
		"[[session.tools]]\nname = \"x\"\n[[session.tools]]\nname = 3\n",
		"[provisioning]\nkey_lifetime = \"10s\"\nsocket = \"@x\"\n",
		"[appliance]\nx = 1\ny = 2\n[nope]\nz = 3\n", "a.b.c.d = 1\n", "[audio]\nperiod = 5\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Decode("f.toml", data)
		if err != nil {
			if len(data) > MaxFileSize {
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				// merging and re-decoding what each file accepted may still fail
				if !strings.HasPrefix(err.Error(), "config: ") {
					t.Fatalf("error %T %q is neither an *Error nor a config: error", err, err)
				}
				return
			}
			lines := bytes.Count(data, []byte("\n")) + 1
			for _, p := range e.Problems {
				if p.Line < 0 || p.Line > lines || p.Col < 0 {
					t.Fatalf("problem %q points outside the file (%d lines)", p, lines)
				}
			}
			return
		}
		var nonFinite []string
		walkFloats(reflect.ValueOf(c).Elem(), "", func(path string, v float64) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				nonFinite = append(nonFinite, path)
			}
		})
		if len(nonFinite) > 0 {
			t.Fatalf("accepted non-finite numbers at %v", nonFinite)
		}
		out, err := Encode(c)
		if err != nil {
			t.Fatalf("Encode of an accepted config: %v", err)
		}
		c2, err := Decode("again.toml", out)
		if err != nil {
			t.Fatalf("the printed config does not decode: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("printing and decoding again changed the config:\n%s", out)
		}
	})
}

// walkFloats calls f for every float in v.
func walkFloats(v reflect.Value, path string, f func(string, float64)) {
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				walkFloats(v.Field(i), path+"."+v.Type().Field(i).Name, f)
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			walkFloats(v.Elem(), path, f)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walkFloats(v.Index(i), path, f)
		}
	case reflect.Float32, reflect.Float64:
		f(path, v.Float())
	}
}
