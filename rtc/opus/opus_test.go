package opus

import (
	"errors"
	"math"
	"testing"
	"time"
)

func tone(dst []float32, freq, rate float64, amp float32, phase *float64) {
	for i := range dst {
		dst[i] = amp * float32(math.Sin(*phase))
		*phase += 2 * math.Pi * freq / rate
	}
}

// goertzelRMS returns the RMS of the component at freq and the total RMS of x.
func goertzelRMS(x []float32, freq, rate float64) (at, total float64) {
	w := 2 * math.Pi * freq / rate
	var re, im, sum float64
	for i, v := range x {
		re += float64(v) * math.Cos(w*float64(i))
		im -= float64(v) * math.Sin(w*float64(i))
		sum += float64(v) * float64(v)
	}
	n := float64(len(x))
	return math.Sqrt(2*(re*re+im*im)) / n, math.Sqrt(sum / n)
}

func TestToneRoundTrip(t *testing.T) {
	for _, rate := range []int{48000, 24000, 16000} {
		o := DefaultEncoderOpts()
		o.SampleRate = rate
		enc, err := NewEncoder(o)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := NewDecoder(rate)
		if err != nil {
			t.Fatal(err)
		}
		frame := make([]float32, enc.FrameSamples())
		pkt := make([]byte, MaxPacket)
		out := make([]float32, 0, rate)
		buf := make([]float32, rate/1000*120)
		var ph float64
		for range 50 { // 1 s
			tone(frame, 1000, float64(rate), 0.5, &ph)
			n, err := enc.Encode(frame, pkt)
			if err != nil {
				t.Fatal(err)
			}
			m, err := dec.Decode(pkt[:n], buf)
			if err != nil {
				t.Fatal(err)
			}
			if m != len(frame) {
				t.Fatalf("rate %d: decoded %d samples, want %d", rate, m, len(frame))
			}
			out = append(out, buf[:m]...)
		}
		at, total := goertzelRMS(out[rate/5:], 1000, float64(rate))
		want := 0.5 / math.Sqrt2
		if math.Abs(at-want) > 0.1*want || at < 0.9*total {
			t.Errorf("rate %d: 1 kHz RMS %.3f (total %.3f), want %.3f ±10%% and ≥90%% of total", rate, at, total, want)
		}
	}
}

// speechLike fills dst with a voiced, pitch-gliding, syllable-modulated signal so that
// libopus codes it as speech (SILK/hybrid) with VAD active.
func speechLike(dst []float32, rate float64, n *int, phase *float64) {
	for i := range dst {
		tt := float64(*n) / rate
		f := 140 + 60*math.Sin(2*math.Pi*1.3*tt)
		env := 0.6 + 0.4*math.Sin(2*math.Pi*4*tt)
		*phase += 2 * math.Pi * f / rate
		v := math.Sin(*phase) + 0.5*math.Sin(2**phase) + 0.3*math.Sin(3**phase)
		dst[i] = float32(0.2 * env * v)
		*n++
	}
}

func TestFECAndConceal(t *testing.T) {
	o := DefaultEncoderOpts()
	o.PacketLossPerc = 20
	enc, err := NewEncoder(o)
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := NewDecoder(48000)
	frame := make([]float32, 960)
	var ph float64
	var pos int
	var pkts [][]byte
	for range 50 {
		speechLike(frame, 48000, &pos, &ph)
		p := make([]byte, MaxPacket)
		n, err := enc.Encode(frame, p)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p[:n])
	}
	withFEC := 0
	for _, p := range pkts[10:] {
		if HasFEC(p) {
			withFEC++
		}
	}
	if withFEC < 15 { // libopus adds LBRR only for frames its VAD deems active
		t.Fatalf("only %d of 40 packets carry FEC (modes: %v)", withFEC, PacketMode(pkts[20]))
	}
	lost := -1
	for i := 15; i < 40; i++ {
		if HasFEC(pkts[i+1]) {
			lost = i
			break
		}
	}
	if lost < 0 {
		t.Fatal("no packet after 15 carries FEC")
	}
	buf := make([]float32, 5760)
	for i, p := range pkts {
		var n int
		switch {
		case i == lost: // lost: recovered from the next packet
			n, err = dec.DecodeFEC(pkts[i+1], buf, 960)
		case i == lost+5: // lost: concealed
			n, err = dec.Conceal(buf, 960)
		default:
			n, err = dec.Decode(p, buf)
		}
		if err != nil || n != 960 {
			t.Fatalf("packet %d: n=%d err=%v", i, n, err)
		}
		if i == lost || i == lost+5 {
			_, total := goertzelRMS(buf[:960], 200, 48000)
			if total < 0.02 { // the input is ≈0.1 RMS; silence would be ≈0
				t.Errorf("packet %d: recovered frame is near silent (rms %.3f)", i, total)
			}
		}
	}

	o.FEC = false
	enc2, _ := NewEncoder(o)
	p := make([]byte, MaxPacket)
	for i := range 20 {
		speechLike(frame, 48000, &pos, &ph)
		n, _ := enc2.Encode(frame, p)
		if i > 5 && HasFEC(p[:n]) {
			t.Fatalf("FEC off but packet %d has LBRR", i)
		}
	}
}

func TestBadConfig(t *testing.T) {
	for _, mod := range []func(*EncoderOpts){
		func(o *EncoderOpts) { o.SampleRate = 44100 },
		func(o *EncoderOpts) { o.FrameDuration = 25 * time.Millisecond },
		func(o *EncoderOpts) { o.Bitrate = 1000 },
		func(o *EncoderOpts) { o.Complexity = 11 },
		func(o *EncoderOpts) { o.MaxBandwidthHz = 22050 },
	} {
		o := DefaultEncoderOpts()
		mod(&o)
		if _, err := NewEncoder(o); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%+v: err = %v, want ErrBadConfig", o, err)
		}
	}
	enc, _ := NewEncoder(DefaultEncoderOpts())
	if _, err := enc.Encode(make([]float32, 100), make([]byte, MaxPacket)); err == nil {
		t.Error("Encode of a short frame: no error")
	}
}

func TestModeString(t *testing.T) {
	for m, s := range map[Mode]string{ModeSILK: "silk", ModeHybrid: "hybrid", ModeCELT: "celt", ModeInvalid: "invalid"} {
		if m.String() != s {
			t.Errorf("%d: %q want %q", m, m.String(), s)
		}
	}
	if PacketMode(nil) != ModeInvalid || HasFEC(nil) {
		t.Error("empty packet")
	}
}

func TestEncodeDecodeNoAllocs(t *testing.T) {
	enc, _ := NewEncoder(DefaultEncoderOpts())
	dec, _ := NewDecoder(48000)
	frame := make([]float32, 960)
	pkt := make([]byte, MaxPacket)
	out := make([]float32, 5760)
	var ph float64
	tone(frame, 440, 48000, 0.3, &ph)
	if a := testing.AllocsPerRun(50, func() {
		n, _ := enc.Encode(frame, pkt)
		dec.Decode(pkt[:n], out)
		dec.Conceal(out, 960)
	}); a != 0 {
		t.Errorf("%v allocs per encode+decode, want 0", a)
	}
}

func BenchmarkEncode20ms(b *testing.B) {
	for _, c := range []int{0, 5, 10} {
		b.Run("complexity"+string(rune('0'+c/10))+string(rune('0'+c%10)), func(b *testing.B) {
			o := DefaultEncoderOpts()
			o.Complexity = c
			enc, _ := NewEncoder(o)
			frame := make([]float32, 960)
			pkt := make([]byte, MaxPacket)
			var ph float64
			b.ReportAllocs()
			for b.Loop() {
				tone(frame, 440, 48000, 0.3, &ph)
				if _, err := enc.Encode(frame, pkt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
