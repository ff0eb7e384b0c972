package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/edgevoice/edgevoice/dsp/meter"
	"github.com/edgevoice/edgevoice/hw/audio"
	_ "github.com/edgevoice/edgevoice/hw/audio/malgo" // the device driver (miniaudio, cgo)
	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
)

// audioCommands are the audio diagnostics: devices, record, play, levels, aec.
func audioCommands() []*cli.Command {
	return []*cli.Command{
		{Name: "devices", Summary: "list audio capture and playback devices with their native formats", Flags: devicesFlags},
		{Name: "record", Args: "OUT.wav", MinArgs: 1, MaxArgs: 1, Summary: "record the raw multi-channel microphone to a WAV file (with -play and -ref: play a file and keep the speaker reference beside it)", Flags: recordFlags},
		{Name: "play", Args: "FILE.wav", MinArgs: 1, MaxArgs: 1, Summary: "play a WAV file on the speaker", Flags: playFlags},
		{Name: "levels", Summary: "live per-channel microphone level meter with clipping warnings", Flags: levelsFlags},
		aecCommand(),
	}
}

// audioFlags are the device flags the audio commands share. Their defaults come from
// the [audio] section of -config ($EDGEVOICE_CONFIG) when that file exists; flags given
// override it.
type audioFlags struct {
	fs              *flag.FlagSet
	config          string
	backend, device string
	rate, channels  int
	format          string
	period          time.Duration
	playback        bool // the device flags describe the speaker
	resolved        config.Audio
}

func newAudioFlags(fs *flag.FlagSet, env *cli.Env, playback bool) *audioFlags {
	a := &audioFlags{fs: fs, playback: playback}
	fs.StringVar(&a.config, "config", config.Path(env.Getenv), "config `file` whose [audio] section gives the defaults (the default file is ignored when missing; \"\" = built-in defaults)")
	fs.StringVar(&a.backend, "backend", "", `audio system: auto, alsa, pulse or null (default from config: "auto")`)
	fs.StringVar(&a.device, "device", "", "device name substring or ALSA PCM such as hw:2,0 (default from config: the default device)")
	fs.IntVar(&a.rate, "rate", 0, "sample rate in Hz (default from config: 48000)")
	fs.IntVar(&a.channels, "channels", 0, "channels 1-8 (default from config)")
	fs.StringVar(&a.format, "format", "", "sample format s16, s32 or f32 (default from config)")
	fs.DurationVar(&a.period, "period", 0, "device period (default from config: 10ms)")
	return a
}

// resolve merges the parsed flags over the config file's [audio] section.
func (a *audioFlags) resolve() error {
	explicit := a.config != config.DefaultPath
	c := config.Default()
	if _, err := os.Stat(a.config); a.config != "" && (err == nil || explicit) {
		full, err := config.Load(a.config)
		if err != nil {
			return err
		}
		c = full
	}
	ac := &c.Audio
	if a.backend != "" {
		ac.Backend = a.backend
	}
	if a.period != 0 {
		ac.Period = config.Duration(a.period)
	}
	if a.playback {
		set(&ac.PlaybackDevice, a.device)
		setInt(&ac.PlaybackRate, a.rate)
		setInt(&ac.PlaybackChannels, a.channels)
		set(&ac.PlaybackFormat, a.format)
	} else {
		set(&ac.CaptureDevice, a.device)
		setInt(&ac.CaptureRate, a.rate)
		setInt(&ac.CaptureChannels, a.channels)
		set(&ac.CaptureFormat, a.format)
		ac.MixerChannels, ac.MixerDelays = []int{}, []int{} // the mixer is not used here
		ac.Mixer = "average"
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("audio settings: %w", err)
	}
	a.resolved = *ac
	return nil
}

func set(p *string, v string) {
	if v != "" {
		*p = v
	}
}

func setInt(p *int, v int) {
	if v != 0 {
		*p = v
	}
}

func devicesFlags(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
	a := newAudioFlags(fs, env, false)
	return func(context.Context, []string) error { return runDevices(env, a) }
}

func runDevices(env *cli.Env, a *audioFlags) error {
	if err := a.resolve(); err != nil {
		return err
	}
	b, _ := audio.ParseBackend(a.resolved.Backend)
	devs, err := audio.ListDevices(b)
	if err != nil {
		return err
	}
	w := env.Stdout
	if len(devs) > 0 {
		fmt.Fprintf(w, "backend: %v\n", devs[0].Backend)
	}
	for _, dir := range []audio.Direction{audio.DirCapture, audio.DirPlayback} {
		fmt.Fprintf(w, "\n%s devices:\n", dir)
		n := 0
		for _, d := range devs {
			if d.Direction != dir {
				continue
			}
			n++
			mark := " "
			if d.Default {
				mark = "*"
			}
			name := d.Name
			if name == "" {
				name = d.ID
			}
			fmt.Fprintf(w, "%s %-40s id %s\n      native: %s\n", mark, fmt.Sprintf("%q", name), d.ID, audio.SummarizeFormats(d.Formats))
		}
		if n == 0 {
			fmt.Fprintln(w, "  (none)")
		}
	}
	fmt.Fprintln(w, "\n* = default. Select a device with -device (or capture_device/playback_device in [audio])")
	fmt.Fprintln(w, "by a part of its name or by its id (ALSA: also any PCM such as hw:2,0 or plughw:1,0).")
	return nil
}

func recordFlags(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
	a := newAudioFlags(fs, env, false)
	seconds := fs.Float64("seconds", 5, "how long to record")
	play := fs.String("play", "", "play this mono WAV `file` on the speaker ([audio] playback_device) while recording (with -ref)")
	ref := fs.String("ref", "", "with -play: write what the speaker was given, sample for sample beside the mic, to this WAV `file` (for `edgevoice aec`)")
	return func(ctx context.Context, args []string) error {
		if *seconds <= 0 {
			return cli.Usagef("-seconds %v: want a positive number", *seconds)
		}
		if (*play == "") != (*ref == "") {
			return cli.Usagef("-play and -ref go together")
		}
		if err := a.resolve(); err != nil {
			return err
		}
		o := captureOpts(&a.resolved)
		var pl *refPlayer
		if *play != "" {
			p, err := openRefPlayer(ctx, env, &a.resolved, o.Format.Rate, *play, *ref)
			if err != nil {
				return err
			}
			defer p.close()
			pl = p
		}
		// The file gets exactly what the device delivers, in its own format.
		switch o.Format.Sample {
		case audio.S16:
			return record[int16](ctx, env, o, *seconds, args[0], pl)
		case audio.S32:
			return record[int32](ctx, env, o, *seconds, args[0], pl)
		}
		return record[float32](ctx, env, o, *seconds, args[0], pl)
	}
}

func record[T audio.Sample](ctx context.Context, env *cli.Env, o audio.Opts, seconds float64, path string, pl *refPlayer) error {
	frames := int(seconds * float64(o.Format.Rate))
	// A ring that holds the whole recording (up to 10 s): a slow disk then cannot drop audio.
	o.RingFrames = max(o.Format.Rate/2, min(frames, 10*o.Format.Rate))
	c, err := audio.OpenCapture[T](o)
	if err != nil {
		return err
	}
	defer c.Close()
	w, err := audio.CreateWAVSink[T](path, o.Format, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "recording %.3g s from %v (%v) to %s\n", seconds, c.Device(), o.Format, path)
	ch := o.Format.Channels
	buf := make([]T, 4096*ch)
	peak := make([]float64, ch)
	left := frames * ch
	var rerr error
	for left > 0 {
		n, err := c.Read(ctx, buf[:min(len(buf), left)])
		if err != nil {
			rerr = err
			break
		}
		for i, v := range buf[:n] {
			peak[i%ch] = math.Max(peak[i%ch], math.Abs(toFloat(v)))
		}
		if _, err := w.Write(ctx, buf[:n]); err != nil {
			rerr = err
			break
		}
		if pl != nil {
			if err := pl.step(ctx, n/ch); err != nil {
				rerr = err
				break
			}
		}
		left -= n
	}
	if err := w.Close(); err != nil && rerr == nil {
		rerr = err
	}
	st := c.Stats()
	fmt.Fprintf(env.Stderr, "wrote %d frames (%d channels)", w.Frames(), ch)
	for i, p := range peak {
		fmt.Fprintf(env.Stderr, "; ch%d peak %.1f dBFS", i, meter.DBFS(p))
	}
	fmt.Fprintln(env.Stderr)
	if st.OverrunFrames > 0 || st.DeviceErrors > 0 {
		fmt.Fprintf(env.Stderr, "warning: %d frames dropped (overruns), %d device errors: the recording has gaps\n", st.OverrunFrames, st.DeviceErrors)
	}
	if errors.Is(rerr, context.Canceled) {
		return nil // Ctrl-C ends the recording early; the file is complete
	}
	return rerr
}

// toFloat maps a sample to full scale 1.
func toFloat[T audio.Sample](v T) float64 {
	switch x := any(v).(type) {
	case int16:
		return float64(x) / 32768
	case int32:
		return float64(x) / 2147483648
	case float32:
		return float64(x)
	}
	return 0
}

func playFlags(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
	a := newAudioFlags(fs, env, true)
	return func(ctx context.Context, args []string) error { return runPlay(ctx, env, a, args[0]) }
}

func runPlay(ctx context.Context, env *cli.Env, a *audioFlags, path string) error {
	if err := a.resolve(); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	info, err := audio.ReadWAVHeader(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	o := playbackOpts(&a.resolved)
	o.Format = info.Format // the device plays the file's own format (the backend converts if it must)
	o.PeriodFrames = a.resolved.PeriodFrames(info.Format.Rate)
	o.RingFrames = a.resolved.PlaybackQueuePeriods * o.PeriodFrames
	switch info.Format.Sample {
	case audio.S16:
		return play[int16](ctx, env, o, path)
	case audio.S32:
		return play[int32](ctx, env, o, path)
	}
	return play[float32](ctx, env, o, path)
}

func play[T audio.Sample](ctx context.Context, env *cli.Env, o audio.Opts, path string) error {
	src, err := audio.OpenWAVSource[T](path, false)
	if err != nil {
		return err
	}
	defer src.Close()
	p, err := audio.OpenPlayback[T](o)
	if err != nil {
		return err
	}
	defer p.Close()
	fmt.Fprintf(env.Stderr, "playing %s (%v) on %v\n", path, o.Format, p.Device())
	buf := make([]T, o.PeriodFrames*o.Format.Channels)
	total := 0
	for {
		n, err := src.Read(ctx, buf)
		if n > 0 {
			if _, werr := p.Write(ctx, buf[:n]); werr != nil {
				return werr
			}
			total += n
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	if err := p.Drain(ctx); err != nil {
		return err
	}
	st := p.Stats()
	fmt.Fprintf(env.Stderr, "played %d frames; %d underruns\n", total/o.Format.Channels, st.Underruns)
	return nil
}

func levelsFlags(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
	a := newAudioFlags(fs, env, false)
	interval := fs.Duration("interval", 200*time.Millisecond, "how often to print the levels")
	seconds := fs.Float64("seconds", 0, "stop after this long (0: until Ctrl-C)")
	return func(ctx context.Context, _ []string) error {
		if *interval <= 0 {
			return cli.Usagef("-interval %v: want a positive duration", *interval)
		}
		if err := a.resolve(); err != nil {
			return err
		}
		return runLevels(ctx, env, a, *interval, *seconds)
	}
}

func runLevels(ctx context.Context, env *cli.Env, a *audioFlags, interval time.Duration, seconds float64) error {
	o := captureOpts(&a.resolved)
	c, err := audio.OpenCapture[float32](o)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(env.Stderr, "levels of %v (%v); Ctrl-C stops\n", c.Device(), o.Format)
	if seconds > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(seconds*float64(time.Second)))
		defer cancel()
	}
	ch := o.Format.Channels
	lv, err := newLevels(ch, o.Format.Rate, interval, 1024)
	if err != nil {
		return err
	}
	buf := make([]float32, 1024*ch)
	for {
		n, err := c.Read(ctx, buf)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		lv.add(buf[:n])
		if lv.due() {
			lv.print(env.Stdout, c.Stats())
		}
	}
}

// levels measures each channel with a dsp/meter.Meter whose window is one display
// block, and counts clipped samples per block.
type levels struct {
	ch               int
	meters           []*meter.Meter
	scratch          []float32 // one channel of a read
	clipped          []int
	printed          uint64 // windows printed
	lastOverruns     uint64
	lastDeviceErrors uint64
}

// clipLevel: a sample this close to full scale counts as clipped.
const clipLevel = 0.999

func newLevels(ch, rate int, block time.Duration, maxFrames int) (*levels, error) {
	l := &levels{ch: ch, scratch: make([]float32, maxFrames), clipped: make([]int, ch)}
	for range ch {
		m, err := meter.New(rate, block)
		if err != nil {
			return nil, err
		}
		l.meters = append(l.meters, m)
	}
	return l, nil
}

func (l *levels) add(x []float32) {
	frames := len(x) / l.ch
	for c := range l.ch {
		y := l.scratch[:frames]
		for f := range y {
			y[f] = x[f*l.ch+c]
			if math.Abs(float64(y[f])) >= clipLevel {
				l.clipped[c]++
			}
		}
		l.meters[c].Write(y)
	}
}

// due reports whether a block was measured since the last print.
func (l *levels) due() bool { return l.meters[0].Windows() > l.printed }

// print writes one line: per channel a bar, peak and RMS in dBFS, CLIP when clipped.
func (l *levels) print(w io.Writer, st audio.Stats) {
	var b strings.Builder
	for c := range l.ch {
		pk, rms := l.meters[c].Peak(), l.meters[c].RMS()
		bars := int(math.Max(0, math.Min(20, (pk+60)/3))) // -60..0 dBFS in 3 dB steps
		fmt.Fprintf(&b, "ch%d [%-20s] %6.1f pk %6.1f rms", c, strings.Repeat("#", bars), math.Max(pk, -99.9), math.Max(rms, -99.9))
		if l.clipped[c] > 0 {
			fmt.Fprintf(&b, " CLIP(%d)", l.clipped[c])
		} else {
			b.WriteString("        ")
		}
		b.WriteString("  ")
	}
	if d := st.Overruns - l.lastOverruns; d > 0 {
		fmt.Fprintf(&b, " overruns +%d", d)
	}
	if d := st.DeviceErrors - l.lastDeviceErrors; d > 0 {
		fmt.Fprintf(&b, " device errors +%d (%v)", d, st.State)
	}
	l.lastOverruns, l.lastDeviceErrors = st.Overruns, st.DeviceErrors
	fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	clipped := false
	for c := range l.ch {
		if l.clipped[c] > 0 {
			clipped = true
		}
	}
	if clipped {
		fmt.Fprintln(w, "warning: clipping: the microphone is overdriven; lower its gain (alsamixer) or gain_db")
	}
	clear(l.clipped)
	l.printed = l.meters[0].Windows()
}
