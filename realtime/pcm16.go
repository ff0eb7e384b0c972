package realtime

import (
	"encoding/binary"
	"math"
)

// PCM16 is the audio format of the WebSocket transport ("pcm16" in the preview dialect,
// "audio/pcm" in GA): 16-bit signed little-endian mono samples at 24 kHz, base64 inside
// the JSON events (REALTIME-API.md §5.2). The device's uplink and downlink and the
// emulator's endpoints convert with these two functions, so both ends agree.

// PCM16Rate is the sample rate of PCM16 audio.
const PCM16Rate = 24000

// AppendPCM16 appends f to dst as PCM16 samples: clipped to ±1, scaled by 32767 and
// rounded.
func AppendPCM16(dst []byte, f []float32) []byte {
	for _, v := range f {
		x := math.Round(float64(max(-1, min(1, v))) * 32767)
		dst = binary.LittleEndian.AppendUint16(dst, uint16(int16(x)))
	}
	return dst
}

// DecodePCM16 converts the PCM16 samples of src into dst, scaled by 1/32768, and
// returns how many it converted: min(len(dst), len(src)/2).
func DecodePCM16(dst []float32, src []byte) int {
	n := min(len(dst), len(src)/2)
	for i := range n {
		dst[i] = float32(int16(binary.LittleEndian.Uint16(src[2*i:]))) / 32768
	}
	return n
}
