//go:build cgo

package emulator

import (
	"math"
	"testing"

	"github.com/edgevoice/edgevoice/rtc/opus"
)

// BenchmarkWSFrameCodec is the emulator's libopus work per 20 ms of audio on a
// WebSocket call: coding one appended frame (wsInputInit's encoder) and decoding one
// answer packet back to pcm16 at 24 kHz.
func BenchmarkWSFrameCodec(b *testing.B) {
	c := &call{ws: &wsConn{}}
	if err := c.wsInputInit(); err != nil {
		b.Fatal(err)
	}
	dec, err := opus.NewDecoder(wsRate)
	if err != nil {
		b.Fatal(err)
	}
	frame := make([]float32, wsFrame)
	for i := range frame {
		frame[i] = float32(0.3 * math.Sin(2*math.Pi*440*float64(i)/wsRate))
	}
	pcm := make([]float32, wsFrame)
	in := &c.ws.in
	b.ReportAllocs()
	for b.Loop() {
		n, err := in.enc.Encode(frame, in.pkt)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := dec.Decode(in.pkt[:n], pcm); err != nil {
			b.Fatal(err)
		}
	}
}
