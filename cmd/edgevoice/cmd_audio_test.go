package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/hw/audio"
	"github.com/edgevoice/edgevoice/hw/audio/audiotest"
	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/cli/clitest"
	"github.com/edgevoice/edgevoice/internal/config"
)

// audioRig points ALSA at file-backed test devices (package audiotest) and returns the
// directory that holds their files.
func audioRig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	env, err := audiotest.WriteALSAConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("ALSA_CONFIG_PATH", env)
	return dir
}

// runAudioCmd runs one command of the table as Main does, but returns the command's
// error itself (tests check its type).
func runAudioCmd(t *testing.T, name string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cli.Env{Stdout: &out, Stderr: &errb, Getenv: os.Getenv}
	var c *cli.Command
	for _, x := range app.Commands {
		if x.Name == name {
			c = x
		}
	}
	if c == nil {
		t.Fatalf("no command %q", name)
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	run := c.Flags(fs, env)
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		t.Fatalf("%s %q: %v", name, args, err)
	}
	err = run(context.Background(), pos)
	return out.String(), errb.String(), err
}

// audioSignal is n nonzero int32 samples, different everywhere.
func audioSignal(n int) []int32 {
	s := make([]int32, n)
	x := uint32(88172645)
	for i := range s {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		s[i] = int32(x) | 1
	}
	return s
}

func TestDevicesCommand(t *testing.T) {
	audioRig(t)
	out, _, err := runAudioCmd(t, "devices", "-config", "", "-backend", "alsa")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("edgevoice devices -backend alsa:\n%s", out)
	capt, play, ok := strings.Cut(out, "playback devices:")
	if !ok {
		t.Fatalf("no playback section:\n%s", out)
	}
	for _, want := range []string{`"Test file mic"`, "id filemic", "native: s16", "* \"default\""} {
		if !strings.Contains(capt, want) {
			t.Errorf("capture devices lack %s", want)
		}
	}
	for _, want := range []string{`"Test file speaker"`, "id filespk", "id nullspk"} {
		if !strings.Contains(play, want) {
			t.Errorf("playback devices lack %s", want)
		}
	}
}

// record takes its settings from the config file's [audio] section and writes exactly
// the samples the device delivered: here 4 channels of S32.
func TestRecordCommand(t *testing.T) {
	dir := audioRig(t)
	want := audioSignal(4 * 4800)
	b, _ := binary.Append(nil, binary.LittleEndian, want)
	if err := os.WriteFile(audiotest.In(dir), b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "edgevoice.toml")
	os.WriteFile(cfg, []byte("[audio]\nbackend = \"alsa\"\ncapture_device = \"file mic\"\ncapture_channels = 4\ncapture_format = \"s32\"\n"), 0o644)
	out := filepath.Join(dir, "rec.wav")
	// The flags come after the file name: they are honoured (4800 frames = 0.1 s).
	_, stderr, err := runAudioCmd(t, "record", out, "-config", cfg, "-seconds", "0.1")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	src, err := audio.OpenWAVSource[int32](out, false)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if f := src.Format(); f != (audio.Format{Rate: 48000, Channels: 4, Sample: audio.S32}) || src.Info().Frames != 4800 {
		t.Fatalf("recorded %+v", src.Info())
	}
	got := make([]int32, len(want)+4)
	n, _ := src.Read(context.Background(), got)
	if n != len(want) {
		t.Fatalf("read %d samples, want %d", n, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sample %d = %d, want %d", i, got[i], want[i])
		}
	}
	if !strings.Contains(stderr, "wrote 4800 frames (4 channels)") {
		t.Errorf("stderr: %s", stderr)
	}
}

func TestRecordUnknownDevice(t *testing.T) {
	audioRig(t)
	_, _, err := runAudioCmd(t, "record", "-config", "", "-backend", "alsa", "-device", "ReSpeaker 4-Mic", filepath.Join(t.TempDir(), "x.wav"))
	if !errors.Is(err, audio.ErrNoDevice) || !strings.Contains(err.Error(), `"Test file mic" (filemic)`) {
		t.Fatalf("err = %v; want ErrNoDevice listing the devices", err)
	}
	clitest.CheckArgCount(t, app, "record", "-config", "")
}

func TestPlayCommand(t *testing.T) {
	dir := audioRig(t)
	in := filepath.Join(dir, "in.wav")
	sig := audioSignal(2 * 4800)
	for i := range sig {
		sig[i] = int32(int16(sig[i])) | 1 // 16-bit values
	}
	s16 := make([]int16, len(sig))
	for i, v := range sig {
		s16[i] = int16(v)
	}
	w, err := audio.CreateWAVSink[int16](in, audio.Format{Rate: 16000, Channels: 2, Sample: audio.S16}, false)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(context.Background(), s16)
	w.Close()
	_, stderr, err := runAudioCmd(t, "play", "-config", "", "-backend", "alsa", "-device", "filespk", in)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	raw, err := os.ReadFile(audiotest.Out(dir))
	if err != nil {
		t.Fatal(err)
	}
	// The file speaker is unpaced: silence (whole zero frames) surrounds and may
	// interrupt the signal; the non-silent frames are the file, exactly, in order.
	var played []int16
	for i := 0; i+4 <= len(raw); i += 4 {
		l, r := int16(binary.LittleEndian.Uint16(raw[i:])), int16(binary.LittleEndian.Uint16(raw[i+2:]))
		if l != 0 || r != 0 {
			played = append(played, l, r)
		}
	}
	if len(played) != len(s16) {
		t.Fatalf("played %d samples, want %d", len(played), len(s16))
	}
	for i := range s16 {
		if played[i] != s16[i] {
			t.Fatalf("sample %d = %d, want %d", i, played[i], s16[i])
		}
	}
}

func TestLevelsCommand(t *testing.T) {
	dir := audioRig(t)
	// channel 0 at full scale (clips), channel 1 at -20 dBFS
	s := make([]int16, 2*4800)
	for i := 0; i < len(s); i += 2 {
		s[i], s[i+1] = 32767, 3277
		if i%4 == 2 {
			s[i], s[i+1] = -32768, -3277
		}
	}
	b, _ := binary.Append(nil, binary.LittleEndian, s)
	os.WriteFile(audiotest.In(dir), b, 0o644)
	out, stderr, err := runAudioCmd(t, "levels", "-config", "", "-backend", "alsa", "-device", "filemic", "-channels", "2", "-rate", "48000", "-interval", "50ms", "-seconds", "0.05")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	first, _, _ := strings.Cut(out, "\n")
	for _, want := range []string{"ch0 [####################]", "0.0 pk", "CLIP(", "ch1 [", "-20.0 pk", "-20.0 rms"} {
		if !strings.Contains(first, want) {
			t.Errorf("first line lacks %q: %q", want, first)
		}
	}
	if !strings.Contains(out, "warning: clipping") {
		t.Error("no clipping warning")
	}
}

// TestAudioOpts: the [audio] section maps onto hw/audio's options.
func TestAudioOpts(t *testing.T) {
	c := config.Default().Audio
	if o := playbackOpts(&c); o.PeriodFrames != 480 || o.RingFrames != 4*480 || o.Periods != 3 {
		t.Errorf("playback opts from defaults: %+v", o)
	}
	// 2 periods of 5 ms, queue of 2 periods: the lowest playback latency accepted.
	c.Period, c.BufferPeriods, c.PlaybackQueuePeriods = config.Duration(5*time.Millisecond), 2, 2
	if o := playbackOpts(&c); o.PeriodFrames != 240 || o.Periods != 2 || o.RingFrames != 480 {
		t.Errorf("low-latency playback opts: %+v", o)
	}
	c.CaptureFormat, c.CaptureChannels = "s32", 4
	if o := captureOpts(&c); o.Format != (audio.Format{Rate: 48000, Channels: 4, Sample: audio.S32}) || o.PeriodFrames != 240 {
		t.Errorf("capture opts: %+v", o)
	}
}
