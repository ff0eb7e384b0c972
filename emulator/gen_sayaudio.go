//go:build ignore

// gen_sayaudio writes sayaudio.bin, the answer the emulator plays for a text prompt
// (conversation.item.create with input_text): a soft two-note chime of 0.6 s coded as
// 20 ms Opus packets, each stored as a 2-byte big-endian length and the packet. It needs
// libopus (cgo), so it is not part of the emulator's build: run `go generate ./emulator`.
package main

import (
	"encoding/binary"
	"log"
	"math"
	"os"

	"github.com/edgevoice/edgevoice/rtc/opus"
)

func main() {
	enc, err := opus.NewEncoder(opus.DefaultEncoderOpts())
	if err != nil {
		log.Fatal(err)
	}
	const rate, frames = 48000, 30 // 30 × 20 ms
	n := enc.FrameSamples()
	pcm := make([]float32, n)
	pkt := make([]byte, opus.MaxPacket)
	var out []byte
	for f := range frames {
		for i := range pcm {
			k := f*n + i
			t := float64(k) / rate
			hz := 660.0
			if f >= frames/2 {
				hz = 880
			}
			// 10 ms fade in and out of each note
			pos := float64(k%(n*frames/2)) / float64(n*frames/2)
			env := math.Min(1, math.Min(pos, 1-pos)*(0.3/0.01))
			pcm[i] = float32(0.3 * env * math.Sin(2*math.Pi*hz*t))
		}
		m, err := enc.Encode(pcm, pkt)
		if err != nil {
			log.Fatal(err)
		}
		out = binary.BigEndian.AppendUint16(out, uint16(m))
		out = append(out, pkt[:m]...)
	}
	if err := os.WriteFile("sayaudio.bin", out, 0o644); err != nil {
		log.Fatal(err)
	}
}
