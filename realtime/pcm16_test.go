package realtime

import (
	"bytes"
	"testing"
)

func TestPCM16(t *testing.T) {
	b := AppendPCM16([]byte{0xAA}, []float32{0, 0.5, -1, 1, 2, -2})
	want := []byte{0xAA, 0, 0, 0x00, 0x40, 0x01, 0x80, 0xFF, 0x7F, 0xFF, 0x7F, 0x01, 0x80} // 0, 16384 (16383.5 rounds up), -32767, 32767, clipped
	if !bytes.Equal(b, want) {
		t.Fatalf("AppendPCM16: % x, want % x", b, want)
	}
	dst := make([]float32, 8)
	n := DecodePCM16(dst, b[1:])
	if n != 6 {
		t.Fatalf("DecodePCM16 converted %d samples, want 6", n)
	}
	for i, w := range []float32{0, 16384.0 / 32768, -32767.0 / 32768, 32767.0 / 32768, 32767.0 / 32768, -32767.0 / 32768} {
		if dst[i] != w {
			t.Errorf("sample %d: %v, want %v", i, dst[i], w)
		}
	}
	if n := DecodePCM16(dst[:2], b[1:]); n != 2 {
		t.Errorf("DecodePCM16 into 2 samples converted %d", n)
	}
	if n := DecodePCM16(dst, []byte{1}); n != 0 {
		t.Errorf("DecodePCM16 of one byte converted %d", n)
	}
}
