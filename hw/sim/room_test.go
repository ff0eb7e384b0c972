package sim

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestRoomEcho: white noise written to the speaker reaches the microphone after the
// room's delay at the room's gain; near-end speech (Say) is added as it is.
func TestRoomEcho(t *testing.T) {
	for _, delay := range []time.Duration{20 * time.Millisecond, 120 * time.Millisecond} {
		room, err := NewRoom(RoomOpts{Rate: 8000, Delay: delay, GainDB: -6, NoiseDB: -100, Queue: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		const n = 4000 // 0.5 s
		rng := rand.New(rand.NewPCG(1, 1))
		in := make([]float32, n)
		for i := range in {
			in[i] = float32(0.1 * rng.NormFloat64())
		}
		// the first chunk before the clock runs; the rest up to 300 ms ahead, so a
		// stalled goroutine on a busy machine does not underrun the speaker
		spk := room.Speaker()
		if _, err := spk.Write(ctx, in[:80]); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 80; i < n; i += 80 {
				if _, err := spk.Write(ctx, in[i:i+80]); err != nil {
					return
				}
			}
		}()
		room.Say([]float32{0.5})
		mic := room.Mic()
		out := make([]float32, n)
		for i := 0; i < n; i += 80 {
			if _, err := mic.Read(ctx, out[i:i+80]); err != nil {
				t.Fatal(err)
			}
		}
		wg.Wait()
		cancel()
		room.Close()
		if out[0] < 0.4 {
			t.Errorf("near-end sample %v, want about 0.5", out[0])
		}
		// cross-correlation peak: the direct path
		best, lag := 0.0, 0
		for l := 0; l < 2000; l++ {
			var c float64
			for i := 0; i+l < n; i++ {
				c += float64(in[i]) * float64(out[i+l])
			}
			if c > best {
				best, lag = c, l
			}
		}
		want := int(delay.Seconds() * 8000)
		if lag < want || lag > want+2 {
			t.Errorf("delay %v: echo peak at %d samples, want %d", delay, lag, want)
		}
		var ei, eo float64
		for i := 2000; i < n; i++ {
			ei += float64(in[i-lag]) * float64(in[i-lag])
			eo += float64(out[i]) * float64(out[i])
		}
		if g := 10 * math.Log10(eo/ei); math.Abs(g+6) > 1.5 {
			t.Errorf("delay %v: echo at %.1f dB, want -6 ± 1.5", delay, g)
		}
		if _, err := mic.Read(context.Background(), out[:80]); err == nil {
			t.Error("read after Close did not fail")
		}
	}
}
