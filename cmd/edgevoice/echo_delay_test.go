package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/appliance"
	"github.com/edgevoice/edgevoice/hw/audio"
	"github.com/edgevoice/edgevoice/hw/audio/audiotest"
	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/rtc"
)

// The reference delay of devices opened on ALSA (the file-plugin test devices): the
// playback queue (the ring: 4 periods of 480 frames rounded up to 2048 frames at 48 kHz)
// + the playback buffer the device negotiated (3 x 480 at 48 kHz = 30 ms) + the capture
// period it negotiated (320 at 16 kHz = 20 ms), less the refill jitter (2 playback
// periods + 1 capture period = 40 ms).
func TestEchoDelayNegotiatedALSA(t *testing.T) {
	env, err := audiotest.WriteALSAConfig(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("ALSA_CONFIG_PATH", env)
	mic, err := audio.OpenCapture[float32](audio.Opts{Backend: audio.BackendALSA, Device: "filemic",
		Format: audio.Format{Rate: 16000, Channels: 2, Sample: audio.S16}, PeriodFrames: 320, Periods: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer mic.Close()
	spk, err := audio.OpenPlayback[float32](audio.Opts{Backend: audio.BackendALSA, Device: "filespk",
		Format: audio.Format{Rate: 48000, Channels: 2, Sample: audio.S16}, PeriodFrames: 480, Periods: 3, RingFrames: 4 * 480})
	if err != nil {
		t.Fatal(err)
	}
	defer spk.Close()
	d, detail := echoDelay(spk, mic)
	want := 2048*time.Second/48000 + 30*time.Millisecond + 20*time.Millisecond - 40*time.Millisecond
	t.Logf("echo reference delay %v = %s", d, detail)
	if d != want {
		t.Errorf("echo delay %v, want %v (%s)", d, want, detail)
	}
	for _, s := range []string{"devices 92.7ms", "3 x 480 frames at 48000 Hz", "3 x 320 frames at 16000 Hz", "less 40ms"} {
		if !strings.Contains(detail, s) {
			t.Errorf("detail %q does not say %q", detail, s)
		}
	}
	// a WAV file has no device buffering, and says so
	if d, detail := echoDelay(&audio.WAVSink[float32]{}, mic); d != 0 || !strings.Contains(detail, "WAV file") {
		t.Errorf("WAV speaker: delay %v (%s), want 0 (the mic period is all jitter) with the reason", d, detail)
	}
}

// latDriver opens devices that report lat and never call back (the streams' stall
// watch is off); fail stops the open device as a driver error does.
type latDriver struct {
	mu   sync.Mutex
	lat  audio.Latency
	stop func()
}

type latDevice struct{ lat audio.Latency }

func (d latDevice) Start() error                                       { return nil }
func (d latDevice) Close()                                             {}
func (d latDevice) Info() audio.DeviceInfo                             { return audio.DeviceInfo{Name: "fake", ID: "fake"} }
func (d latDevice) Latency() audio.Latency                             { return d.lat }
func (f *latDriver) Devices(audio.Backend) ([]audio.DeviceInfo, error) { return nil, nil }

func (f *latDriver) Open(_ audio.Direction, _ *audio.Opts, _ func(out, in []byte, frames uint32), stop func()) (audio.Device, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stop = stop
	return latDevice{f.lat}, nil
}

func (f *latDriver) reopenWith(l audio.Latency) {
	f.mu.Lock()
	f.lat = l
	stop := f.stop
	f.mu.Unlock()
	stop()
}

// Devices of one Group reopened after a fault with another buffering (a USB card that
// came back with a larger period): the appliance's echo path is told the new delay.
func TestEchoDelayFollowsReopen(t *testing.T) {
	keys := rtc.KeySourceFunc(func(context.Context) (realtime.Key, error) { return realtime.Key{}, nil })
	a, err := appliance.New(appliance.Config{Volume: 1, Echo: appliance.EchoConfig{Mode: appliance.EchoAEC}},
		appliance.Deps{Keys: keys, NewSession: func(realtime.Key, rtc.KeySource) (appliance.Session, error) { return nil, io.EOF }})
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{a: a, cfg: &config.Config{}, log: slog.New(slog.DiscardHandler)}
	g := audio.NewGroup()
	micDrv := &latDriver{lat: audio.Latency{Rate: 48000, PeriodFrames: 480, Periods: 3}}
	spkDrv := &latDriver{lat: audio.Latency{Rate: 48000, PeriodFrames: 480, Periods: 3}}
	f := audio.Format{Rate: 48000, Channels: 1, Sample: audio.S16}
	mic, err := audio.OpenCapture[float32](audio.Opts{Format: f, Driver: micDrv, Group: g, OnState: r.audioState("mic"),
		StallTimeout: time.Hour, MinBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer mic.Close()
	spk, err := audio.OpenPlayback[float32](audio.Opts{Format: f, Driver: spkDrv, Group: g, OnState: r.audioState("speaker"),
		StallTimeout: time.Hour, MinBackoff: time.Millisecond, RingFrames: 4 * 480})
	if err != nil {
		t.Fatal(err)
	}
	defer spk.Close()
	r.setEchoDevices(spk, mic)
	queue := 2048 * time.Second / 48000
	// 3 x 10 ms speaker buffer + 10 ms mic period, less 2 x 10 ms + 10 ms of jitter
	if d, detail := a.EchoDelay(); !sameSample(d, queue+10*time.Millisecond) {
		t.Fatalf("echo delay at start %v (%s), want %v", d, detail, queue+10*time.Millisecond)
	}
	micDrv.mu.Lock()
	micDrv.lat = audio.Latency{Rate: 48000, PeriodFrames: 960, Periods: 2} // taken by the Group restart
	micDrv.mu.Unlock()
	spkDrv.reopenWith(audio.Latency{Rate: 48000, PeriodFrames: 960, Periods: 4})
	want := queue + 80*time.Millisecond + 20*time.Millisecond - 60*time.Millisecond // 4 x 20 ms + 20 ms, less 2 x 20 ms + 20 ms
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, detail := a.EchoDelay()
		if sameSample(d, want) {
			if !strings.Contains(detail, "4 x 960") || !strings.Contains(detail, "2 x 960") {
				t.Errorf("detail %q does not name the new buffering", detail)
			}
			if st := a.Status(); !sameSample(time.Duration(st.EchoDelay), want) || st.Echo == "" {
				t.Errorf("status echo %q delay %v, want %v", st.Echo, time.Duration(st.EchoDelay), want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("echo delay %v (%s) 10 s after the reopen, want %v; mic %+v speaker %+v", d, detail, want, mic.Stats(), spk.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sameSample reports whether a and b are the same delay at the appliance's 16 kHz (the
// echo path counts the delay in whole samples).
func sameSample(a, b time.Duration) bool {
	return (a - b).Abs() < time.Second/16000
}
