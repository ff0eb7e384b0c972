package malgo

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/edgevoice/edgevoice/hw/audio"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/hw/audio/audiotest"
)

// alsaRig points ALSA at file-plugin devices in a temp dir (see package audiotest):
// filemic reads dir/in.raw, filespk writes dir/out.raw, both unpaced. ALSA reloads its
// configuration when ALSA_CONFIG_PATH changes, so each test sets its own.
func alsaRig(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	env, err := audiotest.WriteALSAConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("ALSA_CONFIG_PATH", env)
	return dir
}

// testSignal returns frames*ch nonzero samples, different in every channel.
func testSignal[T int16 | int32](frames, ch int) []T {
	s := make([]T, frames*ch)
	x := uint32(2463534242)
	for i := range s {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		v := T(x >> (32 - 8*int(sizeOf[T]())))
		if v == 0 {
			v = 1
		}
		s[i] = v
	}
	return s
}

func sizeOf[T int16 | int32]() uintptr {
	var z T
	if any(z) == any(int16(0)) {
		return 2
	}
	return 4
}

func writeRaw[T int16 | int32](t *testing.T, path string, s []T) {
	t.Helper()
	b, err := binary.Append(nil, binary.LittleEndian, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readAll[T audio.Sample](t *testing.T, src audio.Source[T], n int) []T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make([]T, 0, n)
	buf := make([]T, 4096)
	for len(got) < n {
		k, err := src.Read(ctx, buf[:min(len(buf), n-len(got))])
		if err != nil {
			t.Fatalf("Read after %d of %d samples: %v", len(got), n, err)
		}
		got = append(got, buf[:k]...)
	}
	return got
}

func firstDiff[T comparable](a, b []T) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func testALSACapture[T int16 | int32](t *testing.T, sf audio.SampleFormat, ch int) {
	dir := alsaRig(t)
	const frames = 12000 // 250 ms at 48 kHz; the ring holds it all, the plugin is unpaced
	want := testSignal[T](frames, ch)
	writeRaw(t, filepath.Join(dir, "in.raw"), want)
	c, err := audio.OpenCapture[T](audio.Opts{Backend: audio.BackendALSA, Device: "filemic", Format: audio.Format{Rate: 48000, Channels: ch, Sample: sf}, RingFrames: 16384})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if d := c.Device(); d.ID != "filemic" || d.Name != "Test file mic" {
		t.Errorf("opened %+v, want the filemic device", d)
	}
	got := readAll[T](t, c, len(want))
	if i := firstDiff(got, want); i >= 0 {
		t.Fatalf("sample %d (frame %d ch %d) = %d, want %d", i, i/ch, i%ch, got[i], want[i])
	}
}

func TestALSACaptureExact(t *testing.T) {
	for _, ch := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("s16/%dch", ch), func(t *testing.T) { testALSACapture[int16](t, audio.S16, ch) })
		t.Run(fmt.Sprintf("s32/%dch", ch), func(t *testing.T) { testALSACapture[int32](t, audio.S32, ch) })
	}
}

// The float pipeline sees S16 device samples scaled by 1/32768.
func TestALSACaptureFloat(t *testing.T) {
	dir := alsaRig(t)
	src := testSignal[int16](4800, 2)
	writeRaw(t, filepath.Join(dir, "in.raw"), src)
	c, err := audio.OpenCapture[float32](audio.Opts{Backend: audio.BackendALSA, Device: "file mic", Format: audio.Format{Rate: 16000, Channels: 2, Sample: audio.S16}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := readAll[float32](t, c, len(src))
	for i, v := range src {
		if want := float32(v) / 32768; got[i] != want {
			t.Fatalf("sample %d = %v, want %v", i, got[i], want)
		}
	}
}

func testALSAPlayback[T int16 | int32](t *testing.T, sf audio.SampleFormat, ch int) {
	dir := alsaRig(t)
	const frames = 9600
	want := testSignal[T](frames, ch)
	p, err := audio.OpenPlayback[T](audio.Opts{Backend: audio.BackendALSA, Device: "filespk", Format: audio.Format{Rate: 48000, Channels: ch, Sample: sf}, PeriodFrames: 240, Periods: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n, err := p.Write(ctx, want); err != nil || n != len(want) {
		t.Fatalf("Write = %d, %v; want %d", n, err, len(want))
	}
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	p.Close()
	raw, err := os.ReadFile(filepath.Join(dir, "out.raw"))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]T, len(raw)/int(sizeOf[T]()))
	if _, err := binary.Decode(raw[:len(out)*int(sizeOf[T]())], binary.LittleEndian, out); err != nil {
		t.Fatal(err)
	}
	// The plugin is unpaced, so the device may run dry between Writes: it then plays
	// whole frames of silence (counted as underruns). The signal has no zero samples, so
	// every zero frame is inserted silence and every other frame must be the signal, in
	// order, unchanged.
	var played []T
	interior, zeros := 0, 0
	for i := 0; i+ch <= len(out); i += ch {
		f := out[i : i+ch]
		nz := 0
		for _, v := range f {
			if v != 0 {
				nz++
			}
		}
		switch nz {
		case 0:
			zeros++
		case ch:
			if len(played) > 0 {
				interior += zeros
			}
			zeros = 0
			played = append(played, f...)
		default:
			t.Fatalf("frame %d is partly silent: %v", i/ch, f)
		}
	}
	if i := firstDiff(played, want); i >= 0 {
		t.Fatalf("played sample %d = %v, want %v (played %d samples, want %d)", i, at(played, i), at(want, i), len(played), len(want))
	}
	st := p.Stats()
	if uint64(interior) > st.UnderrunFrames {
		t.Errorf("%d frames of silence inside the signal, but only %d underrun frames counted", interior, st.UnderrunFrames)
	}
	t.Logf("%d frames of silence inside the signal; stats %+v", interior, st)
	if st := p.Stats(); st.Frames < frames {
		t.Errorf("Stats.Frames = %d, want >= %d", st.Frames, frames)
	}
}

func TestALSAPlaybackExact(t *testing.T) {
	for _, ch := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("s16/%dch", ch), func(t *testing.T) { testALSAPlayback[int16](t, audio.S16, ch) })
		t.Run(fmt.Sprintf("s32/%dch", ch), func(t *testing.T) { testALSAPlayback[int32](t, audio.S32, ch) })
	}
}

func TestALSAUnknownDevice(t *testing.T) {
	alsaRig(t)
	_, err := audio.OpenCapture[float32](audio.Opts{Backend: audio.BackendALSA, Device: "ReSpeaker"})
	if !errors.Is(err, audio.ErrNoDevice) {
		t.Fatalf("err = %v, want ErrNoDevice", err)
	}
	for _, s := range []string{`"ReSpeaker"`, `"Test file mic" (filemic)`, `"default"`} {
		if !contains(err.Error(), s) {
			t.Errorf("error %q does not mention %s", err, s)
		}
	}
}

func TestALSAListDevices(t *testing.T) {
	alsaRig(t)
	devs, err := audio.ListDevices(audio.BackendALSA)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, d := range devs {
		found[d.Direction.String()+" "+d.ID] = true
		if d.ID == "filemic" && len(d.Formats) == 0 {
			t.Errorf("filemic: no native formats probed")
		}
	}
	for _, k := range []string{"capture filemic", "playback filespk", "playback nullspk"} {
		if !found[k] {
			t.Errorf("ListDevices lacks %s; got %v", k, devs)
		}
	}
}

func at[T any](s []T, i int) any {
	if i < len(s) {
		return s[i]
	}
	return "none"
}

func contains(s, sub string) bool { return len(sub) == 0 || (len(s) >= len(sub) && index(s, sub) >= 0) }

func index(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
