package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/hw/button"
	"github.com/edgevoice/edgevoice/hw/sim"
)

func TestBoardConfigValidate(t *testing.T) {
	for _, c := range []struct {
		toml string
		want string // substring of the error; "" = valid
	}{
		{"", ""},
		{"[board]\nkind = \"sim\"\n[board.mute]\npin = \"GPIO5\"\ndouble_click = \"400ms\"", ""},
		{"[board]\nkind = \"pi\"", `"board.kind": "pi" is not a board kind`},
		{"[board.talk]\npull = \"sideways\"", `"board.talk.pull": "sideways" is not a pull`},
		{"[board.talk]\ndebounce = \"600ms\"", `"board.talk.debounce": 600ms is out of range`},
		{"[board.talk]\nlong_press = [\"10s\", \"3s\"]", `"board.talk.long_press": hold times must be ascending`},
		{"[board.mute]\npin = \"GPIO17\"", `"board.mute.pin": pin "GPIO17" is already used by talk.pin`},
		{"[board.led]\nkind = \"gpio\"", `"board.led.pin": kind "gpio" needs`},
		{"[board.led]\nkind = \"rgb\"\npins = [\"GPIO5\", \"GPIO6\"]", `"board.led.pins": kind "rgb" needs three pins`},
		{"[board.led]\nbrightness = 1.5", `"board.led.brightness": 1.5 is out of range`},
		{"[board.led]\npixels = 5000", `"board.led.pixels": 5000 is out of range`},
	} {
		_, err := decodeConfig("x.toml", []byte(c.toml))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.toml, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: error %v, want one containing %q", c.toml, err, c.want)
		}
	}
}

// TestOpenHardwareSim: kind "sim" gives the same Group and LED engine the appliance
// uses on pins, with the config's debounce applied.
func TestOpenHardwareSim(t *testing.T) {
	c, err := decodeConfig("x.toml", []byte("[board]\nkind = \"sim\"\n[board.talk]\ndebounce = \"5ms\"\n[board.led]\npixels = 12"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := openHardware(&c.Board, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Sim == nil || h.LEDs == nil || len(h.Buttons.Buttons()) != 4 {
		t.Fatalf("sim hardware: %+v", h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		h.Close()
	}()
	h.Sim.WaitReady()
	start := time.Now()
	h.Sim.Press(sim.Talk)
	select {
	case e := <-h.Buttons.Events():
		if e.Kind != button.Press || e.Button != "talk" {
			t.Fatalf("event %v", e)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("press took %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no press event")
	}
}

func TestPinsCommandWithoutGPIO(t *testing.T) {
	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb}
	if err := runPins(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "board:") {
		t.Errorf("output %q", out.String())
	}
}
