package audio

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"
)

// A paced WAVSink (a simulated speaker) takes frames no faster than real time: when a
// Write returns, at least the audio written so far has elapsed (frame n is due at
// start + n/rate and timers never fire early), and the whole of N seconds takes about N
// seconds. The file holds exactly what was written.
func testWAVSinkPaced[T Sample](t *testing.T, sf SampleFormat, in []T) {
	t.Parallel()
	const ch, rate = 2, 48000
	f := Format{Rate: rate, Channels: ch, Sample: sf}
	frames := len(in) / ch
	audioDur := time.Duration(frames) * time.Second / rate
	path := filepath.Join(t.TempDir(), "spk.wav")
	w, err := CreateWAVSink[T](path, f, true)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	chunks := []int{480, 160, 1000, 17, 2400} // frames per Write: 10, 3.3, 20.8, 0.35, 50 ms
	start := time.Now()
	done := 0
	for k := 0; done < frames; k++ {
		n := min(chunks[k%len(chunks)], frames-done)
		if got, err := w.Write(ctx, in[done*ch:(done+n)*ch]); err != nil || got != n*ch {
			t.Fatalf("Write of %d frames = %d, %v", n, got, err)
		}
		done += n
		// 1 ms of slack for clock granularity only
		if el, due := time.Since(start), time.Duration(done)*time.Second/rate; el < due-time.Millisecond {
			t.Fatalf("after %d frames (%v of audio) only %v passed: not paced", done, due, el)
		}
	}
	el := time.Since(start)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%v of audio written in %v", audioDur, el)
	if el < audioDur*8/10 || el > 4*audioDur {
		t.Errorf("%v of audio took %v, want about %v", audioDur, el, audioDur)
	}

	r, err := OpenWAVSource[T](path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Format() != f || r.Info().Frames != int64(frames) {
		t.Fatalf("header %+v, want %v and %d frames", r.Info(), f, frames)
	}
	got := make([]T, 0, len(in))
	buf := make([]T, 4096)
	for {
		n, err := r.Read(ctx, buf)
		got = append(got, buf[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if i := firstDiff(got, in); i >= 0 {
		t.Fatalf("sample %d: file has %v, written %v (%d samples in the file, %d written)", i, at(got, i), at(in, i), len(got), len(in))
	}
}

func TestWAVSinkPaced(t *testing.T) {
	const frames = 24000 // 0.5 s at 48 kHz
	t.Run("s16", func(t *testing.T) { testWAVSinkPaced(t, S16, testSignal[int16](frames, 2)) })
	t.Run("s32", func(t *testing.T) { testWAVSinkPaced(t, S32, testSignal[int32](frames, 2)) })
	t.Run("f32", func(t *testing.T) {
		s := testSignal[int16](frames, 2)
		f := make([]float32, len(s))
		for i, v := range s {
			f[i] = float32(v) / 32768
		}
		testWAVSinkPaced(t, F32, f)
	})
}
