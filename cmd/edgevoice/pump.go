package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/edgevoice/edgevoice/dsp/mix"
	"github.com/edgevoice/edgevoice/dsp/resample"
	"github.com/edgevoice/edgevoice/hw/audio"
)

// sessionRate is the rate of the session's audio (rtc: mono float32 at 48 kHz).
const sessionRate = 48000

// micPump moves audio from src (a capture device or a WAV file, any rate and channel
// count) to write as mono 48 kHz: mixer (channel select / average / delay-and-sum, DC
// block), resampler, then write. It returns nil when ctx ends or the file ends. All
// buffers are allocated up front: nothing allocates per period.
func micPump(ctx context.Context, src audio.Source[float32], mixer *mix.Mixer, write func([]float32)) error {
	f := src.Format()
	if mixer == nil {
		m, err := mix.New(mix.Config{InChannels: f.Channels, Format: mix.F32, Mode: mix.Average})
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
			m := mixer.ProcessF32(mono, in[:n])
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
