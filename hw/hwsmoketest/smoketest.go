package hwsmoketest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/edgevoice/edgevoice/hw/board"
	"github.com/edgevoice/edgevoice/hw/button"
	"github.com/edgevoice/edgevoice/hw/led"
)

// SmokeTest is the hardware smoke test.
type SmokeTest struct {
	// Out receives the progress lines; nil discards them.
	Out io.Writer
}

// Name implements the periph smoketest convention.
func (s *SmokeTest) Name() string { return "edgevoice-hw" }

// Description implements the periph smoketest convention.
func (s *SmokeTest) Description() string {
	return "Checks the button input (pulls, edges, debouncing) over a jumper between two GPIOs, and shows every LED state"
}

// Run parses args with f and runs the test.
func (s *SmokeTest) Run(ctx context.Context, f *flag.FlagSet, args []string) error {
	in := f.String("in", "GPIO17", "button input pin (jumpered to -out)")
	out := f.String("out", "GPIO27", "driving pin (jumpered to -in)")
	ledPin := f.String("led", "", "single LED pin to show the states on")
	rgb := f.String("rgb", "", "RGB LED pins red,green,blue")
	spiPort := f.String("spi", "", "SPI port of an APA102 ring (\"-\" for the first one)")
	pixels := f.Int("pixels", 3, "LEDs on the APA102 ring")
	show := f.Duration("show", 1500*time.Millisecond, "how long to show each LED state")
	if err := f.Parse(args); err != nil {
		return err
	}
	if f.NArg() != 0 {
		return fmt.Errorf("hwsmoketest: unexpected arguments %q", f.Args())
	}
	w := s.Out
	if w == nil {
		w = io.Discard
	}
	b, err := board.Open()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "board: %s\n", b)
	pi, err := b.Pin(*in)
	if err != nil {
		return err
	}
	po, err := b.Pin(*out)
	if err != nil {
		return err
	}
	if err := s.pulls(w, pi, po); err != nil {
		return err
	}
	if err := s.edges(w, pi, po); err != nil {
		return err
	}
	if err := s.button(ctx, w, pi, po); err != nil {
		return err
	}
	var dev *led.Dev
	switch {
	case *ledPin != "":
		p, err := b.Pin(*ledPin)
		if err != nil {
			return err
		}
		dev, err = led.NewGPIO(p, nil)
		if err != nil {
			return err
		}
	case *rgb != "":
		names := strings.Split(*rgb, ",")
		if len(names) != 3 {
			return errors.New("hwsmoketest: -rgb needs three pins: red,green,blue")
		}
		var ps [3]gpio.PinIO
		for i, n := range names {
			if ps[i], err = b.Pin(strings.TrimSpace(n)); err != nil {
				return err
			}
		}
		if dev, err = led.NewRGB(ps[0], ps[1], ps[2], nil); err != nil {
			return err
		}
	case *spiPort != "":
		name := *spiPort
		if name == "-" {
			name = ""
		}
		port, err := b.SPI(name)
		if err != nil {
			return err
		}
		defer port.Close()
		if dev, err = led.NewRing(port, *pixels, &led.Opts{Brightness: 0.3}); err != nil {
			return err
		}
	}
	if dev != nil {
		return s.leds(ctx, w, dev, *show)
	}
	fmt.Fprintln(w, "PASS")
	return nil
}

func (s *SmokeTest) pulls(w io.Writer, in, out gpio.PinIO) error {
	if err := out.In(gpio.Float, gpio.NoEdge); err != nil {
		return fmt.Errorf("hwsmoketest: %s.In(Float): %w", out, err)
	}
	for _, c := range []struct {
		pull gpio.Pull
		want gpio.Level
	}{{gpio.PullUp, gpio.High}, {gpio.PullDown, gpio.Low}} {
		if err := in.In(c.pull, gpio.NoEdge); err != nil {
			return fmt.Errorf("hwsmoketest: %s.In(%s): %w", in, c.pull, err)
		}
		time.Sleep(time.Millisecond)
		if got := in.Read(); got != c.want {
			return fmt.Errorf("hwsmoketest: %s with %s reads %s, want %s (is the jumper on a pin that drives?)", in, c.pull, got, c.want)
		}
	}
	fmt.Fprintln(w, "ok  pull-up and pull-down")
	return nil
}

func (s *SmokeTest) edges(w io.Writer, in, out gpio.PinIO) error {
	if err := out.Out(gpio.Low); err != nil {
		return fmt.Errorf("hwsmoketest: %s.Out: %w", out, err)
	}
	if err := in.In(gpio.PullUp, gpio.BothEdges); err != nil {
		return fmt.Errorf("hwsmoketest: %s.In(PullUp, BothEdges): %w", in, err)
	}
	for in.WaitForEdge(10 * time.Millisecond) { // drain
	}
	for _, l := range []gpio.Level{gpio.High, gpio.Low, gpio.High, gpio.Low} {
		if err := out.Out(l); err != nil {
			return fmt.Errorf("hwsmoketest: %s.Out: %w", out, err)
		}
		if !in.WaitForEdge(100 * time.Millisecond) {
			return fmt.Errorf("hwsmoketest: no edge on %s after %s went %s: check the jumper between them", in, out, l)
		}
		if got := in.Read(); got != l {
			return fmt.Errorf("hwsmoketest: %s reads %s after %s went %s", in, got, out, l)
		}
	}
	fmt.Fprintln(w, "ok  edges")
	return nil
}

func (s *SmokeTest) button(ctx context.Context, w io.Writer, in, out gpio.PinIO) error {
	if err := out.Out(gpio.High); err != nil {
		return err
	}
	dev, err := button.New(in, &button.Opts{Name: "talk", ActiveLow: true, Pull: gpio.PullUp})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- dev.Run(ctx) }()
	defer func() { cancel(); <-done }()
	time.Sleep(50 * time.Millisecond)
	expect := func(k button.Kind, within time.Duration) error {
		select {
		case e := <-dev.Events():
			if e.Kind != k {
				return fmt.Errorf("hwsmoketest: got %s, want %s", e, k)
			}
			return nil
		case <-time.After(within):
			return fmt.Errorf("hwsmoketest: no %s within %s", k, within)
		}
	}
	start := time.Now()
	_ = out.Out(gpio.Low)
	if err := expect(button.Press, button.DefaultDebounce+30*time.Millisecond); err != nil {
		return err
	}
	lat := time.Since(start)
	time.Sleep(100 * time.Millisecond)
	_ = out.Out(gpio.High)
	if err := expect(button.Release, 100*time.Millisecond); err != nil {
		return err
	}
	if err := expect(button.Click, 100*time.Millisecond); err != nil {
		return err
	}
	for i := range 6 { // 1 ms bounces, ending low
		_ = out.Out(gpio.Level(i%2 == 1))
		time.Sleep(time.Millisecond)
	}
	if err := expect(button.Press, 100*time.Millisecond); err != nil {
		return err
	}
	select {
	case e := <-dev.Events():
		return fmt.Errorf("hwsmoketest: bounces gave a second event %s", e)
	case <-time.After(100 * time.Millisecond):
	}
	_ = out.Out(gpio.High)
	fmt.Fprintf(w, "ok  debounced button (press reported %s after the line went low)\n", lat.Round(100*time.Microsecond))
	return nil
}

func (s *SmokeTest) leds(ctx context.Context, w io.Writer, dev *led.Dev, show time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- dev.Run(ctx) }()
	for st := led.Idle; st <= led.Offline; st++ {
		if st == led.Error {
			dev.SetError(3)
		} else {
			dev.SetState(st)
		}
		fmt.Fprintf(w, "    LED %s: %s\n", st, led.LookFor(dev.Kind(), st, false))
		time.Sleep(show)
	}
	dev.SetMicLive(true)
	dev.SetLevel(0.6)
	fmt.Fprintf(w, "    LED mic live: %s\n", led.LookFor(dev.Kind(), led.Idle, true))
	time.Sleep(show)
	cancel()
	if err := <-done; err != nil {
		return err
	}
	fmt.Fprintln(w, "ok  LED states shown, LEDs off (check by eye)")
	fmt.Fprintln(w, "PASS")
	return nil
}
