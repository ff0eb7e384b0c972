package audio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestClip(t *testing.T) {
	cases16 := []struct {
		in   float32
		want int16
	}{{0, 0}, {1, 32767}, {-1, -32768}, {2, 32767}, {-2, -32768}, {0.5, 16384}, {-0.5, -16384},
		{1.0 / 32768, 1}, {-1.0 / 32768, -1}, {float32(math.Inf(1)), 32767}, {float32(math.Inf(-1)), -32768}}
	for _, c := range cases16 {
		if got := clip16(c.in); got != c.want {
			t.Errorf("clip16(%v) = %d, want %d", c.in, got, c.want)
		}
	}
	cases32 := []struct {
		in   float32
		want int32
	}{{0, 0}, {1, math.MaxInt32}, {-1, math.MinInt32}, {0.5, 1 << 30}, {-0.25, -(1 << 29)}, {3, math.MaxInt32}}
	for _, c := range cases32 {
		if got := clip32(c.in); got != c.want {
			t.Errorf("clip32(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}

// Every integer S16 value survives S16 -> float32 -> S16 and S16 -> S32 -> S16.
func TestConvertRoundTrip(t *testing.T) {
	all := make([]int16, 65536)
	for i := range all {
		all[i] = int16(i - 32768)
	}
	f := make([]float32, len(all))
	newDecoder[float32](S16)(f, asBytes(all))
	back := make([]byte, 2*len(all))
	newEncoder[float32](S16)(back, f)
	if !bytes.Equal(back, asBytes(all)) {
		t.Error("s16 -> f32 -> s16 is not exact")
	}
	i32 := make([]int32, len(all))
	newDecoder[int32](S16)(i32, asBytes(all))
	if i32[0] != math.MinInt32 || i32[65535] != 32767<<16 {
		t.Errorf("s16 -> s32: %d %d", i32[0], i32[65535])
	}
	newEncoder[int32](S16)(back, i32)
	if !bytes.Equal(back, asBytes(all)) {
		t.Error("s16 -> s32 -> s16 is not exact")
	}
	// 24-bit data in S32 (mic arrays) is exact through float32.
	s24 := []int32{math.MinInt32, -256, 0, 256, math.MaxInt32 &^ 255}
	f = make([]float32, len(s24))
	newDecoder[float32](S32)(f, asBytes(s24))
	b32 := make([]byte, 4*len(s24))
	newEncoder[float32](S32)(b32, f)
	if !bytes.Equal(b32, asBytes(s24)) {
		t.Errorf("24-bit s32 -> f32 -> s32 not exact: %v", bytesAs[int32](b32, len(s24)))
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"s16", "S32", "f32", "float"} {
		if _, err := ParseSampleFormat(s); err != nil {
			t.Error(err)
		}
	}
	if _, err := ParseSampleFormat("s24"); err == nil {
		t.Error("s24 accepted")
	}
	for b := BackendAuto; b <= BackendNull; b++ {
		if got, err := ParseBackend(b.String()); err != nil || got != b {
			t.Errorf("ParseBackend(%q) = %v, %v", b.String(), got, err)
		}
	}
	if State(9).String() != "State(9)" || StateRecovering.String() != "recovering" {
		t.Error("State.String")
	}
}

func wavRoundTrip[T Sample](t *testing.T, sf SampleFormat, ch int, in []T) {
	path := filepath.Join(t.TempDir(), "x.wav")
	f := Format{Rate: 16000, Channels: ch, Sample: sf}
	w, err := CreateWAVSink[T](path, f, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// in pieces, one of them not a whole frame (the partial frame is not taken)
	if n, err := w.Write(ctx, in[:len(in)/2]); err != nil || n != len(in)/2/ch*ch {
		t.Fatalf("Write = %d, %v", n, err)
	}
	rest := in[len(in)/2/ch*ch:]
	if _, err := w.Write(ctx, rest); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := OpenWAVSource[T](path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Format() != f || r.Info().Frames != int64(len(in)/ch) {
		t.Fatalf("header: %+v, want %v and %d frames", r.Info(), f, len(in)/ch)
	}
	var got []T
	buf := make([]T, 7*ch)
	for {
		n, err := r.Read(ctx, buf)
		got = append(got, buf[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if i := firstDiff(got, in); i >= 0 {
		t.Fatalf("sample %d differs after the round trip (%d samples back, %d written)", i, len(got), len(in))
	}
	// sox, when installed, must agree about the header
	if sox, err := exec.LookPath("soxi"); err == nil {
		out, err := exec.Command(sox, "-c", path).Output()
		if err != nil || string(bytes.TrimSpace(out)) != fmt.Sprint(ch) {
			t.Errorf("soxi -c = %q, %v; want %d", out, err, ch)
		}
	}
}

func TestWAVRoundTrip(t *testing.T) {
	for _, ch := range []int{1, 2, 4, 8} {
		t.Run(fmt.Sprintf("s16/%d", ch), func(t *testing.T) { wavRoundTrip(t, S16, ch, testSignal[int16](1001, ch)) })
		t.Run(fmt.Sprintf("s32/%d", ch), func(t *testing.T) { wavRoundTrip(t, S32, ch, testSignal[int32](1001, ch)) })
		f := make([]float32, 1001*ch)
		for i := range f {
			f[i] = float32(math.Sin(float64(i) / 10))
		}
		t.Run(fmt.Sprintf("f32/%d", ch), func(t *testing.T) { wavRoundTrip(t, F32, ch, f) })
	}
}

func TestWAVBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"empty":   nil,
		"notwave": []byte("RIFF\x04\x00\x00\x00AVI "),
		"s24":     wavHeader24(),
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o644)
		if _, err := OpenWAVSource[float32](p, false); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func wavHeader24() []byte {
	h := wavHeader(Format{Rate: 8000, Channels: 1, Sample: S16}, 0)
	h[34] = 24 // bits per sample
	return h
}

func TestWAVPaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.wav")
	w, _ := CreateWAVSink[int16](path, Format{Rate: 8000, Channels: 1, Sample: S16}, false)
	w.Write(context.Background(), make([]int16, 1600)) // 200 ms
	w.Close()
	r, err := OpenWAVSource[int16](path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]int16, 80) // 10 ms
	start := time.Now()
	total := 0
	for {
		n, err := r.Read(context.Background(), buf)
		total += n
		if err != nil {
			break
		}
	}
	if el := time.Since(start); el < 190*time.Millisecond || total != 1600 {
		t.Errorf("paced read of 200 ms took %v, %d samples", el, total)
	}
}
