package audio_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgevoice/edgevoice/hw/audio"
)

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
