//go:build !provisiond

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/appliance"
	"github.com/edgevoice/edgevoice/dsp/mix"
	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/hw/audio"
	"github.com/edgevoice/edgevoice/hw/sim"
	"github.com/edgevoice/edgevoice/provisioning/keyd"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/rtc"
)

func init() {
	register(&command{name: "run", summary: "the appliance: buttons, LEDs, microphone, speaker and the realtime session (edgevoice.service)", run: runRun})
}

// runRun: edgevoice run [-config FILE] [-log-level L] [-emulator]
func runRun(ctx context.Context, env *Env) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	cfgPath := fs.String("config", configPathFromEnv(env), "config file")
	level := fs.String("log-level", "", "override [appliance] log_level")
	emulator := fs.Bool("emulator", false, "start the local realtime emulator in this process and take keys from it instead of the provisioning daemon (laptops, make run)")
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: edgevoice run [flags]\n\nRuns the appliance until SIGTERM/SIGINT (or q in the simulated board's terminal).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(env.Args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *level != "" {
		cfg.Appliance.LogLevel = *level
	}
	log, err := newLogger(env.Stderr, cfg.Appliance.LogLevel, cfg.Appliance.LogFormat, env.Getenv)
	if err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	r := &runner{cfg: cfg, path: *cfgPath, log: log, env: env, n: &notifier{log: log}}
	return r.run(ctx, *emulator)
}

// runner holds the parts of a running appliance.
type runner struct {
	cfg  *Config
	path string
	log  *slog.Logger
	env  *Env
	n    *notifier

	a        *appliance.Appliance
	keys     *keyd.Client
	mic      audio.Source[float32]
	speaker  audio.Sink[float32]
	micStat  func() audioStatus
	spkStat  func() audioStatus
	reopenMu sync.Mutex
}

func (r *runner) run(ctx context.Context, useEmulator bool) error {
	cfg, log := r.cfg, r.log
	log.Info("starting", "version", version, "config", r.path, "talk_mode", cfg.Appliance.TalkMode.String())

	// Buttons and LEDs (real pins or the simulated board).
	hw, err := openHardware(&cfg.Board, log.With("component", "board"))
	if err != nil {
		return err
	}
	defer hw.Close()

	// Keys: the provisioning daemon's socket, or an in-process emulator.
	var keys rtc.KeySource
	rtcOpts, err := cfg.RTC.options()
	if err != nil {
		return err
	}
	if useEmulator {
		srv, err := emulator.New(emulator.WithLogger(log.With("component", "emulator")),
			emulator.WithReplyText("This is the local emulator: it plays back what you said."))
		if err != nil {
			return err
		}
		if err := srv.Start(""); err != nil {
			return fmt.Errorf("emulator: %w", err)
		}
		defer srv.Close()
		log.Info("local realtime emulator", "url", srv.URL())
		keys = rtc.KeySourceFunc(func(ctx context.Context) (realtime.Key, error) { return srv.MintKey(ctx, "openai") })
		rtcOpts = append(rtcOpts, rtc.WithLoopbackOnly())
	} else {
		r.keys = keyd.NewClient(cfg.Provisioning.Socket)
		keys = socketKeys{c: r.keys, minValid: 20 * time.Second}
	}
	sessCfg, err := cfg.Session.session()
	if err != nil {
		return err
	}
	rtcLog := log.With("component", "rtc")
	factory := func(key realtime.Key, ks rtc.KeySource) (appliance.Session, error) {
		opts := append(append([]rtc.Option{}, rtcOpts...), rtc.WithKeySource(ks), rtc.WithSessionConfig(sessCfg), rtc.WithLogger(rtcLog))
		return rtc.New(key, opts...)
	}

	acfg := appliance.Config{
		TalkMode: appliance.Hold, IdleTimeout: cfg.Appliance.IdleTimeout.D(), KeepWarm: cfg.Appliance.KeepWarm,
		Volume: cfg.Appliance.Volume, VolumeStep: cfg.Appliance.VolumeStep, ServiceAction: cfg.Appliance.ServiceAction,
	}
	if cfg.Appliance.TalkMode == talkToggle {
		acfg.TalkMode = appliance.Toggle
	}
	if cfg.Appliance.Watchdog == "auto" {
		acfg.WatchdogEvery = watchdogInterval()
	}
	flushSpeaker := make(chan struct{}, 1)
	a, err := appliance.New(acfg, appliance.Deps{
		Keys: keys, NewSession: factory, LED: ledIndicator{hw.LEDs}, Buttons: hw.Buttons.Events(),
		Logger: log.With("component", "appliance"), Watchdog: r.n.Watchdog,
		OnTransition: func(tr appliance.Transition) {
			r.n.Status(tr.To.String() + " (" + tr.Reason + ")")
			if hw.Sim != nil {
				hw.Sim.Note(fmt.Sprintf("%s: %s", tr.To, tr.Reason))
			}
		},
		OnEvent: func(ev rtc.Event) {
			if ev.Kind == rtc.EventBargeIn {
				// the session dropped its playout; drop what the device queue holds too
				select {
				case flushSpeaker <- struct{}{}:
				default: // a flush is already pending
				}
			}
			if hw.Sim != nil && (ev.Kind == rtc.EventTranscriptDone || ev.Kind == rtc.EventUserTranscript) {
				hw.Sim.Note(ev.String())
			}
		},
		Service: r.reopenAudio,
	})
	if err != nil {
		return err
	}
	r.a = a

	// Audio devices (or WAV files), reporting faults to the state machine.
	if err := r.openAudio(); err != nil {
		return err
	}
	defer r.closeAudio()
	mixer, err := mix.New(cfg.Audio.mixConfig(r.mic.Format().Channels, r.mic.Format().Rate))
	if err != nil {
		return fmt.Errorf("[audio] mixer: %w", err)
	}

	ctl, err := listenControl(cfg.Appliance.ControlSocket, r.status, log)
	if err != nil {
		return err
	}
	defer ctl.Close()
	var metrics *metricsServer
	if cfg.Appliance.MetricsListen != "" {
		if metrics, err = listenMetrics(cfg.Appliance.MetricsListen, r.status); err != nil {
			return err
		}
		defer metrics.Close()
	}

	// Run everything; the first failure (or ctx) stops the rest.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	goRun := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errMu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("%s: %w", name, err)
				}
				errMu.Unlock()
				cancel()
			}
		}()
	}
	goRun("board", hw.Run)
	goRun("appliance", a.Run)
	goRun("mic", func(ctx context.Context) error { return micPump(ctx, r.mic, mixer, a.WriteMic) })
	goRun("speaker", func(ctx context.Context) error { return speakerPump(ctx, r.speaker, a.ReadSpeaker, flushSpeaker) })
	if hw.Sim != nil {
		r.terminal(ctx, cancel, hw.Sim, &wg)
	}
	// READY once the board, the audio devices, the control socket and the first key check
	// are done (a failed check still means ready: the LEDs say no-key or offline).
	select {
	case <-a.FirstCheck():
	case <-time.After(15 * time.Second):
		log.Warn("no answer from the key daemon yet; reporting ready anyway")
	case <-ctx.Done():
	}
	r.n.Ready(a.Status().StateName + "; board, audio and control socket up")
	log.Info("ready", "control_socket", cfg.Appliance.ControlSocket, "mic", r.micStat().Device, "speaker", r.spkStat().Device)

	<-ctx.Done()
	start := time.Now()
	r.n.Stopping()
	log.Info("stopping")
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		log.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	case <-time.After(cfg.Appliance.ShutdownTimeout.D()):
		log.Error("shutdown timed out; exiting anyway", "timeout", cfg.Appliance.ShutdownTimeout.D())
	}
	return firstErr
}

// openAudio opens the mic and speaker (devices or WAV files) from [audio].
func (r *runner) openAudio() error {
	c := &r.cfg.Audio
	fault := func(dev string) func(audio.State, error) {
		return func(s audio.State, err error) {
			if s == audio.StateRecovering {
				if err == nil {
					err = audio.ErrDeviceStopped
				}
				r.a.AudioFault(dev, err)
			} else if s == audio.StateRunning {
				r.a.AudioFault(dev, nil)
			}
		}
	}
	alog := r.log.With("component", "audio")
	if c.InputFile != "" {
		src, err := audio.OpenWAVSource[float32](c.InputFile, c.PaceFiles)
		if err != nil {
			return fmt.Errorf("[audio] input_file: %w", err)
		}
		r.mic = src
		r.micStat = func() audioStatus {
			return audioStatus{Role: "mic", Device: "file " + c.InputFile, Format: src.Format().String(), State: "file"}
		}
	} else {
		o := c.captureOpts()
		o.OnState, o.Logger = fault("mic"), alog
		capt, err := audio.OpenCapture[float32](o)
		if err != nil {
			return fmt.Errorf("[audio] capture_device: %w (`edgevoice devices` lists the devices; on a machine without sound set [audio] backend = \"null\", or input_file/output_file)", err)
		}
		r.mic = capt
		r.micStat = func() audioStatus {
			return audioStatusOf("mic", capt.Device().Name, capt.Format(), capt.Stats())
		}
	}
	if c.OutputFile != "" {
		f := audio.Format{Rate: c.PlaybackRate, Channels: c.PlaybackChannels, Sample: audio.S16}
		sink, err := audio.CreateWAVSink[float32](c.OutputFile, f, true)
		if err != nil {
			r.mic.Close()
			return fmt.Errorf("[audio] output_file: %w", err)
		}
		r.speaker = sink
		r.spkStat = func() audioStatus {
			return audioStatus{Role: "speaker", Device: "file " + c.OutputFile, Format: f.String(), State: "file"}
		}
	} else {
		o := c.playbackOpts()
		o.OnState, o.Logger = fault("speaker"), alog
		pb, err := audio.OpenPlayback[float32](o)
		if err != nil {
			r.mic.Close()
			return fmt.Errorf("[audio] playback_device: %w (`edgevoice devices` lists the devices; on a machine without sound set [audio] backend = \"null\", or input_file/output_file)", err)
		}
		r.speaker = pb
		r.spkStat = func() audioStatus {
			return audioStatusOf("speaker", pb.Device().Name, pb.Format(), pb.Stats())
		}
	}
	return nil
}

func (r *runner) closeAudio() {
	if r.mic != nil {
		r.mic.Close()
	}
	if r.speaker != nil {
		r.speaker.Close()
	}
}

// reopenAudio is the device part of the service action. The device streams reopen on
// their own after failures (hw/audio's supervisor), so this only logs what they report.
func (r *runner) reopenAudio(context.Context) error {
	r.log.Info("service action: audio devices", "mic", r.micStat(), "speaker", r.spkStat())
	return nil
}

// status is what the control socket and the metrics endpoint report.
func (r *runner) status(ctx context.Context) controlStatus {
	st := controlStatus{Version: version, PID: os.Getpid(), Config: r.path, Appliance: r.a.Status(),
		Audio: []audioStatus{r.micStat(), r.spkStat()}}
	if r.keys != nil {
		ps, err := r.keys.Status(ctx)
		if err != nil {
			st.Provisioning = &provisioningStatusView{Error: err.Error()}
		} else {
			st.Provisioning = &provisioningStatusView{Status: &ps}
		}
	}
	return st
}

// terminal runs the simulated board's keyboard when stdin is a terminal (q quits).
func (r *runner) terminal(ctx context.Context, quit context.CancelFunc, b *sim.Board, wg *sync.WaitGroup) {
	f, ok := r.env.Stdin.(*os.File)
	if !ok || !sim.IsTerminal(int(f.Fd())) {
		r.log.Info("simulated board without a terminal: no talk key (use a terminal, or edgevoice demo)")
		return
	}
	in, restore, err := sim.MakeRaw(int(f.Fd()))
	if err != nil {
		r.log.Warn("terminal: raw mode failed", "err", err)
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer restore()
		if err := b.Terminal(ctx, in, r.env.Stdout, r.env.Getenv != nil && r.env.Getenv("COLORTERM") != ""); err != nil {
			r.log.Warn("terminal", "err", err)
		}
		quit()
	}()
}
