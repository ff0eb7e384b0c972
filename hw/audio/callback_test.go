package audio

import (
	"fmt"
	"testing"
)

// The callback bodies are measured without a device: a 10 ms period at 48 kHz x 4 ch.

func benchCapture[T Sample](b *testing.B, sf SampleFormat, ch int) {
	c, err := newCapture[T](Opts{Format: Format{Rate: 48000, Channels: ch, Sample: sf}, Driver: &fakeDriver{}})
	if err != nil {
		b.Fatal(err)
	}
	in := make([]byte, 480*ch*sf.Bytes())
	for i := range in {
		in[i] = byte(i * 7)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		c.onData(nil, in, 480)
		if c.ring.Free() < 480*ch {
			c.ring.Reset() // the consumer, outside the measured body's cost
		}
	}
}

func benchPlayback[T Sample](b *testing.B, sf SampleFormat, ch int) {
	p, err := newPlayback[T](Opts{Format: Format{Rate: 48000, Channels: ch, Sample: sf}, RingFrames: 4096, Driver: &fakeDriver{}})
	if err != nil {
		b.Fatal(err)
	}
	out := make([]byte, 480*ch*sf.Bytes())
	data := make([]T, 480*ch)
	b.ReportAllocs()
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		p.ring.Write(data)
		p.onData(out, nil, 480)
	}
}

func BenchmarkCaptureCallback(b *testing.B) {
	b.Run("s32x4_to_int32", func(b *testing.B) { benchCapture[int32](b, S32, 4) })
	b.Run("s32x4_to_float32", func(b *testing.B) { benchCapture[float32](b, S32, 4) })
	b.Run("s16x4_to_float32", func(b *testing.B) { benchCapture[float32](b, S16, 4) })
	b.Run("s32x8_to_float32", func(b *testing.B) { benchCapture[float32](b, S32, 8) })
}

func BenchmarkPlaybackCallback(b *testing.B) {
	b.Run("int32_to_s32x4", func(b *testing.B) { benchPlayback[int32](b, S32, 4) })
	b.Run("float32_to_s32x4", func(b *testing.B) { benchPlayback[float32](b, S32, 4) })
	b.Run("float32_to_s16x2", func(b *testing.B) { benchPlayback[float32](b, S16, 2) })
}

// The callbacks allocate nothing, converting or not, with the ring full or empty.
func TestCallbackAllocs(t *testing.T) {
	for _, sf := range []SampleFormat{S16, S32, F32} {
		t.Run(fmt.Sprint(sf), func(t *testing.T) {
			c, _ := newCapture[float32](Opts{Format: Format{Rate: 48000, Channels: 4, Sample: sf}, RingFrames: 1024, Driver: &fakeDriver{}})
			in := make([]byte, 480*4*sf.Bytes())
			if a := testing.AllocsPerRun(100, func() { c.onData(nil, in, 480) }); a != 0 { // fills, then overruns
				t.Errorf("capture callback: %v allocs per call", a)
			}
			if c.Stats().Overruns == 0 {
				t.Errorf("the full ring was not counted as overruns")
			}
			p, _ := newPlayback[int32](Opts{Format: Format{Rate: 48000, Channels: 4, Sample: sf}, Driver: &fakeDriver{}})
			out := make([]byte, 480*4*sf.Bytes())
			data := make([]int32, 240*4)
			if a := testing.AllocsPerRun(100, func() { p.ring.Write(data); p.onData(out, nil, 480) }); a != 0 { // half a period: underruns
				t.Errorf("playback callback: %v allocs per call", a)
			}
			if p.Stats().Underruns == 0 {
				t.Errorf("half-empty periods were not counted as underruns")
			}
		})
	}
}
