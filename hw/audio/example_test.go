package audio_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/edgevoice/edgevoice/hw/audio"
)

// The appliance's uplink: a capture device (here the null backend's paced silence)
// read as float32 frames; OnState drives the Error LED.
func ExampleOpenCapture() {
	mic, err := audio.OpenCapture[float32](audio.Opts{
		Backend: audio.BackendNull,
		Device:  "", // default device; or "ReSpeaker", "hw:2,0", ...
		Format:  audio.Format{Rate: 48000, Channels: 4, Sample: audio.S32},
		OnState: func(s audio.State, err error) { /* led.SetState(...) */ },
	})
	if err != nil {
		fmt.Println(err) // names the devices that exist
		return
	}
	defer mic.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	buf := make([]float32, mic.PeriodFrames()*mic.Format().Channels)
	n, err := mic.Read(ctx, buf) // whole frames: n is a multiple of 4
	fmt.Println(n > 0 && n%4 == 0, err, mic.State())
	// Output: true <nil> running
}

// A WAV file stands in for the microphone (as fast as possible here; paced=true for a
// simulated appliance): the pipeline only sees a Source.
func ExampleOpenWAVSource() {
	dir, _ := os.MkdirTemp("", "wav")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "mic.wav")
	sink, _ := audio.CreateWAVSink[int16](path, audio.Format{Rate: 16000, Channels: 2, Sample: audio.S16}, false)
	sink.Write(context.Background(), []int16{16384, -16384, 8192, -8192})
	sink.Close()

	var src audio.Source[float32]
	src, err := audio.OpenWAVSource[float32](path, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	buf := make([]float32, 16)
	n, _ := src.Read(context.Background(), buf)
	_, err = src.Read(context.Background(), buf)
	fmt.Println(src.Format(), buf[:n], err)
	// Output: 16000 Hz, 2 ch, s16 [0.5 -0.5 0.25 -0.25] EOF
}
