package meter

import (
	"math"
	"sync"
	"testing"
	"time"
)

func sine(n int, amp float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*1000*float64(i)/48000))
	}
	return x
}

func TestLevels(t *testing.T) {
	m, err := New(48000, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if m.Peak() != Floor || m.RMS() != Floor {
		t.Fatalf("before any window: %v %v", m.Peak(), m.RMS())
	}
	x := sine(2400, 0.5) // exactly one window, 50 periods
	m.Write(x[:1000])
	if m.Windows() != 0 {
		t.Fatal("published early")
	}
	m.Write(x[1000:])
	if m.Windows() != 1 {
		t.Fatal("not published")
	}
	if p := m.Peak(); math.Abs(p-(-6.0206)) > 0.01 {
		t.Errorf("peak %.3f dBFS, want -6.02", p)
	}
	if r := m.RMS(); math.Abs(r-(-9.0309)) > 0.01 {
		t.Errorf("rms %.3f dBFS, want -9.03", r)
	}
	if l := m.Level(-60); math.Abs(l-(1-9.0309/60)) > 0.01 {
		t.Errorf("level %.3f", l)
	}
	m.Write(make([]float32, 2400))
	if m.RMS() != Floor || m.Level(-60) != 0 {
		t.Errorf("silence: rms %v level %v", m.RMS(), m.Level(-60))
	}
	if _, err := New(8000, time.Microsecond); err == nil {
		t.Error("sub-sample window accepted")
	}
}

func TestHelpers(t *testing.T) {
	x := []float32{0.1, -0.8, 0.3}
	if Peak(x) != float64(float32(0.8)) {
		t.Error(Peak(x))
	}
	want := math.Sqrt((0.01 + 0.64 + 0.09) / 3)
	if math.Abs(RMS(x)-want) > 1e-6 || RMS(nil) != 0 || Peak(nil) != 0 {
		t.Error(RMS(x))
	}
	if DBFS(1) != 0 || DBFS(0) != Floor {
		t.Error(DBFS(1), DBFS(0))
	}
}

func TestConcurrentRead(t *testing.T) {
	m, _ := New(48000, time.Millisecond)
	x := sine(960, 0.25)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				if p := m.Peak(); p > 0 {
					t.Errorf("peak %v", p)
				}
			}
		}
	}()
	for range 200 {
		m.Write(x)
	}
	close(stop)
	wg.Wait()
}

func TestZeroAllocs(t *testing.T) {
	m, _ := New(48000, 10*time.Millisecond)
	x := sine(960, 0.5)
	if a := testing.AllocsPerRun(100, func() { m.Write(x); _ = m.RMS() }); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}

func BenchmarkWrite(b *testing.B) {
	m, _ := New(48000, 50*time.Millisecond)
	x := sine(960, 0.5)
	b.ReportAllocs()
	for b.Loop() {
		m.Write(x)
	}
}
