package mix

import (
	"encoding/binary"
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
		{Config{InChannels: 1, Format: Format(9)}, "format"},
		{Config{InChannels: 1, Mode: Select, Channels: []int{0, 1}}, "one channel"},
	} {
		_, err := New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want error containing %q", c.cfg, err, c.want)
		}
	}
}

func TestEnums(t *testing.T) {
	for f := S16; f <= F32; f++ {
		if g, err := ParseFormat(f.String()); err != nil || g != f {
			t.Errorf("format %v round trip: %v %v", f, g, err)
		}
	}
	for m := Select; m <= DelaySum; m++ {
		if g, err := ParseMode(m.String()); err != nil || g != m {
			t.Errorf("mode %v round trip: %v %v", m, g, err)
		}
	}
	if _, err := ParseMode("x"); err == nil {
		t.Error("ParseMode(x) ok")
	}
	if Format(7).String() != "Format(7)" || Mode(7).String() != "Mode(7)" {
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
	src := []int16{100, 200, 300, 400, -100, -200, -300, -400} // 2 frames x 4 ch
	dst := make([]float32, 2)
	m := must(t, Config{InChannels: 4, Mode: Select, Channels: []int{2}})
	if n := m.ProcessS16(dst, src); n != 2 || dst[0] != 300.0/32768 || dst[1] != -300.0/32768 {
		t.Fatalf("select: %d %v", n, dst)
	}
	m = must(t, Config{InChannels: 4, Mode: Average, Channels: []int{1, 3}})
	m.ProcessS16(dst, src)
	if dst[0] != 300.0/32768 || dst[1] != -300.0/32768 {
		t.Fatalf("average: %v", dst)
	}
	m = must(t, Config{InChannels: 4, Format: S32, Mode: Average})
	m.ProcessS32(dst, []int32{1 << 30, 1 << 30, 1 << 30, 1 << 30, 0, 0, 0, -1 << 31})
	if dst[0] != 0.5 || dst[1] != -0.25 {
		t.Fatalf("s32 average: %v", dst)
	}
	m = must(t, Config{InChannels: 4, Format: S32, Mode: Select, Channels: []int{3}})
	m.ProcessS32(dst, []int32{0, 0, 0, 1 << 29, 0, 0, 0, -1 << 30})
	if dst[0] != 0.25 || dst[1] != -0.5 {
		t.Fatalf("s32 select: %v", dst)
	}
	m = must(t, Config{InChannels: 2, Format: F32, Mode: Select, Channels: []int{1}})
	m.ProcessF32(dst, []float32{9, 0.125, 9, -0.75})
	if dst[0] != 0.125 || dst[1] != -0.75 {
		t.Fatalf("f32 select: %v", dst)
	}
	m = must(t, Config{InChannels: 2, Format: F32, Mode: Average, GainDB: 6.0206})
	m.ProcessF32(dst, []float32{0.1, 0.3, -0.2, -0.2})
	if math.Abs(float64(dst[0])-0.4) > 1e-4 || math.Abs(float64(dst[1])+0.4) > 1e-4 {
		t.Fatalf("f32 average with gain: %v", dst)
	}
}

func TestBytesMatchesTyped(t *testing.T) {
	for _, f := range []Format{S16, S32, F32} {
		cfg := Config{InChannels: 3, Format: f, Mode: DelaySum, Delays: []int{0, 2, 5}}
		a, b := must(t, cfg), must(t, cfg)
		const frames = 50
		raw := make([]byte, frames*3*f.Size())
		da, db := make([]float32, frames), make([]float32, frames)
		switch f {
		case S16:
			s := make([]int16, frames*3)
			for i := range s {
				s[i] = int16(i*997 - 30000)
				binary.LittleEndian.PutUint16(raw[2*i:], uint16(s[i]))
			}
			a.ProcessS16(da, s)
		case S32:
			s := make([]int32, frames*3)
			for i := range s {
				s[i] = int32(i*99991 - 1<<30)
				binary.LittleEndian.PutUint32(raw[4*i:], uint32(s[i]))
			}
			a.ProcessS32(da, s)
		case F32:
			s := make([]float32, frames*3)
			for i := range s {
				s[i] = float32(i%17) / 20
				binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(s[i]))
			}
			a.ProcessF32(da, s)
		}
		if n := b.ProcessBytes(db, raw); n != frames {
			t.Fatalf("%v: %d frames", f, n)
		}
		for i := range da {
			if math.Abs(float64(da[i]-db[i])) > 1e-6 {
				t.Fatalf("%v frame %d: typed %v bytes %v", f, i, da[i], db[i])
			}
		}
	}
}

// TestDelaySum feeds an impulse that reaches channel c at time 10-d[c]; with the delays
// the copies line up and sum to the full amplitude at time 10, across call boundaries.
func TestDelaySum(t *testing.T) {
	delays := []int{0, 3, 7}
	m := must(t, Config{InChannels: 3, Format: F32, Mode: DelaySum, Delays: delays})
	src := make([]float32, 30*3)
	for c, d := range delays {
		src[(10-d)*3+c] = 1
	}
	dst := make([]float32, 30)
	n := m.ProcessF32(dst[:5], src[:5*3])
	n += m.ProcessF32(dst[5:], src[5*3:])
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
	m := must(t, Config{InChannels: 1, Format: F32, Rate: 16000, DCCutoffHz: 40, GainDB: 20, Limit: true})
	src := make([]float32, 16000)
	for i := range src {
		src[i] = 0.3 + 0.2*float32(math.Sin(2*math.Pi*1000*float64(i)/16000))
	}
	dst := make([]float32, len(src))
	m.ProcessF32(dst, src)
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

func TestZeroAllocs(t *testing.T) {
	m16 := must(t, Config{InChannels: 4, Mode: Average, Rate: 16000, DCCutoffHz: 50, GainDB: 6, Limit: true})
	mds := must(t, Config{InChannels: 4, Format: F32, Mode: DelaySum, Delays: []int{0, 1, 2, 3}})
	s16 := make([]int16, 4*320)
	f32 := make([]float32, 4*320)
	raw := make([]byte, 2*4*320)
	dst := make([]float32, 320)
	if a := testing.AllocsPerRun(50, func() {
		m16.ProcessS16(dst, s16)
		m16.ProcessBytes(dst, raw)
		mds.ProcessF32(dst, f32)
	}); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}

// The S32 path (ReSpeaker-class arrays deliver S32) allocates nothing in any mode,
// typed or from device bytes.
func TestZeroAllocsS32(t *testing.T) {
	const frames = 320
	ms := []*Mixer{
		must(t, Config{InChannels: 4, Format: S32, Mode: Average, Rate: 16000, DCCutoffHz: 50, GainDB: 6, Limit: true}),
		must(t, Config{InChannels: 4, Format: S32, Mode: Select, Channels: []int{2}, GainDB: -3}),
		must(t, Config{InChannels: 4, Format: S32, Mode: Average, Channels: []int{0, 3}}),
		must(t, Config{InChannels: 4, Format: S32, Mode: DelaySum, Delays: []int{0, 1, 2, 3}, Rate: 16000, DCCutoffHz: 50, Limit: true}),
	}
	src := make([]int32, 4*frames)
	for i := range src {
		src[i] = int32(i*99991 - 1<<30)
	}
	raw := make([]byte, 4*len(src))
	for i, v := range src {
		binary.LittleEndian.PutUint32(raw[4*i:], uint32(v))
	}
	dst := make([]float32, frames)
	for _, m := range ms {
		if a := testing.AllocsPerRun(50, func() {
			if m.ProcessS32(dst, src) != frames || m.ProcessBytes(dst, raw) != frames {
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
	src := make([]int16, frames*cfg.InChannels)
	src32 := make([]int32, frames*cfg.InChannels)
	fsrc := make([]float32, frames*cfg.InChannels)
	b.SetBytes(int64(frames * cfg.InChannels * cfg.Format.Size())) // input consumed per op
	b.ReportAllocs()
	for b.Loop() {
		switch cfg.Format {
		case F32:
			m.ProcessF32(dst, fsrc)
		case S32:
			m.ProcessS32(dst, src32)
		default:
			m.ProcessS16(dst, src)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frames), "ns/frame")
}

func BenchmarkSelectS16x4(b *testing.B) {
	benchMix(b, Config{InChannels: 4, Mode: Select, Channels: []int{1}})
}

func BenchmarkAverageS16x4DCLimit(b *testing.B) {
	benchMix(b, Config{InChannels: 4, Mode: Average, Rate: 48000, DCCutoffHz: 50, GainDB: 6, Limit: true})
}

func BenchmarkAverageS32x4DCLimit(b *testing.B) {
	benchMix(b, Config{InChannels: 4, Format: S32, Mode: Average, Rate: 48000, DCCutoffHz: 50, GainDB: 6, Limit: true})
}

func BenchmarkDelaySumS32x8(b *testing.B) {
	benchMix(b, Config{InChannels: 8, Format: S32, Mode: DelaySum, Delays: []int{0, 1, 2, 3, 4, 5, 6, 7}})
}

func BenchmarkDelaySumF32x6(b *testing.B) {
	benchMix(b, Config{InChannels: 6, Format: F32, Mode: DelaySum, Delays: []int{0, 1, 2, 3, 4, 5}})
}
