package events

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// A tiny append-only JSON writer: the hand-written encoder (encode_handwritten_test.go)
// built events directly into the caller's buffer with it.

type jw struct {
	b   []byte
	err error
}

type obj struct {
	w *jw
	n int
}

func (w *jw) open() obj {
	w.b = append(w.b, '{')
	return obj{w: w}
}

func (o *obj) close() { o.w.b = append(o.w.b, '}') }

func (o *obj) key(k string) {
	if o.n > 0 {
		o.w.b = append(o.w.b, ',')
	}
	o.n++
	o.w.b = append(o.w.b, '"')
	o.w.b = append(o.w.b, k...)
	o.w.b = append(o.w.b, '"', ':')
}

func (o *obj) str(k, v string) {
	o.key(k)
	o.w.b = appendString(o.w.b, v)
}

// strOpt writes k only when v is not empty.
func (o *obj) strOpt(k, v string) {
	if v != "" {
		o.str(k, v)
	}
}

// strOrNull writes v, or null when v is empty.
func (o *obj) strOrNull(k, v string) {
	if v == "" {
		o.null(k)
		return
	}
	o.str(k, v)
}

func (o *obj) null(k string) {
	o.key(k)
	o.w.b = append(o.w.b, "null"...)
}

func (o *obj) int(k string, v int64) {
	o.key(k)
	o.w.b = strconv.AppendInt(o.w.b, v, 10)
}

func (o *obj) bool(k string, v bool) {
	o.key(k)
	o.w.b = strconv.AppendBool(o.w.b, v)
}

func (o *obj) float(k string, v float64) {
	o.key(k)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		if o.w.err == nil {
			o.w.err = errNonFinite
		}
		o.w.b = append(o.w.b, '0')
		return
	}
	o.w.b = strconv.AppendFloat(o.w.b, v, 'g', -1, 64)
}

func (o *obj) raw(k string, v []byte) {
	o.key(k)
	if !json.Valid(v) {
		if o.w.err == nil {
			o.w.err = errBadRaw
		}
		o.w.b = append(o.w.b, "null"...)
		return
	}
	o.w.b = append(o.w.b, v...)
}

func (o *obj) strs(k string, v []string) {
	o.key(k)
	o.w.b = append(o.w.b, '[')
	for i, s := range v {
		if i > 0 {
			o.w.b = append(o.w.b, ',')
		}
		o.w.b = appendString(o.w.b, s)
	}
	o.w.b = append(o.w.b, ']')
}

func (o *obj) obj(k string) obj {
	o.key(k)
	return o.w.open()
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as with
// encoding/json.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
