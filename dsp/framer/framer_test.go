package framer

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestFrameSize(t *testing.T) {
	for _, c := range []struct {
		rate int
		d    time.Duration
		want int
	}{{48000, 20 * time.Millisecond, 960}, {16000, 10 * time.Millisecond, 160}, {8000, 60 * time.Millisecond, 480}, {44100, 40 * time.Millisecond, 1764}} {
		if n, err := FrameSize(c.rate, c.d); err != nil || n != c.want {
			t.Errorf("FrameSize(%d, %v) = %d, %v; want %d", c.rate, c.d, n, err, c.want)
		}
	}
	for _, c := range []struct {
		rate int
		d    time.Duration
	}{{48000, 30 * time.Millisecond}, {11025, 10 * time.Millisecond}, {0, 20 * time.Millisecond}} {
		if _, err := FrameSize(c.rate, c.d); err == nil {
			t.Errorf("FrameSize(%d, %v) accepted", c.rate, c.d)
		}
	}
}

// TestRoundTrip pushes a counting sequence through a Framer in random chunks, the frames
// through a Deframer, and reads random sizes back: the sequence must come out intact.
func TestRoundTrip(t *testing.T) {
	f, err := New[int16](16000, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDeframer[int16](4 * f.Size())
	rng := rand.New(rand.NewPCG(1, 2))
	next, want := 0, 0
	out := make([]int16, 700)
	frames := 0
	for next < 100000 {
		p := make([]int16, rng.IntN(1000))
		for i := range p {
			p[i] = int16(next + i)
		}
		next += len(p)
		for len(p) > 0 {
			n, fr := f.Write(p)
			p = p[n:]
			if fr != nil {
				if len(fr) != 320 {
					t.Fatalf("frame of %d", len(fr))
				}
				frames++
				for !d.Write(fr) {
					k := d.Read(out[:rng.IntN(len(out))+1], false)
					for _, v := range out[:k] {
						if v != int16(want) {
							t.Fatalf("got %d, want %d", v, int16(want))
						}
						want++
					}
				}
			}
		}
	}
	if frames != next/320 || f.Buffered() != next%320 {
		t.Fatalf("%d frames, %d buffered for %d samples", frames, f.Buffered(), next)
	}
	if d.Overflows() == 0 {
		t.Fatal("test never filled the deframer")
	}
}

func TestDeframerFill(t *testing.T) {
	d := NewDeframer[float32](8)
	d.Write([]float32{1, 2, 3})
	if d.Write(make([]float32, 6)) {
		t.Fatal("overfull write accepted")
	}
	dst := []float32{9, 9, 9, 9, 9}
	if n := d.Read(dst, true); n != 5 || dst[0] != 1 || dst[2] != 3 || dst[3] != 0 || dst[4] != 0 {
		t.Fatalf("Read = %d %v", n, dst)
	}
	if d.Underruns() != 2 || d.Overflows() != 1 || d.Len() != 0 {
		t.Fatalf("underruns %d overflows %d len %d", d.Underruns(), d.Overflows(), d.Len())
	}
}

func TestZeroAllocs(t *testing.T) {
	f := NewSize[float32](960)
	d := NewDeframer[float32](3 * 960)
	in := make([]float32, 441)
	out := make([]float32, 256)
	if a := testing.AllocsPerRun(100, func() {
		p := in
		for len(p) > 0 {
			n, fr := f.Write(p)
			p = p[n:]
			if fr != nil {
				d.Write(fr)
			}
		}
		d.Read(out, true)
		d.Read(out, true)
	}); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}
