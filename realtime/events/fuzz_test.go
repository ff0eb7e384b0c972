package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode: it must not panic, must return either an
// event or an ErrMalformed error, and every known event it returns must re-encode in
// both dialects and decode to the same type.
func FuzzDecode(f *testing.F) {
	for _, d := range []Dialect{GA, Preview} {
		for _, ev := range sampleEvents() {
			b, err := Marshal(d, ev)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(previewSessionCreated))
	f.Add([]byte(gaSessionCreated))
	f.Add([]byte(`{"type":"rate_limits.updated","rate_limits":[]}`))
	f.Add([]byte(`{"type":"session.update","session":{"audio":{"output":{"voice":{"id":"v"}}},"tools":[{"name":"t","parameters":null}]}}`))
	f.Add([]byte(`{"type":"x","item":{"id":1}}`))
	f.Add([]byte(`{"type":"response.done","response":{"status_details":{"error":{"type":"t"}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := Decode(data)
		if err != nil {
			if ev != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode(%q) = %#v, %v", data, ev, err)
			}
			return
		}
		if ev == nil {
			t.Fatalf("Decode(%q) = nil, nil", data)
		}
		if ev.Type() == TypeUnknown {
			return
		}
		for _, d := range []Dialect{GA, Preview} {
			b, err := Marshal(d, ev)
			if err != nil {
				// decoded tool parameters are valid JSON and numbers are finite, so
				// a decoded event always re-encodes.
				t.Fatalf("re-encode %#v: %v", ev, err)
			}
			// the same JSON as the hand-written encoder (escapes may differ: \b or \u0008)
			if want, err := marshalHandwritten(d, ev); err != nil || !sameJSON(want, b) {
				t.Fatalf("%v: typed encoder wrote %s, the hand-written one %s (%v)", d, b, want, err)
			}
			ev2, err := Decode(b)
			if err != nil || ev2.Type() != ev.Type() {
				t.Fatalf("re-decode of %s: %#v, %v", b, ev2, err)
			}
		}
	})
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(a, b []byte) bool {
	var va, vb any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	return da.Decode(&va) == nil && db.Decode(&vb) == nil && reflect.DeepEqual(va, vb)
}
