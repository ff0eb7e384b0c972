package ring

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

func TestCapacityRounding(t *testing.T) {
	for _, c := range []struct{ in, want int }{{1, 1}, {2, 2}, {3, 4}, {1000, 1024}, {1024, 1024}} {
		if got := New[int16](c.in).Cap(); got != c.want {
			t.Errorf("New(%d).Cap() = %d, want %d", c.in, got, c.want)
		}
		if got := NewKeepLast[int16](c.in).Cap(); got != c.want {
			t.Errorf("NewKeepLast(%d).Cap() = %d, want %d", c.in, got, c.want)
		}
	}
	for _, bad := range []int{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%d) did not panic", bad)
				}
			}()
			New[int](bad)
		}()
	}
}

func TestOverrunUnderrun(t *testing.T) {
	r := New[int](4)
	if n := r.Write([]int{1, 2, 3, 4, 5, 6}); n != 4 {
		t.Fatalf("Write took %d, want 4", n)
	}
	if r.Overruns() != 2 || r.Len() != 4 || r.Free() != 0 {
		t.Fatalf("overruns %d len %d free %d, want 2 4 0", r.Overruns(), r.Len(), r.Free())
	}
	p := make([]int, 6)
	if n := r.Read(p); n != 4 || p[0] != 1 || p[3] != 4 {
		t.Fatalf("Read = %d %v", n, p)
	}
	if r.Underruns() != 2 {
		t.Fatalf("underruns %d, want 2", r.Underruns())
	}
	r.Write([]int{7, 8})
	r.Reset()
	if r.Len() != 0 || r.Read(p[:1]) != 0 {
		t.Fatal("Reset left data")
	}
}

func TestKeepLast(t *testing.T) {
	r := NewKeepLast[int](4)
	if n := r.Write([]int{1, 2, 3}); n != 3 {
		t.Fatal(n)
	}
	if n := r.Write([]int{4, 5, 6}); n != 3 {
		t.Fatal(n)
	}
	if r.Overruns() != 2 || r.Len() != 4 {
		t.Fatalf("overruns %d len %d", r.Overruns(), r.Len())
	}
	r.Write([]int{10, 11, 12, 13, 14, 15})
	p := make([]int, 8)
	n := r.Read(p)
	if n != 4 || p[0] != 12 || p[3] != 15 {
		t.Fatalf("Read = %d %v, want the newest 4 (12..15)", n, p[:n])
	}
	if r.Overruns() != 2+4+2 {
		t.Fatalf("overruns %d, want 8", r.Overruns())
	}
}

func TestNotify(t *testing.T) {
	r := New[float32](8)
	select {
	case <-r.Notify():
		t.Fatal("token before any write")
	default:
	}
	r.Write([]float32{1})
	r.Write([]float32{2})
	select {
	case <-r.Notify():
	default:
		t.Fatal("no token after write")
	}
	select {
	case <-r.Notify():
		t.Fatal("tokens did not coalesce")
	default:
	}
}

// model is the obvious slice-backed reference.
type model struct {
	q          []int
	cap        int
	keep       bool
	over, unde uint64
}

func (m *model) write(p []int) int {
	if m.keep {
		m.q = append(m.q, p...)
		if len(m.q) > m.cap {
			m.over += uint64(len(m.q) - m.cap)
			m.q = m.q[len(m.q)-m.cap:]
		}
		return len(p)
	}
	n := min(len(p), m.cap-len(m.q))
	m.over += uint64(len(p) - n)
	m.q = append(m.q, p[:n]...)
	return n
}

func (m *model) read(p []int) int {
	n := copy(p, m.q)
	m.q = m.q[n:]
	m.unde += uint64(len(p) - n)
	return n
}

// FuzzWrapAround drives a ring and a slice model with the same random sequence of
// writes and reads and checks they agree item for item, across many wrap-arounds.
func FuzzWrapAround(f *testing.F) {
	f.Add(uint64(1), uint8(3), false)
	f.Add(uint64(2), uint8(7), true)
	f.Add(uint64(99), uint8(0), false)
	f.Add(uint64(12345), uint8(64), true)
	f.Fuzz(func(t *testing.T, seed uint64, capIn uint8, keep bool) {
		c := int(capIn)%64 + 1
		var r *Ring[int]
		if keep {
			r = NewKeepLast[int](c)
		} else {
			r = New[int](c)
		}
		m := &model{cap: r.Cap(), keep: keep}
		rng := rand.New(rand.NewPCG(seed, 7))
		next := 0
		buf := make([]int, 3*r.Cap())
		for op := 0; op < 400; op++ {
			k := rng.IntN(len(buf) + 1)
			if rng.IntN(2) == 0 {
				for i := range k {
					buf[i] = next + i
				}
				next += k
				if a, b := r.Write(buf[:k]), m.write(buf[:k]); a != b {
					t.Fatalf("op %d: Write took %d, model %d", op, a, b)
				}
			} else {
				got := make([]int, k)
				want := make([]int, k)
				a, b := r.Read(got), m.read(want)
				if a != b {
					t.Fatalf("op %d: Read %d, model %d", op, a, b)
				}
				for i := range a {
					if got[i] != want[i] {
						t.Fatalf("op %d: item %d = %d, want %d", op, i, got[i], want[i])
					}
				}
			}
			if r.Len() != len(m.q) || r.Overruns() != m.over || r.Underruns() != m.unde {
				t.Fatalf("op %d: len/over/under %d/%d/%d, model %d/%d/%d", op,
					r.Len(), r.Overruns(), r.Underruns(), len(m.q), m.over, m.unde)
			}
		}
	})
}

// TestConcurrent runs a real producer and consumer goroutine (run it with -race) and
// checks every item arrives exactly once and in order (normal mode), or in strictly
// increasing order with the drops accounted for (keep-last mode).
func TestConcurrent(t *testing.T) {
	for _, keep := range []bool{false, true} {
		name := "normal"
		if keep {
			name = "keeplast"
		}
		t.Run(name, func(t *testing.T) {
			const total = 200000
			var r *Ring[uint32]
			if keep {
				r = NewKeepLast[uint32](64)
			} else {
				r = New[uint32](64)
			}
			var wg sync.WaitGroup
			done := make(chan struct{})
			wg.Add(1)
			go func() { // producer
				defer wg.Done()
				defer close(done)
				rng := rand.New(rand.NewPCG(1, 2))
				buf := make([]uint32, 100)
				next := uint32(1)
				for next <= total {
					k := min(rng.IntN(len(buf))+1, total-int(next)+1)
					for i := range k {
						buf[i] = next + uint32(i)
					}
					n := r.Write(buf[:k])
					next += uint32(n)
					if n < k || keep && rng.IntN(4) == 0 {
						runtime.Gosched()
					}
				}
			}()
			got := 0
			last := uint32(0)
			p := make([]uint32, 37)
			finished := false
			gaps := 0 // jumps inside one Read: a Read copies consecutive positions
			for {
				n := r.Read(p)
				for i, v := range p[:n] {
					if keep && v <= last || !keep && v != last+1 {
						t.Fatalf("item %d after %d", v, last)
					}
					if i > 0 && v != last+1 {
						gaps++
					}
					last = v
					got++
				}
				if n > 0 {
					continue
				}
				if finished {
					break
				}
				select {
				case <-r.Notify():
				case <-done:
					finished = true
				}
			}
			wg.Wait()
			if stalls := r.stalls.Load(); stalls == 0 && (last != total || gaps > 0) {
				t.Fatalf("last item %d (want %d), %d jumps inside a Read (want 0)", last, total, gaps)
			} else if stalls > 0 {
				t.Logf("%d writes found the consumer stalled mid-Read", stalls)
			}
			if uint64(got)+r.Overruns() != total && keep {
				t.Fatalf("received %d + dropped %d != %d", got, r.Overruns(), total)
			}
			if !keep && got != total {
				t.Fatalf("received %d, want %d", got, total)
			}
			t.Logf("received %d, overruns %d, underruns %d", got, r.Overruns(), r.Underruns())
		})
	}
}

func TestZeroAllocs(t *testing.T) {
	for _, r := range []*Ring[float32]{New[float32](1024), NewKeepLast[float32](1024)} {
		in := make([]float32, 960)
		out := make([]float32, 960)
		if a := testing.AllocsPerRun(100, func() {
			r.Write(in)
			r.Read(out)
			r.Read(out[:1])
			_ = r.Len()
		}); a != 0 {
			t.Fatalf("allocs per Write+Read = %v, want 0", a)
		}
	}
}

func BenchmarkWriteRead(b *testing.B) {
	r := New[float32](4096)
	in := make([]float32, 960)
	out := make([]float32, 960)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)) * 4)
	for b.Loop() {
		r.Write(in)
		r.Read(out)
	}
}

func BenchmarkWriteReadKeepLast(b *testing.B) {
	r := NewKeepLast[float32](4096)
	in := make([]float32, 960)
	out := make([]float32, 960)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)) * 4)
	for b.Loop() {
		r.Write(in)
		r.Write(in)
		r.Read(out)
	}
}
