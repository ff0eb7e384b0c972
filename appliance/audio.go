package appliance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/edgevoice/edgevoice/dsp/meter"
	"github.com/edgevoice/edgevoice/dsp/mix"
	"github.com/edgevoice/edgevoice/dsp/resample"
	"github.com/edgevoice/edgevoice/hw/audio"
)

// SessionRate is the rate of the session's audio (rtc: mono float32 at 48 kHz): what
// WriteMic takes and ReadSpeaker gives.
const SessionRate = 48000

const sessionRate = SessionRate

// meterWindow is how often the mic and speaker levels are published for the LEDs.
const meterWindow = 50 * time.Millisecond

// meterFloorDB maps levels to the LED meter: this many dBFS lights nothing, 0 dBFS all.
const meterFloorDB = -60

// RunMic moves audio from src (a capture device or a WAV file, any rate and channel
// count) into the appliance (WriteMic, after the echo path of Config.Echo) until ctx
// ends or the file ends, and returns nil then. mixer combines the channels (nil: average
// them). Nothing allocates per period.
func (a *Appliance) RunMic(ctx context.Context, src audio.Source[float32], mixer *mix.Mixer) error {
	return micPump(ctx, src, mixer, a.writeMic)
}

// RunSpeaker plays the session's downlink (ReadSpeaker) into sink at the sink's rate and
// channel count until ctx ends; what it plays is the echo canceller's far end. On a barge-in it drops what the sink still queues (when
// the sink is an audio.Flusher), so no stale answer plays from the device queue.
func (a *Appliance) RunSpeaker(ctx context.Context, sink audio.Sink[float32]) error {
	return speakerPump(ctx, sink, a.readSpeaker, a.flush)
}

// Level returns what the LED level meter shows, 0..1: the mic level while the state is
// Listening, the speaker (downlink, after the volume) level while Speaking, else 0. The
// audio path publishes the levels every 50 ms through atomics: reading never blocks it.
func (a *Appliance) Level() float64 {
	switch State(a.shown.Load()) {
	case Listening:
		return a.micMeter.Level(meterFloorDB)
	case Speaking:
		return a.spkMeter.Level(meterFloorDB)
	}
	return 0
}

// newMeter returns a level meter for the session's audio.
func newMeter() *meter.Meter {
	m, err := meter.New(SessionRate, meterWindow)
	if err != nil {
		panic("BUG: appliance: " + err.Error())
	}
	return m
}

// micPump moves audio from src (a capture device or a WAV file, any rate and channel
// count) to write as mono 48 kHz: mixer (channel select / average / delay-and-sum, DC
// block), resampler, then write. It returns nil when ctx ends or the file ends. All
// buffers are allocated up front: nothing allocates per period.
func micPump(ctx context.Context, src audio.Source[float32], mixer *mix.Mixer, write func([]float32)) error {
	f := src.Format()
	if mixer == nil {
		m, err := mix.New(mix.Config{InChannels: f.Channels, Mode: mix.Average})
		if err != nil {
			return fmt.Errorf("mic: %w", err)
		}
		mixer = m
	}
	period := f.Rate / 100 // 10 ms
	in := make([]float32, period*f.Channels)
	mono := make([]float32, period)
	var rs *resample.Resampler
	out := mono
	if f.Rate != sessionRate {
		r, err := resample.New(f.Rate, sessionRate)
		if err != nil {
			return fmt.Errorf("mic: %w", err)
		}
		rs, out = r, make([]float32, r.MaxOut(period))
	}
	for {
		n, err := src.Read(ctx, in)
		if n > 0 {
			m := mixer.Process(mono, in[:n])
			if rs != nil {
				write(out[:rs.Process(out, mono[:m])])
			} else {
				write(mono[:m])
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil || errors.Is(err, audio.ErrClosed) {
				return nil
			}
			return fmt.Errorf("mic: %w", err)
		}
	}
}

// speakerPump moves mono 48 kHz audio from read (the session's playout) to sink at the
// sink's rate and channel count. The sink paces it (a playback device, or a paced WAV
// file). A receive on flush (barge-in) drops what the sink still queues, when it can
// (audio.Flusher), so no stale answer plays from the device queue. It returns nil when
// ctx ends.
func speakerPump(ctx context.Context, sink audio.Sink[float32], read func([]float32) int, flush <-chan struct{}) error {
	f := sink.Format()
	const chunk = sessionRate / 100 // 10 ms
	mono := make([]float32, chunk)
	var rs *resample.Resampler
	conv := mono
	if f.Rate != sessionRate {
		r, err := resample.New(sessionRate, f.Rate)
		if err != nil {
			return fmt.Errorf("speaker: %w", err)
		}
		rs, conv = r, make([]float32, r.MaxOut(chunk))
	}
	inter := make([]float32, len(conv)*f.Channels)
	flusher, _ := sink.(audio.Flusher)
	for ctx.Err() == nil {
		select {
		case <-flush:
			if rs != nil {
				rs.Reset()
			}
			if flusher != nil {
				if err := flusher.Flush(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, audio.ErrClosed) {
					return fmt.Errorf("speaker flush: %w", err)
				}
			}
		default:
		}
		read(mono)
		frames := conv
		if rs != nil {
			frames = conv[:rs.Process(conv, mono)]
		}
		p := frames
		if f.Channels > 1 {
			p = inter[:len(frames)*f.Channels]
			for i, v := range frames {
				for c := 0; c < f.Channels; c++ {
					p[i*f.Channels+c] = v
				}
			}
		}
		if _, err := sink.Write(ctx, p); err != nil {
			if ctx.Err() != nil || errors.Is(err, audio.ErrClosed) {
				return nil
			}
			return fmt.Errorf("speaker: %w", err)
		}
	}
	return nil
}
