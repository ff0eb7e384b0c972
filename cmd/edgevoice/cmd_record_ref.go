package main

import (
	"context"
	"fmt"
	"time"

	"github.com/edgevoice/edgevoice/dsp/resample"
	"github.com/edgevoice/edgevoice/hw/audio"
	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
)

// refPlayer plays a file on the speaker in lockstep with the microphone for `edgevoice
// record -play -ref`: for every frame the mic delivers, the next frame of the file goes to
// the speaker and to the reference file, so reference sample k is what the speaker was
// given when mic sample k arrived — the appliance's far end, before the playback queue
// (pass the queue to `edgevoice aec -delay`).
type refPlayer struct {
	sink  *audio.Playback[float32]
	ref   *audio.WAVSink[float32]
	clip  []float32
	pos   int
	chunk []float32
}

func openRefPlayer(ctx context.Context, env *cli.Env, c *config.Audio, rate int, playPath, refPath string) (*refPlayer, error) {
	clip, clipRate, err := readMonoWAV(playPath)
	if err != nil {
		return nil, fmt.Errorf("-play: %w", err)
	}
	if clipRate != rate {
		r, err := resample.New(clipRate, rate)
		if err != nil {
			return nil, fmt.Errorf("-play: %w", err)
		}
		out := make([]float32, r.MaxOut(len(clip)))
		clip = out[:r.Process(out, clip)]
	}
	o := playbackOpts(c)
	o.Format = audio.Format{Rate: rate, Channels: 1, Sample: audio.F32} // at the mic's rate: the reference lines up sample for sample
	o.PeriodFrames = c.PeriodFrames(rate)
	o.RingFrames = c.PlaybackQueuePeriods * o.PeriodFrames
	sink, err := audio.OpenPlayback[float32](o)
	if err != nil {
		return nil, fmt.Errorf("-play: %w", err)
	}
	ref, err := audio.CreateWAVSink[float32](refPath, audio.Format{Rate: rate, Channels: 1, Sample: audio.S16}, false)
	if err != nil {
		sink.Close()
		return nil, fmt.Errorf("-ref: %w", err)
	}
	p := &refPlayer{sink: sink, ref: ref, clip: clip, chunk: make([]float32, 4096)}
	// fill the playback queue with silence, so the speaker's writes keep pace with the mic
	if _, err := sink.Write(ctx, make([]float32, o.RingFrames)); err != nil {
		p.close()
		return nil, fmt.Errorf("-play: %w", err)
	}
	queue := time.Duration(o.RingFrames) * time.Second / time.Duration(rate)
	fmt.Fprintf(env.Stderr, "playing %s (%.2f s) on %v; reference to %s; clean it with `edgevoice aec -ref %s -mic MIC.wav -out OUT.wav -delay %v`\n",
		playPath, float64(len(clip))/float64(rate), sink.Device(), refPath, refPath, queue)
	return p, nil
}

// step plays the next frames of the file (silence after its end) and writes them to the
// reference.
func (p *refPlayer) step(ctx context.Context, frames int) error {
	for frames > 0 {
		n := min(frames, len(p.chunk))
		c := p.chunk[:n]
		k := copy(c, p.clip[min(p.pos, len(p.clip)):])
		clear(c[k:])
		p.pos += n
		frames -= n
		if _, err := p.sink.Write(ctx, c); err != nil {
			return fmt.Errorf("-play: %w", err)
		}
		if _, err := p.ref.Write(ctx, c); err != nil {
			return fmt.Errorf("-ref: %w", err)
		}
	}
	return nil
}

func (p *refPlayer) close() {
	p.ref.Close()
	p.sink.Close()
}
