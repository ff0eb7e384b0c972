package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/spi"

	"github.com/edgevoice/edgevoice/hw/board"
	"github.com/edgevoice/edgevoice/hw/button"
	"github.com/edgevoice/edgevoice/hw/hwsmoketest"
	"github.com/edgevoice/edgevoice/hw/led"
	"github.com/edgevoice/edgevoice/hw/sim"
	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
)

// hwCommands are the board commands: pins, smoketest, sim.
func hwCommands() []*cli.Command {
	return []*cli.Command{
		{Name: "pins", Summary: "list the board model, GPIO pins and SPI ports (for [board])", Flags: func(_ *flag.FlagSet, env *cli.Env) cli.RunFunc {
			return func(context.Context, []string) error { return runPins(env) }
		}},
		smoketestCommand(),
		{Name: "sim", Summary: "simulated board in the terminal: keys press buttons, LEDs on a status line", Flags: simFlags},
	}
}

// hardware is what the appliance uses from the [board] section: one button-event
// channel and one LED engine, on real pins or on the simulated board.
type hardware struct {
	Buttons *button.Group // Events() carries every button's events
	LEDs    *led.Dev      // never nil ([board.led] kind "none" shows nothing)
	Sim     *sim.Board    // set when the board is simulated (Terminal draws and reads keys)
	closers []func() error
}

// hwPull maps the config's pull names.
var hwPull = map[string]gpio.Pull{"up": gpio.PullUp, "down": gpio.PullDown, "none": gpio.Float, "keep": gpio.PullNoChange}

func buttonOpts(b *config.Button, name string, logger *slog.Logger) button.Opts {
	o := button.Opts{Name: name, ActiveLow: !b.ActiveHigh, Pull: hwPull[b.Pull], Debounce: b.Debounce.D(), DoubleClick: b.DoubleClick.D(), Logger: logger}
	for _, d := range b.LongPress {
		o.LongPress = append(o.LongPress, d.D())
	}
	return o
}

// boardKind resolves "auto" to "gpio" or "sim".
func boardKind(c *config.Board) string {
	if c.Kind != "auto" {
		return c.Kind
	}
	if chips, _ := filepath.Glob("/dev/gpiochip*"); len(chips) > 0 {
		return "gpio"
	}
	return "sim"
}

// openHardware builds the buttons and LEDs of a validated [board] section. Run the
// returned hardware, then Close it.
func openHardware(c *config.Board, logger *slog.Logger) (*hardware, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	lo := &led.Opts{Brightness: c.LED.Brightness, PWMFreq: float64(c.LED.PWMHz), Logger: logger}
	if c.Kind == "none" {
		logger.Info("no board configured ([board] kind = \"none\"): no buttons, no LEDs; drop in a board example from /usr/share/doc/edgevoice/examples/boards/ to use them")
		leds, err := led.New(noLEDs{}, lo)
		if err != nil {
			return nil, err
		}
		return &hardware{Buttons: button.NewGroup(0), LEDs: leds}, nil
	}
	if boardKind(c) == "sim" {
		var bs []button.Opts
		for _, nb := range c.Buttons() {
			bs = append(bs, buttonOpts(nb.Button, nb.Name, logger))
		}
		px := 1
		if c.LED.Kind == "apa102" {
			px = c.LED.Pixels
		}
		sb, err := sim.New(&sim.Opts{Buttons: bs, Pixels: px, LED: *lo, Logger: logger})
		if err != nil {
			return nil, err
		}
		return &hardware{Buttons: sb.Buttons(), LEDs: sb.LEDs(), Sim: sb}, nil
	}
	bd, err := board.Open()
	if err != nil {
		return nil, err
	}
	logger.Info("board", "board", bd.String())
	h := &hardware{Buttons: button.NewGroup(0)}
	for _, nb := range c.Buttons() {
		if nb.Pin == "" || nb.Pin == "none" {
			continue
		}
		p, err := bd.Pin(nb.Pin)
		if err != nil {
			return nil, fmt.Errorf("[board] %s.pin: %w", nb.Name, err)
		}
		o := buttonOpts(nb.Button, nb.Name, logger)
		if _, err := h.Buttons.Add(p, &o); err != nil {
			return nil, err
		}
	}
	out := func(name string) (gpio.PinOut, error) {
		p, err := bd.Pin(name)
		if err != nil {
			return nil, fmt.Errorf("[board] led: %w", err)
		}
		if c.LED.ActiveLow {
			return led.Inverted(p), nil
		}
		return p, nil
	}
	switch c.LED.Kind {
	case "gpio":
		p, err := out(c.LED.Pin)
		if err != nil {
			return nil, err
		}
		h.LEDs, err = led.NewGPIO(p, lo)
		if err != nil {
			return nil, err
		}
	case "rgb":
		var ps [3]gpio.PinOut
		for i, n := range c.LED.Pins {
			if ps[i], err = out(n); err != nil {
				return nil, err
			}
		}
		if h.LEDs, err = led.NewRGB(ps[0], ps[1], ps[2], lo); err != nil {
			return nil, err
		}
	case "apa102":
		var port spi.PortCloser
		if port, err = bd.SPI(c.LED.SPIPort); err != nil {
			return nil, fmt.Errorf("[board] led.spi_port: %w", err)
		}
		h.closers = append(h.closers, port.Close)
		if h.LEDs, err = led.NewRing(port, c.LED.Pixels, lo); err != nil {
			h.Close()
			return nil, err
		}
	default: // "none"
		if h.LEDs, err = led.New(noLEDs{}, lo); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Run runs the buttons and the LED engine until ctx is done (the LEDs end dark).
func (h *hardware) Run(ctx context.Context) error {
	if h.Sim != nil {
		return h.Sim.Run(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var errB, errL error
	wg.Go(func() {
		if errB = h.Buttons.Run(ctx); errB != nil {
			cancel()
		}
	})
	wg.Go(func() {
		if errL = h.LEDs.Run(ctx); errL != nil {
			cancel()
		}
	})
	wg.Wait()
	return errors.Join(errB, errL)
}

// Close releases the SPI port; call it after Run returned.
func (h *hardware) Close() error {
	var errs []error
	for _, c := range h.closers {
		errs = append(errs, c())
	}
	h.closers = nil
	return errors.Join(errs...)
}

// noLEDs is the LED output of a board without LEDs.
type noLEDs struct{}

func (noLEDs) Pixels() int          { return 1 }
func (noLEDs) Show(led.Frame) error { return nil }
func (noLEDs) Halt() error          { return nil }
func (noLEDs) String() string       { return "no LEDs" }

// hwBoardConfig loads the [board] section of path (the default path is skipped when
// missing) with defaults applied.
func hwBoardConfig(path string) (config.Board, error) {
	if _, err := os.Stat(path); path != "" && (err == nil || path != config.DefaultPath) {
		full, err := config.Load(path)
		if err != nil {
			return config.Board{}, err
		}
		return full.Board, nil
	}
	return config.Default().Board, nil
}

func runPins(env *cli.Env) error {
	bd, err := board.Open()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "board: %s\n", bd)
	pins := bd.Pins()
	if len(pins) == 0 {
		fmt.Fprintf(env.Stdout, "no GPIO pins: %v\n", board.ErrNoGPIO)
		return nil
	}
	for _, p := range pins {
		fmt.Fprintln(env.Stdout, p)
	}
	return nil
}

// smoketestCommand runs hw/hwsmoketest, which registers and parses its own flags (the
// periph smoketest interface): its flags are listed for -h from a probe, and passed on.
func smoketestCommand() *cli.Command {
	st := &hwsmoketest.SmokeTest{}
	return &cli.Command{
		Name:    "smoketest",
		Summary: "on-device test of buttons and LEDs over a jumper wire (see -h)",
		Help:    st.Description() + ".\nWiring: a jumper between -out and -in (see package hw/hwsmoketest).",
		Flags: func(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
			probe := flag.NewFlagSet("smoketest", flag.ContinueOnError)
			probe.SetOutput(io.Discard)
			_ = st.Run(context.Background(), probe, []string{"-h"}) // registers the flags, stops at -h
			probe.VisitAll(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })
			return func(ctx context.Context, _ []string) error {
				var args []string
				fs.Visit(func(f *flag.Flag) { args = append(args, "-"+f.Name+"="+f.Value.String()) })
				run := flag.NewFlagSet("smoketest", flag.ContinueOnError)
				run.SetOutput(io.Discard)
				return (&hwsmoketest.SmokeTest{Out: env.Stdout}).Run(ctx, run, args)
			}
		},
	}
}

func simFlags(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
	cfgPath := fs.String("config", config.Path(env.Getenv), "config `file` whose [board] section gives the buttons and LEDs (the default file is ignored when missing)")
	noColor := fs.Bool("no-color", false, "draw the LEDs without colours")
	return func(ctx context.Context, _ []string) error { return runSim(ctx, env, *cfgPath, *noColor) }
}

func runSim(ctx context.Context, env *cli.Env, cfgPath string, noColor bool) error {
	c, err := hwBoardConfig(cfgPath)
	if err != nil {
		return err
	}
	c.Kind = "sim"
	h, err := openHardware(&c, nil)
	if err != nil {
		return err
	}
	in := env.Stdin
	if f, ok := in.(*os.File); ok && sim.IsTerminal(int(f.Fd())) {
		r, restore, err := sim.MakeRaw(int(f.Fd()))
		if err != nil {
			return err
		}
		defer restore()
		in = r
	}
	color := !noColor && env.Env("NO_COLOR") == "" && env.Env("TERM") != "dumb"
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = h.Run(ctx) })
	wg.Go(func() { simDemo(ctx, h) })
	err = h.Sim.Terminal(ctx, in, env.Stdout, color)
	cancel()
	wg.Wait()
	return errors.Join(err, runErr)
}

// simDemo plays the appliance's LED states from the button events, so the simulated
// board can be tried without a session: talk held = listening with the mic live,
// released = thinking then speaking, mute click toggles muted, a long press shows an
// error blink code.
func simDemo(ctx context.Context, h *hardware) {
	leds := h.LEDs
	leds.SetState(led.Idle)
	muted := false
	var timer <-chan time.Time
	phase := led.Idle
	level := time.NewTicker(50 * time.Millisecond)
	defer level.Stop()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-h.Buttons.Events():
			h.Sim.Note("button: " + e.String())
			switch {
			case e.Button == sim.Talk && e.Kind == button.Press && !muted:
				leds.SetState(led.Listening)
				leds.SetMicLive(true)
				phase, timer = led.Listening, nil
			case e.Button == sim.Talk && e.Kind == button.Release && phase == led.Listening:
				leds.SetMicLive(false)
				leds.SetState(led.Thinking)
				phase, timer = led.Thinking, time.After(1500*time.Millisecond)
			case e.Button == sim.Talk && e.Kind == button.LongPress:
				leds.SetMicLive(false)
				leds.SetError(e.Threshold + 1)
				phase, timer = led.Error, time.After(4*time.Second)
			case e.Button == sim.Mute && e.Kind == button.Click:
				muted = !muted
				if muted {
					leds.SetMicLive(false)
					leds.SetState(led.Muted)
				} else {
					leds.SetState(led.Idle)
				}
				phase, timer = led.Idle, nil
			}
		case <-timer:
			if phase == led.Thinking {
				leds.SetState(led.Speaking)
				phase, timer = led.Speaking, time.After(3*time.Second)
			} else {
				leds.SetState(led.Idle)
				phase, timer = led.Idle, nil
			}
		case <-level.C:
			n++
			if phase == led.Speaking || phase == led.Listening {
				leds.SetLevel(float64((n*7)%10) / 10)
			}
		}
	}
}
