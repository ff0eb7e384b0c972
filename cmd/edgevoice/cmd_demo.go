package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"

	"github.com/edgevoice/edgevoice/appliance"
	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/hw/audio"
	"github.com/edgevoice/edgevoice/hw/led"
	"github.com/edgevoice/edgevoice/hw/sim"
	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/rtc"
	"github.com/edgevoice/edgevoice/tools"
)

// question.wav: "What is the weather like in Lisbon today?", spoken by espeak-ng
// (16 kHz mono S16, 2.5 s): espeak-ng -w q.wav "..." && sox q.wav -r 16000 -b 16 question.wav
//
//go:embed assets/question.wav
var demoQuestion []byte

const demoUserText = "What is the weather like in Lisbon today?"

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:    "demo",
		Summary: "one full talk turn on a simulated board against the local emulator (no hardware, no account)",
		Help: "Starts the local realtime emulator and a simulated board in this process, presses the\n" +
			"talk button, says the question (a WAV clip) into the microphone, releases the button,\n" +
			"and records the spoken answer (the emulator answers with the turn's own audio and a\n" +
			"fixed transcript). Prints the states, transcript events and measured latencies.\n" +
			"With -tools the model first calls the built-in tool set_volume; the device runs it\n" +
			"and the answer (a chime) follows.",
		Flags: demoFlags,
	}
}

// demoFlags: edgevoice demo [-in question.wav] [-out reply.wav] [-profile openai|azure|azure-preview] [-v]
func demoFlags(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
	in := fs.String("in", "", "speech to say, a WAV file (default: the bundled question)")
	out := fs.String("out", "demo-reply.wav", "where to write the reply audio (48 kHz mono WAV)")
	profile := fs.String("profile", "openai", `provider profile the emulator mimics: "openai", "azure" (GA) or "azure-preview"`)
	verbose := fs.Bool("v", false, "log every step (slog, debug level) to stderr")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	withTools := fs.Bool("tools", false, "the model answers with a call of the built-in tool set_volume (to 40 %), then speaks")
	return func(ctx context.Context, _ []string) error {
		log := slog.New(slog.DiscardHandler)
		if *verbose {
			log = slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		d := &demo{out: env.Stdout, start: time.Now(), log: log}
		d.tools = *withTools
		return d.run(ctx, *in, *out, *profile)
	}
}

type demo struct {
	out   io.Writer
	log   *slog.Logger
	start time.Time
	tools bool // -tools: the answer calls set_volume first

	mu         sync.Mutex
	marks      map[string]time.Time
	transcript string
	user       string
	states     []string
	changed    chan struct{}
	speaking   bool
	reply      []float32
	replyFirst time.Time // first non-silent reply sample
}

func (d *demo) printf(format string, args ...any) {
	fmt.Fprintf(d.out, "%6.0f ms  %s\n", float64(time.Since(d.start).Microseconds())/1000, fmt.Sprintf(format, args...))
}

func (d *demo) mark(name string) {
	d.mu.Lock()
	if _, ok := d.marks[name]; !ok {
		d.marks[name] = time.Now()
	}
	d.mu.Unlock()
	select {
	case d.changed <- struct{}{}:
	default:
	}
}

func (d *demo) at(name string) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.marks[name]
}

// wait waits for a mark.
func (d *demo) wait(ctx context.Context, name string) error {
	for d.at(name).IsZero() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: gave up waiting for %s: %w", name, ctx.Err())
		case <-d.changed:
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

func (d *demo) run(ctx context.Context, inPath, outPath, profile string) error {
	d.marks, d.changed = map[string]time.Time{}, make(chan struct{}, 1)

	// The question, as a paced WAV source: it plays into the mic in real time.
	var src *audio.WAVSource[float32]
	var err error
	if inPath != "" {
		src, err = audio.OpenWAVSource[float32](inPath, true)
	} else {
		src, err = audio.NewWAVSource[float32](bytes.NewReader(demoQuestion), true)
	}
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer src.Close()

	// 1. The local realtime emulator on 127.0.0.1.
	srvOpts := []emulator.Option{emulator.WithReplyText("It is sunny in Lisbon, 21 degrees. (This answer comes from the local emulator, which plays your own words back.)"),
		emulator.WithUserTranscript(demoUserText), emulator.WithLogger(d.log)}
	if d.tools {
		srvOpts = append(srvOpts, emulator.WithReplyText("Done: the volume is now 40 percent. (This answer comes from the local emulator.)"),
			emulator.WithToolScript(emulator.ToolTurn{Calls: []emulator.ToolCall{{Name: "set_volume", Arguments: `{"level":0.4}`}}}))
	}
	srv, err := emulator.New(srvOpts...)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := srv.Start(""); err != nil {
		return fmt.Errorf("demo: emulator: %w", err)
	}
	defer srv.Close()
	d.printf("emulator listening on %s (profile %s)", srv.URL(), profile)

	// 2. A simulated board: buttons and LEDs, the same types as on hardware.
	board, err := sim.New(&sim.Opts{Logger: d.log})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	bctx, bcancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = board.Run(bctx) }()
	defer func() { bcancel(); wg.Wait() }()
	board.WaitReady()

	// 3. The appliance, with keys minted by the emulator as the provisioning daemon would.
	keys := rtc.KeySourceFunc(func(ctx context.Context) (realtime.Key, error) { return srv.MintKey(ctx, profile) })
	sessCfg := events.Session{Instructions: "You are a helpful voice assistant.", Voice: "marin",
		TurnDetection: events.TurnDetection{Type: events.TurnDetectionNone}, Transcription: &events.Transcription{Model: "whisper-1"}}
	var toolSet *tools.Set // -tools: the built-ins, acting on the appliance (set before it runs)
	factory := func(key realtime.Key, ks rtc.KeySource) (appliance.Session, error) {
		opts := []rtc.Option{rtc.WithLoopbackOnly(), rtc.WithKeySource(ks), rtc.WithSessionConfig(sessCfg), rtc.WithLogger(d.log)}
		if toolSet != nil {
			opts = append(opts, rtc.WithTools(toolSet, 5*time.Second))
		}
		return rtc.New(key, opts...)
	}
	a, err := appliance.New(appliance.Config{IdleTimeout: time.Minute}, appliance.Deps{
		Keys: keys, NewSession: factory, LED: ledIndicator{board.LEDs()}, Buttons: board.Buttons().Events(), Logger: d.log,
		OnTransition: func(tr appliance.Transition) {
			d.printf("state %-10s (%s)", tr.To, tr.Reason)
			d.mu.Lock()
			d.states = append(d.states, tr.To.String())
			d.mu.Unlock()
			d.mark("state:" + tr.To.String())
			d.checkDone()
		},
		OnEvent: func(ev rtc.Event) { d.event(ev) },
	})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if d.tools {
		if toolSet, err = a.Tools(tools.BuiltinNames, d.log); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		sessCfg.Tools = toolSet.Declarations()
		d.printf("tools offered to the model: %s (volume now %.0f %%)", strings.Join(toolSet.Names(), ", "), a.Volume()*100)
	}
	actx, acancel := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- a.Run(actx) }()
	stopAppliance := func() error {
		acancel()
		return <-runDone
	}
	defer func() {
		if actx.Err() == nil {
			_ = stopAppliance()
		}
	}()

	// The speaker: drain the playout every 10 ms and keep what plays while speaking.
	pctx, pcancel := context.WithCancel(ctx)
	wg.Add(1)
	go func() { defer wg.Done(); d.speaker(pctx, a) }()
	defer pcancel()

	if err := d.wait(ctx, "state:idle"); err != nil {
		return err
	}
	// 4. Press talk, say the question, release.
	d.printf("press talk")
	d.mark("press")
	if err := board.Press(sim.Talk); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := d.wait(ctx, "state:listening"); err != nil {
		return err
	}
	d.printf("saying %q (%.1f s of audio)", demoUserText, float64(src.Info().Frames)/float64(src.Format().Rate))
	if err := a.RunMic(ctx, src, nil); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	d.printf("release talk")
	d.mark("release")
	if err := board.Release(sim.Talk); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	// 5. The answer plays; wait for it to end.
	if err := d.wait(ctx, "speaking-stopped"); err != nil {
		return err
	}
	if err := d.wait(ctx, "state:idle2"); err != nil {
		return err
	}
	// The LED engine shows idle with its next frame; wait for it, so the board ends on
	// idle then off as a device would (stopping at once could replace idle by off before
	// it was shown: seen once in CI on a loaded machine).
	for rec := board.Recorder(); rec.Last().State != led.Idle; {
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: the LEDs did not show idle after the answer: %w", ctx.Err())
		case <-rec.Changed():
		case <-time.After(10 * time.Millisecond):
		}
	}
	if d.tools {
		c, _ := srv.Stats().LastCall()
		for _, tc := range c.Tools.Calls {
			d.printf("the model called %s(%s) -> %s (call -> output %v)", tc.Name, tc.Arguments, tc.Output, tc.OutputAt.Sub(tc.CalledAt).Round(10*time.Microsecond))
		}
		if len(c.Tools.Calls) == 0 || !c.Tools.Calls[0].Answered || c.Tools.FollowUps != 1 {
			return fmt.Errorf("demo: the tool call was not answered as expected: %+v", c.Tools)
		}
		d.printf("volume now %.0f %%", a.Volume()*100)
	}
	st := a.Status()
	pcancel()
	if err := stopAppliance(); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return d.report(outPath, st, board)
}

func (d *demo) event(ev rtc.Event) {
	switch ev.Kind {
	case rtc.EventState:
		d.printf("session %s", ev.State)
	case rtc.EventListening:
		d.printf("session listening (mic audio flows)")
	case rtc.EventThinking:
		if ev.Text != "" {
			d.printf("session %s", ev.Text)
		} else {
			d.printf("session committed the turn; response requested")
		}
		d.mark("thinking")
	case rtc.EventSpeakingStarted:
		d.printf("session speaking started")
		d.mu.Lock()
		d.speaking = true
		d.mu.Unlock()
		d.mark("speaking-started")
	case rtc.EventSpeakingStopped:
		d.printf("session speaking stopped")
		d.mu.Lock()
		d.speaking = false
		d.mu.Unlock()
		d.mark("speaking-stopped")
	case rtc.EventUserTranscript:
		d.printf("user said:      %q", ev.Text)
		d.mu.Lock()
		d.user = ev.Text
		d.mu.Unlock()
	case rtc.EventTranscriptDelta:
		d.mark("first-text")
	case rtc.EventTranscriptDone:
		d.printf("assistant said: %q", ev.Text)
		d.mu.Lock()
		d.transcript = ev.Text
		d.mu.Unlock()
	case rtc.EventResponseDone:
		d.printf("session response done")
	case rtc.EventError:
		d.printf("session error: %v", ev.Err)
	}
	if ev.Kind == rtc.EventSpeakingStopped {
		d.checkDone()
	}
}

// checkDone marks "state:idle2" once the answer stopped and the appliance is idle again,
// which ends the demo. It is called from both callbacks (the transition and the event
// may come in either order), so no goroutine has to poll for it.
func (d *demo) checkDone() {
	d.mu.Lock()
	done := len(d.states) > 0 && d.states[len(d.states)-1] == "idle" && !d.marks["speaking-stopped"].IsZero()
	d.mu.Unlock()
	if done {
		d.mark("state:idle2")
	}
}

// speaker plays the session's downlink into memory in real time (10 ms per tick), like
// a playback device would, and keeps the samples of the answer.
func (d *demo) speaker(ctx context.Context, a *appliance.Appliance) {
	buf := make([]float32, appliance.SessionRate/100)
	tk := time.NewTicker(10 * time.Millisecond)
	defer tk.Stop()
	start, done := time.Now(), 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		// As many 10 ms periods as are due by the clock, as a device would take them.
		for due := int(time.Since(start) / (10 * time.Millisecond)); done < due; done++ {
			n := a.ReadSpeaker(buf)
			d.mu.Lock()
			if d.speaking || n > 0 {
				if n > 0 && d.replyFirst.IsZero() {
					d.replyFirst = time.Now()
				}
				if !d.replyFirst.IsZero() {
					d.reply = append(d.reply, buf...)
				}
			}
			d.mu.Unlock()
		}
	}
}

func (d *demo) report(outPath string, st appliance.Status, board *sim.Board) error {
	d.mu.Lock()
	reply, first, text, user := d.reply, d.replyFirst, d.transcript, d.user
	d.mu.Unlock()
	sink, err := audio.CreateWAVSink[float32](outPath, audio.Format{Rate: appliance.SessionRate, Channels: 1, Sample: audio.S16}, false)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if _, err := sink.Write(context.Background(), reply); err != nil {
		sink.Close()
		return fmt.Errorf("demo: %w", err)
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	ms := func(a, b string) string {
		ta, tb := d.at(a), d.at(b)
		if ta.IsZero() || tb.IsZero() {
			return "n/a"
		}
		return fmt.Sprintf("%.0f ms", float64(tb.Sub(ta).Microseconds())/1000)
	}
	fmt.Fprintf(d.out, "\nreply: %.2f s of audio written to %s\n", float64(len(reply))/appliance.SessionRate, outPath)
	fmt.Fprintf(d.out, "transcript: user %q; assistant %q\n", user, text)
	fmt.Fprintf(d.out, "\nlatency                              measured\n")
	fmt.Fprintf(d.out, "  press -> listening (connect)       %s\n", ms("press", "state:listening"))
	fmt.Fprintf(d.out, "  release -> turn committed          %s\n", ms("release", "thinking"))
	fmt.Fprintf(d.out, "  release -> first reply text        %s\n", ms("release", "first-text"))
	fmt.Fprintf(d.out, "  release -> speaking started        %s\n", ms("release", "speaking-started"))
	if !first.IsZero() && !d.at("release").IsZero() {
		fmt.Fprintf(d.out, "  release -> first reply audio       %.0f ms\n", float64(first.Sub(d.at("release")).Microseconds())/1000)
	}
	if s := st.Session; s != nil {
		fmt.Fprintf(d.out, "  session connect (offer->connected) %s\n", time.Duration(s.ConnectTime).Round(time.Millisecond))
		fmt.Fprintf(d.out, "  press -> first RTP packet          %s\n", time.Duration(s.PressToFirstPacket).Round(time.Millisecond))
		fmt.Fprintf(d.out, "  ICE round-trip time                %s\n", time.Duration(s.RTT).Round(time.Microsecond))
		fmt.Fprintf(d.out, "  packets sent / received / lost     %d / %d / %d\n", s.PacketsSent, s.PacketsReceived, s.PacketsLost)
	}
	hist := board.History()
	var shown []string
	for _, rec := range hist {
		if n := len(shown); n == 0 || shown[n-1] != rec.State.String() {
			shown = append(shown, rec.State.String())
		}
	}
	fmt.Fprintf(d.out, "  LED frames shown on the sim board  %d\n", len(hist))
	fmt.Fprintf(d.out, "  demo total                         %.1f s\n", time.Since(d.start).Seconds())
	fmt.Fprintf(d.out, "LED states shown: %s\n", strings.Join(shown, " "))
	switch {
	case len(reply) < appliance.SessionRate/2:
		return fmt.Errorf("demo: the reply has only %d samples; the turn did not complete", len(reply))
	case text == "":
		return errors.New("demo: no assistant transcript arrived")
	}
	fmt.Fprintf(d.out, "demo: OK\n")
	return nil
}
