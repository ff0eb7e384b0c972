package malgo

import (
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/hw/audio"
)

// The ALSA file-plugin devices negotiate what they are asked for: the stream reports the
// device's rate, period and period count, and another period size after another open.
func TestALSANegotiatedLatency(t *testing.T) {
	alsaRig(t)
	for _, tc := range []struct {
		dir             audio.Direction
		dev             string
		rate, period, n int
		wantPeriod      time.Duration
		wantBuffer      time.Duration
	}{
		{audio.DirCapture, "filemic", 48000, 480, 3, 10 * time.Millisecond, 30 * time.Millisecond},
		{audio.DirCapture, "filemic", 16000, 320, 4, 20 * time.Millisecond, 80 * time.Millisecond},
		{audio.DirPlayback, "filespk", 48000, 480, 3, 10 * time.Millisecond, 30 * time.Millisecond},
		{audio.DirPlayback, "filespk", 48000, 960, 2, 20 * time.Millisecond, 40 * time.Millisecond},
	} {
		o := audio.Opts{Backend: audio.BackendALSA, Device: tc.dev, Format: audio.Format{Rate: tc.rate, Channels: 2, Sample: audio.S16},
			PeriodFrames: tc.period, Periods: tc.n}
		var lat audio.Latency
		if tc.dir == audio.DirCapture {
			c, err := audio.OpenCapture[int16](o)
			if err != nil {
				t.Fatal(err)
			}
			lat = c.Latency()
			c.Close()
		} else {
			p, err := audio.OpenPlayback[int16](o)
			if err != nil {
				t.Fatal(err)
			}
			lat = p.Latency()
			p.Close()
		}
		t.Logf("%v %s %d Hz %d x %d: negotiated %v", tc.dir, tc.dev, tc.rate, tc.n, tc.period, lat)
		if lat.Rate != tc.rate || lat.PeriodFrames != tc.period || lat.Periods != tc.n {
			t.Errorf("%v %s: negotiated %+v, want %d x %d frames at %d Hz", tc.dir, tc.dev, lat, tc.n, tc.period, tc.rate)
		}
		if lat.Period() != tc.wantPeriod || lat.Buffer() != tc.wantBuffer {
			t.Errorf("%v %s: period %v buffer %v, want %v %v", tc.dir, tc.dev, lat.Period(), lat.Buffer(), tc.wantPeriod, tc.wantBuffer)
		}
	}
}
