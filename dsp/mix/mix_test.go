package mix

import (
	"math"
	"strings"
	"testing"
)

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{InChannels: 4, Mode: Select, Channels: []int{4}}, "channel 4 out of range"},
		{Config{InChannels: 4, Mode: Average, Channels: []int{0, -1}}, "channel -1 out of range"},
		{Config{InChannels: 0}, "InChannels"},
		{Config{InChannels: 2, Mode: DelaySum, Delays: []int{1}}, "1 delays for 2 channels"},
		{Config{InChannels: 2, Mode: DelaySum, Delays: []int{1, MaxDelay + 1}}, "out of range"},
		{Config{InChannels: 2, Mode: Average, Delays: []int{1, 1}}, "delay-sum"},
		{Config{InChannels: 1, DCCutoffHz: 50}, "cutoff"},
		{Config{InChannels: 1, Mode: Select, Channels: []int{0, 1}}, "one channel"},
	} {
		_, err := New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want error containing %q", c.cfg, err, c.want)
		}
	}
}

func TestEnums(t *testing.T) {
	for m := Select; m <= DelaySum; m++ {
		if g, err := ParseMode(m.String()); err != nil || g != m {
			t.Errorf("mode %v round trip: %v %v", m, g, err)
		}
	}
	if _, err := ParseMode("x"); err == nil {
		t.Error("ParseMode(x) ok")
	}
	if Mode(7).String() != "Mode(7)" {
		t.Error("unknown enum strings")
	}
}

func must(t testing.TB, cfg Config) *Mixer {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSelectAverage(t *testing.T) {
	src := []float32{0.1, 0.2, 0.3, 0.4, -0.1, -0.2, -0.3, -0.4} // 2 frames x 4 ch
	dst := make([]float32, 2)
	m := must(t, Config{InChannels: 4, Mode: Select, Channels: []int{2}})
	if n := m.Process(dst, src); n != 2 || dst[0] != 0.3 || dst[1] != -0.3 {
		t.Fatalf("select: %d %v", n, dst)
	}
	m = must(t, Config{InChannels: 4, Mode: Average, Channels: []int{1, 3}})
	m.Process(dst, src)
	if math.Abs(float64(dst[0])-0.3) > 1e-7 || math.Abs(float64(dst[1])+0.3) > 1e-7 {
		t.Fatalf("average of 1 and 3: %v", dst)
	}
	m = must(t, Config{InChannels: 4, Mode: Average})
	m.Process(dst, []float32{0.5, 0.5, 0.5, 0.5, 0, 0, 0, -1})
	if dst[0] != 0.5 || dst[1] != -0.25 {
		t.Fatalf("average: %v", dst)
	}
	m = must(t, Config{InChannels: 2, Mode: Select, Channels: []int{1}})
	m.Process(dst, []float32{9, 0.125, 9, -0.75})
	if dst[0] != 0.125 || dst[1] != -0.75 {
		t.Fatalf("select 1: %v", dst)
	}
	m = must(t, Config{InChannels: 2, Mode: Average, GainDB: 6.0206})
	m.Process(dst, []float32{0.1, 0.3, -0.2, -0.2})
	if math.Abs(float64(dst[0])-0.4) > 1e-4 || math.Abs(float64(dst[1])+0.4) > 1e-4 {
		t.Fatalf("average with gain: %v", dst)
	}
}

// TestDelaySum feeds an impulse that reaches channel c at time 10-d[c]; with the delays
// the copies line up and sum to the full amplitude at time 10, across call boundaries.
func TestDelaySum(t *testing.T) {
	delays := []int{0, 3, 7}
	m := must(t, Config{InChannels: 3, Mode: DelaySum, Delays: delays})
	src := make([]float32, 30*3)
	for c, d := range delays {
		src[(10-d)*3+c] = 1
	}
	dst := make([]float32, 30)
	n := m.Process(dst[:5], src[:5*3])
	n += m.Process(dst[5:], src[5*3:])
	if n != 30 {
		t.Fatal(n)
	}
	for i, v := range dst {
		want := float32(0)
		if i == 10 {
			want = 1
		}
		if math.Abs(float64(v-want)) > 1e-6 {
			t.Errorf("sample %d = %v, want %v", i, v, want)
		}
	}
}

func TestDCBlockAndLimiter(t *testing.T) {
	m := must(t, Config{InChannels: 1, Rate: 16000, DCCutoffHz: 40, GainDB: 20, Limit: true})
	src := make([]float32, 16000)
	for i := range src {
		src[i] = 0.3 + 0.2*float32(math.Sin(2*math.Pi*1000*float64(i)/16000))
	}
	dst := make([]float32, len(src))
	m.Process(dst, src)
	var mean, peak float64
	for _, v := range dst[8000:] {
		mean += float64(v)
		peak = max(peak, math.Abs(float64(v)))
	}
	mean /= 8000
	if math.Abs(mean) > 1e-3 {
		t.Errorf("DC after blocker %v", mean)
	}
	if peak > 1 || peak < 0.9 {
		t.Errorf("peak after 20 dB gain + limiter = %v, want in 0.9..1", peak)
	}
	x := []float32{0.5, -0.5, 0.8, -3, 100}
	DefaultLimiter.Process(x)
	if x[0] != 0.5 || x[1] != -0.5 || x[2] <= 0.7 || x[2] >= 0.8 || x[3] >= -0.99 || x[3] < -1 || x[4] > 1 {
		t.Errorf("limiter: %v", x)
	}
}

// TestZeroAllocs: no mode allocates per call.
func TestZeroAllocs(t *testing.T) {
	const frames = 320
	ms := []*Mixer{
		must(t, Config{InChannels: 4, Mode: Average, Rate: 16000, DCCutoffHz: 50, GainDB: 6, Limit: true}),
		must(t, Config{InChannels: 4, Mode: Select, Channels: []int{2}, GainDB: -3}),
		must(t, Config{InChannels: 4, Mode: Average, Channels: []int{0, 3}}),
		must(t, Config{InChannels: 4, Mode: DelaySum, Delays: []int{0, 1, 2, 3}, Rate: 16000, DCCutoffHz: 50, Limit: true}),
	}
	src := make([]float32, 4*frames)
	for i := range src {
		src[i] = float32(i%17) / 20
	}
	dst := make([]float32, frames)
	for _, m := range ms {
		if a := testing.AllocsPerRun(50, func() {
			if m.Process(dst, src) != frames {
				panic("frames")
			}
		}); a != 0 {
			t.Errorf("%+v: %v allocs per run", m.Config(), a)
		}
	}
}

func benchMix(b *testing.B, cfg Config) {
	m := must(b, cfg)
	const frames = 960 // 20 ms at 48 kHz
	dst := make([]float32, frames)
	src := make([]float32, frames*cfg.InChannels)
	b.SetBytes(int64(frames * cfg.InChannels * 4)) // input consumed per op
	b.ReportAllocs()
	for b.Loop() {
		m.Process(dst, src)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frames), "ns/frame")
}

func BenchmarkSelectx4(b *testing.B) {
	benchMix(b, Config{InChannels: 4, Mode: Select, Channels: []int{1}})
}

func BenchmarkAveragex4DCLimit(b *testing.B) {
	benchMix(b, Config{InChannels: 4, Mode: Average, Rate: 48000, DCCutoffHz: 50, GainDB: 6, Limit: true})
}

func BenchmarkDelaySumx8(b *testing.B) {
	benchMix(b, Config{InChannels: 8, Mode: DelaySum, Delays: []int{0, 1, 2, 3, 4, 5, 6, 7}})
}

func BenchmarkDelaySumx6(b *testing.B) {
	benchMix(b, Config{InChannels: 6, Mode: DelaySum, Delays: []int{0, 1, 2, 3, 4, 5}})
}
