package rtc

import (
	"encoding/binary"
	"errors"
	"os"
)

// readWAV reads a mono 16-bit PCM WAV (what espeak-ng writes).
func readWAV(path string) ([]float32, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, errors.New("not a WAV file")
	}
	rate, ch, bits := 0, 0, 0
	for p := 12; p+8 <= len(b); {
		id, n := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:]))
		body := b[p+8 : min(len(b), p+8+n)]
		switch id {
		case "fmt ":
			ch = int(binary.LittleEndian.Uint16(body[2:]))
			rate = int(binary.LittleEndian.Uint32(body[4:]))
			bits = int(binary.LittleEndian.Uint16(body[14:]))
		case "data":
			if ch != 1 || bits != 16 {
				return nil, 0, errors.New("want mono 16-bit")
			}
			out := make([]float32, len(body)/2)
			for i := range out {
				out[i] = float32(int16(binary.LittleEndian.Uint16(body[2*i:]))) / 32768
			}
			return out, rate, nil
		}
		p += 8 + n + n&1
	}
	return nil, 0, errors.New("no data chunk")
}

// upsample converts by linear interpolation (good enough for a level/length check).
func upsample(x []float32, from, to int) []float32 {
	n := len(x) * to / from
	out := make([]float32, n)
	for i := range out {
		pos := float64(i) * float64(from) / float64(to)
		j := int(pos)
		fr := float32(pos - float64(j))
		if j+1 < len(x) {
			out[i] = x[j]*(1-fr) + x[j+1]*fr
		} else if j < len(x) {
			out[i] = x[j]
		}
	}
	return out
}
