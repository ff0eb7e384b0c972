package malgo_test

import (
	"context"
	"fmt"
	"time"

	"github.com/edgevoice/edgevoice/hw/audio"
	_ "github.com/edgevoice/edgevoice/hw/audio/malgo" // registers the miniaudio driver
)

// The appliance's uplink through miniaudio (imported for its side effect): a capture device (here the null backend's paced silence)
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
