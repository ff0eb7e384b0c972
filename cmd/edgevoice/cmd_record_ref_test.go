package main

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgevoice/edgevoice/hw/audio/audiotest"
)

// TestRecordPlayRef: `edgevoice record -play -ref` plays the file on the speaker (the ALSA
// file-plugin speaker receives it after the queue's silence) and writes the reference
// beside the mic: as many frames as the mic recording, holding the file's samples from
// the first frame on.
func TestRecordPlayRef(t *testing.T) {
	dir := audioRig(t)
	os.WriteFile(audiotest.In(dir), make([]byte, 2*16000), 0o644) // 0.5 s of silent mono s16 mic
	clip := make([]float32, 3200)
	for i := range clip {
		clip[i] = float32(0.5 * math.Sin(2*math.Pi*float64(i)/32))
	}
	play, ref, out := filepath.Join(dir, "play.wav"), filepath.Join(dir, "ref.wav"), filepath.Join(dir, "mic.wav")
	if err := writeMonoWAV(play, 16000, clip); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "edgevoice.toml")
	os.WriteFile(cfg, []byte("[audio]\nbackend = \"alsa\"\ncapture_device = \"file mic\"\ncapture_rate = 16000\nplayback_device = \"file speaker\"\n"), 0o644)
	_, stderr, err := runAudioCmd(t, "record", out, "-config", cfg, "-seconds", "0.4", "-play", play, "-ref", ref)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "-delay 40ms") {
		t.Errorf("stderr does not give the delay for edgevoice aec (4 periods of 10ms): %s", stderr)
	}
	mic, _, err := readMonoWAV(out)
	if err != nil {
		t.Fatal(err)
	}
	r, rate, err := readMonoWAV(ref)
	if err != nil {
		t.Fatal(err)
	}
	if rate != 16000 || len(r) != len(mic) || len(r) != 6400 {
		t.Fatalf("reference %d samples at %d Hz, mic %d: want 6400 each at 16000", len(r), rate, len(mic))
	}
	for i := range 3200 {
		if math.Abs(float64(r[i]-clip[i])) > 1.0/16384 {
			t.Fatalf("reference sample %d = %v, want %v", i, r[i], clip[i])
		}
	}
	// the speaker got the file: the file speaker is unpaced, so silence surrounds and
	// may interrupt it; its sound, in order, is the file's (float32 mono as opened)
	b, err := os.ReadFile(audiotest.Out(dir))
	if err != nil {
		t.Fatal(err)
	}
	spk := make([]float32, len(b)/4)
	if _, err := binary.Decode(b, binary.LittleEndian, spk); err != nil {
		t.Fatal(err)
	}
	var heard, want []float32
	for _, v := range spk {
		if v != 0 {
			heard = append(heard, v)
		}
	}
	played, _, err := readMonoWAV(play) // the file's samples (16-bit)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range played {
		if v != 0 {
			want = append(want, v)
		}
	}
	if len(heard) < len(want) {
		t.Fatalf("the speaker played %d non-silent samples, want %d; first %v, last %v (the file: %v, %v)", len(heard), len(want), heard[:3], heard[len(heard)-3:], want[:3], want[len(want)-3:])
	}
	for i := range want {
		if heard[i] != want[i] {
			t.Fatalf("speaker sample %d = %v, want %v", i, heard[i], want[i])
		}
	}
}
