package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/hw/button"
	"github.com/edgevoice/edgevoice/hw/sim"
	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
)

// TestOpenHardwareSim: kind "sim" gives the same Group and LED engine the appliance
// uses on pins, with the config's debounce applied.
func TestOpenHardwareSim(t *testing.T) {
	c, err := config.Decode("x.toml", []byte("[board]\nkind = \"sim\"\n[board.talk]\ndebounce = \"5ms\"\n[board.led]\npixels = 12"))
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
	env := &cli.Env{Stdout: &out, Stderr: &errb}
	if err := runPins(env); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "board:") {
		t.Errorf("output %q", out.String())
	}
}
