package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/provisioning/keyd"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"

	"golang.org/x/sync/errgroup"

	"github.com/edgevoice/edgevoice/appliance"
	"github.com/edgevoice/edgevoice/dsp/mix"
	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/hw/audio"
	"github.com/edgevoice/edgevoice/hw/sim"
	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/edgevoice/edgevoice/internal/control"
	"github.com/edgevoice/edgevoice/rtc"
	"github.com/edgevoice/edgevoice/tools"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:    "run",
		Summary: "the appliance: buttons, LEDs, microphone, speaker and the realtime session (edgevoice.service)",
		Help:    "Runs the appliance until SIGTERM/SIGINT (or q in the simulated board's terminal).",
		Flags: func(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
			cfgPath := cli.ConfigFlag(fs, env)
			level := fs.String("log-level", "", "override [appliance] log_level")
			setupStatus := fs.String("setup-status", appliance.DefaultSetupStatusFile, "the first-boot setup's status file (the Raspberry Pi image writes it); mistakes it reports show as a setup fault (\"\": none)")
			emulator := fs.Bool("emulator", false, "start the local realtime emulator in this process and take keys from it instead of the provisioning daemon (laptops, make run)")
			return func(ctx context.Context, _ []string) error {
				cfg, err := config.Load(*cfgPath)
				if err != nil {
					return err
				}
				if *level != "" {
					cfg.Appliance.LogLevel = *level
				}
				lv, err := cli.ParseLevel(cfg.Appliance.LogLevel)
				if err != nil {
					return cli.Usagef("-log-level: %v", err)
				}
				r := &runner{cfg: cfg, path: *cfgPath, env: env, levelFlag: *level, setupStatus: *setupStatus}
				r.level.Set(lv)
				r.log = cli.NewLoggerVar(env.Stderr, &r.level, cfg.Appliance.LogFormat, env)
				r.n = cli.NewNotifier(r.log)
				// SIGHUP (systemctl reload) re-reads the config; without this it would kill
				// the process and leave the control socket behind.
				hup := make(chan os.Signal, 1)
				signal.Notify(hup, syscall.SIGHUP)
				defer signal.Stop(hup)
				r.hup = hup
				return r.run(ctx, *emulator)
			}
		},
	}
}

// runner holds the parts of a running appliance.
type runner struct {
	cfg  *config.Config
	path string
	log  *slog.Logger
	env  *cli.Env
	n    *cli.Notifier

	level       slog.LevelVar    // the log level; a reload sets it
	levelFlag   string           // -log-level, which overrides the file's log_level
	setupStatus string           // -setup-status: the first-boot setup's status file
	hup         <-chan os.Signal // SIGHUP: reload
	ready       atomic.Bool      // READY=1 was sent

	a    *appliance.Appliance
	keys *keyd.Client

	// The audio devices open once the key daemon is set up (appliance.Configured), in
	// their own goroutine; audioMu guards these against the status readers.
	audioMu sync.Mutex
	mic     audio.Source[float32]
	speaker audio.Sink[float32]
	micStat func() control.AudioStatus
	spkStat func() control.AudioStatus
	// echoDevs gives the echo reference the devices' negotiated delay (echo_delay.go).
	echoDevs echoDevices
}

func (r *runner) run(ctx context.Context, useEmulator bool) error {
	cfg, log := r.cfg, r.log
	log.Info("starting", "version", cli.Version(), "config", r.path, "talk_mode", cfg.Appliance.TalkMode)

	// Buttons and LEDs (real pins or the simulated board).
	hw, err := openHardware(&cfg.Board, log.With("component", "board"))
	if err != nil {
		return err
	}
	defer hw.Close()

	// Keys: the provisioning daemon's socket, or an in-process emulator.
	var keys rtc.KeySource
	rtcOpts, err := rtcOptions(&cfg.RTC)
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
	sessCfg, err := sessionConfig(&cfg.Session)
	if err != nil {
		return err
	}
	remote, err := remoteMCPTools(&cfg.Tools)
	if err != nil {
		return err
	}
	sessCfg.Tools = append(sessCfg.Tools, remote...)
	approvals := mcpApprovals(&cfg.Tools) // mcp_wiring.go
	rtcLog := log.With("component", "rtc")
	pinner := newSessionPinner(sessCfg, log)
	var toolSet *tools.Set // the built-in tools act on the appliance: set once it exists, before it runs
	live := &liveTools{static: sessCfg.Tools, log: log.With("component", "tools")}
	factory := func(key realtime.Key, ks rtc.KeySource) (appliance.Session, error) {
		sc := pinner.sessionFor(key)
		if err := refusePreviewMCP(key, sc.Tools); err != nil {
			return nil, err
		}
		opts := append(append([]rtc.Option{}, rtcOpts...), rtc.WithKeySource(ks), rtc.WithSessionConfig(sc), rtc.WithLogger(rtcLog),
			rtc.WithMCPApprovals(approvals))
		if toolSet != nil {
			opts = append(opts, rtc.WithTools(toolSet, cfg.Tools.Timeout.D()))
		}
		s, err := rtc.New(key, opts...)
		if err == nil {
			live.track(s, key.SessionPinned && key.Session != nil && len(key.Session.Tools) > 0)
		}
		return s, err
	}

	acfg := appliance.Config{
		TalkMode: appliance.Hold, IdleTimeout: cfg.Appliance.IdleTimeout.D(), KeepWarm: cfg.Appliance.KeepWarm,
		Volume: cfg.Appliance.Volume, VolumeStep: cfg.Appliance.VolumeStep, ServiceAction: cfg.Appliance.ServiceAction,
		Echo:            echoConfig(&cfg.Audio),
		SetupStatusFile: r.setupStatus,
	}
	if cfg.Appliance.TalkMode == config.TalkToggle {
		acfg.TalkMode = appliance.Toggle
	}
	acfg.VAD = sessCfg.TurnDetection.Type == events.TurnDetectionServerVAD || sessCfg.TurnDetection.Type == events.TurnDetectionSemanticVAD
	if cfg.Appliance.Watchdog == "auto" {
		acfg.WatchdogEvery = cli.WatchdogInterval()
	}
	a, err := appliance.New(acfg, appliance.Deps{
		Keys: keys, NewSession: factory, LED: ledIndicator{hw.LEDs}, Buttons: hw.Buttons.Events(),
		Logger: log.With("component", "appliance"), Watchdog: r.n.Watchdog,
		OnTransition: func(tr appliance.Transition) {
			r.n.Status(statusLine(r.a.Status(), tr.Reason, cfg.Provisioning.Socket))
			if hw.Sim != nil {
				hw.Sim.Note(fmt.Sprintf("%s: %s", tr.To, tr.Reason))
			}
		},
		OnEvent: func(ev rtc.Event) {
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
	if toolSet, err = a.Tools(cfg.Tools.Builtin, log.With("component", "tools")); err != nil {
		return err
	}
	if err := addConfiguredTools(toolSet, &cfg.Tools); err != nil {
		return err
	}
	live.set = toolSet
	pinner.tools = live.declarations
	mcpCls, err := mcpClients(&cfg.Tools, toolSet, log.With("component", "mcp"), live.changed)
	if err != nil {
		return err
	}

	ctl, err := control.Listen(cfg.Appliance.ControlSocket, r.status, log, control.WithRemote(a))
	if err != nil {
		return err
	}
	defer ctl.Close()
	var metrics *control.MetricsServer
	if cfg.Appliance.MetricsListen != "" {
		if metrics, err = control.ListenMetrics(cfg.Appliance.MetricsListen, r.status); err != nil {
			return err
		}
		defer metrics.Close()
	}

	// Run everything; the first failure (or ctx) stops the rest.
	ctx, quit := context.WithCancel(ctx) // q in the simulated board's terminal
	defer quit()
	g, gctx := errgroup.WithContext(ctx)
	goRun := func(name string, f func(context.Context) error) {
		g.Go(func() error {
			if err := f(gctx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("%s: %w", name, err)
			}
			return nil
		})
	}
	goRun("board", hw.Run)
	goRun("appliance", a.Run)
	goRun("audio", r.runAudio)
	for _, c := range mcpCls {
		goRun("mcp", c.Run)
	}
	g.Go(func() error {
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-r.hup:
				r.reload()
				r.a.CheckSetup(gctx) // the first-boot setup may have run again
			}
		}
	})
	if hw.Sim != nil {
		r.terminal(gctx, quit, hw.Sim, g)
	}
	ctx = gctx
	// READY once the board, the audio devices, the control socket and the first key check
	// are done (a failed check still means ready: the LEDs say no-key or offline).
	select {
	case <-a.FirstCheck():
	case <-time.After(15 * time.Second):
		log.Warn("no answer from the key daemon yet; reporting ready anyway")
	case <-ctx.Done():
	}
	select {
	case <-a.Configured():
		r.n.Ready(readyStatus(a.Status(), "board, audio and control socket up"))
	default:
		r.n.Ready(statusLine(a.Status(), "waiting for setup", cfg.Provisioning.Socket))
	}
	r.ready.Store(true)
	as := r.audioStatus()
	log.Info("ready", "control_socket", cfg.Appliance.ControlSocket, "mic", as[0].Device, "speaker", as[1].Device)

	<-ctx.Done()
	start := time.Now()
	r.n.Stopping()
	log.Info("stopping")
	done := make(chan error, 1)
	go func() { done <- g.Wait() }() // ends when the group does; the process exits after a time-out
	select {
	case err := <-done:
		log.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
		return err
	case <-time.After(cfg.Appliance.ShutdownTimeout.D()):
		log.Error("shutdown timed out; exiting anyway", "timeout", cfg.Appliance.ShutdownTimeout.D())
		return nil
	}
}

// reload re-reads the config file on SIGHUP (systemctl reload edgevoice). Only the log
// level is applied in place: everything else is wired into the devices, the board, the
// session or the sockets, so a change there is logged as needing a restart. A file that
// does not load keeps the running config.
func (r *runner) reload() {
	if r.ready.Load() { // before the first READY=1 there is nothing to mark as reloading
		r.n.Reloading()
		defer func() { r.n.Ready(readyStatus(r.a.Status(), "config reloaded")) }()
	}
	cfg, err := config.Load(r.path)
	if err != nil {
		r.log.Error("reload (SIGHUP): the config does not load; keeping the running one", "config", r.path, "err", err)
		return
	}
	if r.levelFlag != "" {
		cfg.Appliance.LogLevel = r.levelFlag
	}
	applied := []string{}
	if cfg.Appliance.LogLevel != r.cfg.Appliance.LogLevel {
		lv, err := cli.ParseLevel(cfg.Appliance.LogLevel)
		if err != nil { // config.Load validates it; kept for safety
			r.log.Error("reload (SIGHUP): keeping the log level", "err", err)
		} else {
			r.level.Set(lv)
			applied = append(applied, "appliance.log_level="+cfg.Appliance.LogLevel)
		}
	}
	// What is left must equal the running config, or a restart is needed.
	newLevel := cfg.Appliance.LogLevel
	cfg.Appliance.LogLevel = r.cfg.Appliance.LogLevel
	var restart []string
	nv, ov := reflect.ValueOf(cfg).Elem(), reflect.ValueOf(r.cfg).Elem()
	for i := range nv.NumField() {
		if !reflect.DeepEqual(nv.Field(i).Interface(), ov.Field(i).Interface()) {
			name, _, _ := strings.Cut(nv.Type().Field(i).Tag.Get("toml"), ",")
			restart = append(restart, "["+name+"]")
		}
	}
	r.cfg.Appliance.LogLevel = newLevel // (was: the old level again, so a second reload saw no change)
	if r.levelFlag != "" {
		r.log.Info("reload (SIGHUP): -log-level overrides the file's log_level", "log_level", r.levelFlag)
	}
	if len(applied) == 0 {
		applied = append(applied, "nothing changed")
	}
	r.log.Info("reload (SIGHUP): config re-read", "config", r.path, "applied", strings.Join(applied, " "),
		"reloadable", "appliance.log_level only")
	if len(restart) > 0 {
		r.log.Warn("reload (SIGHUP): these changes need a restart (systemctl restart edgevoice); the running values stay",
			"changed", strings.Join(restart, " "))
	}
}

// runAudio opens the audio devices once the key daemon is set up (until then the device
// cannot talk, and a device that is not set up keeps its sound card free), then runs the
// mic and speaker pumps until ctx ends.
func (r *runner) runAudio(ctx context.Context) error {
	select {
	case <-r.a.FirstCheck():
	case <-ctx.Done():
		return nil
	}
	select {
	case <-r.a.Configured():
	default:
		r.log.Info("the key daemon has no credential or profile yet (or does not answer): the audio devices stay closed until it has (re-checked with backoff up to every 30 s, or hold talk 3 s)")
		select {
		case <-r.a.Configured():
			r.log.Info("the key daemon is set up: opening the audio devices")
		case <-ctx.Done():
			return nil
		}
	}
	// Audio devices (or WAV files), reporting faults to the state machine.
	if err := r.openAudio(); err != nil {
		return err
	}
	defer r.closeAudio()
	r.audioMu.Lock()
	mic, speaker := r.mic, r.speaker
	r.audioMu.Unlock()
	mixer, err := mix.New(mixConfig(&r.cfg.Audio, mic.Format().Channels, mic.Format().Rate))
	if err != nil {
		return fmt.Errorf("[audio] mixer: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := r.a.RunMic(gctx, mic, mixer); err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("mic: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := r.a.RunSpeaker(gctx, speaker); err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("speaker: %w", err)
		}
		return nil
	})
	return g.Wait()
}

// audioStatus is the mic's and the speaker's status ("closed" before they are open).
func (r *runner) audioStatus() []control.AudioStatus {
	r.audioMu.Lock()
	mic, spk := r.micStat, r.spkStat
	r.audioMu.Unlock()
	if mic == nil || spk == nil {
		return []control.AudioStatus{{Role: "mic", State: "closed (waiting for the key daemon to be set up)"},
			{Role: "speaker", State: "closed (waiting for the key daemon to be set up)"}}
	}
	return []control.AudioStatus{mic(), spk()}
}

// statusLine is the systemd Status= text for the appliance's state: what it does and,
// while it cannot work, what to do. keySocket is the key daemon's socket.
func statusLine(st appliance.Status, reason, keySocket string) string {
	switch st.Setup {
	case appliance.SetupFault:
		return setupFaultLine(st)
	case appliance.SetupNoCredential:
		return "no-key: no credential; install it with `" + provisioning.InstallCredentialCommand +
			"` (paste the key, Enter, Ctrl-D); it is checked again within 30 s (or hold talk 3 s)"
	case appliance.SetupNotConfigured:
		return "no-key: the key daemon has no [provisioning] profile; set it in a drop-in in " +
			config.DropInDir(config.DefaultPath) + "/ (see " + config.DefaultPath + "), then `sudo systemctl reload edgevoice-provisioning`; " +
			"the credential goes in " + provisioning.DefaultCredentialFile + " (`" + provisioning.InstallCredentialCommand + "`)"
	}
	line := st.StateName + " (" + reason + ")"
	if st.Session != nil && st.Session.Transport != "" && st.Session.Transport != rtc.TransportWebRTC.String() {
		line = st.StateName + " (" + reason + ", " + st.Session.Transport + ")" // e.g. "idle (connected, websocket)"
	}
	if st.Detail == "" || (st.State != appliance.NoKey && st.State != appliance.Offline) {
		return line
	}
	d := st.Detail
	if len(d) > 160 {
		d = d[:160] + "..."
	}
	line += ": " + d
	if keySocket != "" && strings.Contains(st.Detail, keySocket) {
		line += "; is the key daemon running? (systemctl status edgevoice-provisioning)"
	}
	return line
}

// openAudio opens the mic and speaker (devices or WAV files) from [audio].
func (r *runner) openAudio() error {
	r.audioMu.Lock()
	defer r.audioMu.Unlock()
	c := &r.cfg.Audio
	fault := r.audioState
	if c.RoomDelay > 0 {
		if err := r.openRoom(c); err != nil {
			return err
		}
		r.setEchoDevices(r.speaker, r.mic)
		return nil
	}
	alog := r.log.With("component", "audio")
	path := audio.NewGroup() // a failure of the mic or the speaker reopens both (a USB card unplugged)
	if c.InputFile != "" {
		src, err := audio.OpenWAVSource[float32](c.InputFile, c.PaceFiles)
		if err != nil {
			return fmt.Errorf("[audio] input_file: %w", err)
		}
		r.mic = src
		r.micStat = func() control.AudioStatus {
			return control.AudioStatus{Role: "mic", Device: "file " + c.InputFile, Format: src.Format().String(), State: "file"}
		}
	} else {
		o := captureOpts(c)
		o.OnState, o.Logger, o.Group = fault("mic"), alog, path
		capt, err := audio.OpenCapture[float32](o)
		if err != nil {
			return fmt.Errorf("[audio] capture_device: %w (`edgevoice devices` lists the devices; on a machine without sound set [audio] backend = \"null\", or input_file/output_file)", err)
		}
		r.mic = capt
		r.micStat = func() control.AudioStatus {
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
		r.spkStat = func() control.AudioStatus {
			return control.AudioStatus{Role: "speaker", Device: "file " + c.OutputFile, Format: f.String(), State: "file"}
		}
	} else {
		o := playbackOpts(c)
		o.OnState, o.Logger, o.Group = fault("speaker"), alog, path
		pb, err := audio.OpenPlayback[float32](o)
		if err != nil {
			r.mic.Close()
			return fmt.Errorf("[audio] playback_device: %w (`edgevoice devices` lists the devices; on a machine without sound set [audio] backend = \"null\", or input_file/output_file)", err)
		}
		r.speaker = pb
		r.spkStat = func() control.AudioStatus {
			return audioStatusOf("speaker", pb.Device().Name, pb.Format(), pb.Stats())
		}
	}
	r.setEchoDevices(r.speaker, r.mic)
	return nil
}

func (r *runner) closeAudio() {
	r.audioMu.Lock()
	defer r.audioMu.Unlock()
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
	as := r.audioStatus()
	r.log.Info("service action: audio devices", "mic", as[0], "speaker", as[1])
	return nil
}

// status is what the control socket and the metrics endpoint report.
func (r *runner) status(ctx context.Context) control.Status {
	st := control.Status{Version: cli.Version(), PID: os.Getpid(), Config: r.path, Appliance: r.a.Status(),
		Audio: r.audioStatus()}
	if r.keys != nil {
		ps, err := r.keys.Status(ctx)
		if err != nil {
			st.Provisioning = &control.ProvisioningView{Error: err.Error()}
		} else {
			st.Provisioning = &control.ProvisioningView{Status: &ps}
		}
	}
	return st
}

// terminal runs the simulated board's keyboard when stdin is a terminal (q quits).
func (r *runner) terminal(ctx context.Context, quit context.CancelFunc, b *sim.Board, g *errgroup.Group) {
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
	g.Go(func() error {
		defer restore()
		if err := b.Terminal(ctx, in, r.env.Stdout, r.env.Env("COLORTERM") != ""); err != nil {
			r.log.Warn("terminal", "err", err)
		}
		quit()
		return nil
	})
}

// audioStatusOf is the control view of an hw/audio stream.
func audioStatusOf(role, device string, f audio.Format, st audio.Stats) control.AudioStatus {
	return control.AudioStatus{Role: role, Device: device, Format: f.String(), State: st.State.String(),
		Overruns: st.Overruns, Underruns: st.Underruns, Errors: st.DeviceErrors, Reopens: st.Reopens}
}
