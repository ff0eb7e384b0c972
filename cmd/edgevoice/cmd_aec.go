package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/edgevoice/edgevoice/appliance"
	"github.com/edgevoice/edgevoice/hw/aec"
	"github.com/edgevoice/edgevoice/hw/audio"
	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
)

// aecCommand: edgevoice aec -ref speaker.wav -mic mic.wav -out cleaned.wav.
func aecCommand() *cli.Command {
	return &cli.Command{Name: "aec", Summary: "cancel the speaker's echo in a microphone recording, as the appliance does live", Flags: aecFlags}
}

// aecFlags: the echo settings come from the [audio] section of -config (echo, echo_tail,
// noise_suppression, agc), exactly as `edgevoice run` uses them; -echo overrides the mode.
func aecFlags(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
	cfgPath := fs.String("config", config.Path(env.Getenv), "config `file` whose [audio] echo settings are used (the default file is ignored when missing; \"\" = built-in defaults)")
	ref := fs.String("ref", "", "the speaker reference: mono WAV of what the speaker was given (required)")
	mic := fs.String("mic", "", "the microphone: mono WAV at the reference's rate (required)")
	out := fs.String("out", "", "where to write the cleaned microphone (mono 16-bit WAV at the mic's rate and length) (required)")
	mode := fs.String("echo", "", `override [audio] echo: "aec", "gate" or "off"`)
	delay := fs.Duration("delay", 0, "how much later the reference's sound reaches the mic file than the adaptive filter can absorb (a device's playback queue); 0 for recordings made side by side")
	return func(ctx context.Context, _ []string) error {
		if *ref == "" || *mic == "" || *out == "" {
			return cli.Usagef("-ref, -mic and -out are required")
		}
		c := config.Default()
		if _, err := os.Stat(*cfgPath); *cfgPath != "" && (err == nil || *cfgPath != config.DefaultPath) {
			full, err := config.Load(*cfgPath)
			if err != nil {
				return err
			}
			c = full
		}
		e := echoConfig(&c.Audio)
		e.Delay = *delay
		if *mode != "" {
			m, err := appliance.ParseEchoMode(*mode)
			if err != nil {
				return cli.Usagef("-echo: %v", err)
			}
			e.Mode = m
		}
		r, rr, err := readMonoWAV(*ref)
		if err != nil {
			return fmt.Errorf("-ref: %w", err)
		}
		m, mr, err := readMonoWAV(*mic)
		if err != nil {
			return fmt.Errorf("-mic: %w", err)
		}
		if rr != mr {
			return fmt.Errorf("-ref is %d Hz and -mic %d Hz: record both at one rate (`sox in.wav -r %d out.wav` converts)", rr, mr, mr)
		}
		cleaned, latency, err := cancelEcho(e, mr, m, r)
		if err != nil {
			return err
		}
		if err := writeMonoWAV(*out, mr, cleaned); err != nil {
			return fmt.Errorf("-out: %w", err)
		}
		fmt.Fprintf(env.Stderr, "aec: %s: %d samples at %d Hz, echo %s; the path adds %.1f ms of latency live (taken out here: the output is sample-aligned with the mic)\n",
			*out, len(cleaned), mr, e.Mode, latency.Seconds()*1000)
		return nil
	}
}

// cancelEcho runs mic and ref through the appliance's echo path at rate and returns the
// result with the path's latency taken out (sample-aligned with mic, same length) and
// that latency. With nothing to do the mic comes back as it is.
func cancelEcho(e appliance.EchoConfig, rate int, mic, ref []float32) ([]float32, time.Duration, error) {
	cfg, ok := appliance.EchoPathConfig(e, rate)
	if !ok {
		return mic, 0, nil
	}
	p, err := aec.NewPath(cfg)
	if err != nil {
		return nil, 0, err
	}
	defer p.Close()
	chunk := max(rate/100, 1)
	lat := int(math.Round(p.Latency().Seconds() * float64(rate)))
	total := len(mic) + lat + 2*chunk // the tail pushes the last samples out
	got := make([]float32, 0, total+p.MaxOut(chunk))
	buf := make([]float32, p.MaxOut(chunk))
	zero := make([]float32, chunk)
	part := func(x []float32, i int) []float32 {
		if i >= len(x) {
			return zero
		}
		if i+chunk > len(x) {
			s := make([]float32, chunk)
			copy(s, x[i:])
			return s
		}
		return x[i : i+chunk]
	}
	for i := 0; i < total; i += chunk {
		p.Far(part(ref, i))
		n, err := p.Mic(buf, part(mic, i))
		if err != nil {
			return nil, 0, err
		}
		got = append(got, buf[:n]...)
	}
	out := make([]float32, len(mic))
	if lat < len(got) {
		copy(out, got[lat:])
	}
	if e.Mode == appliance.EchoGate {
		gate(out, ref, cfg.StreamRate, e.Delay)
	}
	return out, p.Latency(), nil
}

// gate silences out where the reference was audible within delay + 300 ms before (the
// half-duplex gate of echo = "gate", with nobody pressing talk).
func gate(out, ref []float32, rate int, delay time.Duration) {
	hang := int((delay + 300*time.Millisecond).Seconds() * float64(rate))
	last := -hang - 1
	for i := range out {
		if i < len(ref) && math.Abs(float64(ref[i])) > 1e-3 {
			last = i
		}
		if i-last <= hang {
			out[i] = 0
		}
	}
}

// readMonoWAV reads a whole mono WAV file as float32.
func readMonoWAV(path string) ([]float32, int, error) {
	src, err := audio.OpenWAVSource[float32](path, false)
	if err != nil {
		return nil, 0, err
	}
	defer src.Close()
	f := src.Format()
	if f.Channels != 1 {
		return nil, 0, fmt.Errorf("%s has %d channels: want mono (`sox in.wav -c 1 out.wav remix 1` takes the first)", path, f.Channels)
	}
	var x []float32
	buf := make([]float32, 8192)
	for {
		n, err := src.Read(context.Background(), buf)
		x = append(x, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return x, f.Rate, nil
		}
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", path, err)
		}
	}
}

// writeMonoWAV writes x as a mono 16-bit WAV file.
func writeMonoWAV(path string, rate int, x []float32) error {
	w, err := audio.CreateWAVSink[float32](path, audio.Format{Rate: rate, Channels: 1, Sample: audio.S16}, false)
	if err != nil {
		return err
	}
	if _, err := w.Write(context.Background(), x); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
