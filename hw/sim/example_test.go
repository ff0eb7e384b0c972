package sim_test

import (
	"context"
	"fmt"

	"github.com/edgevoice/edgevoice/hw/led"
	"github.com/edgevoice/edgevoice/hw/sim"
)

// The appliance wires the simulated board exactly like real pins: one event channel
// from Buttons(), one LED engine from LEDs(), and Run to drive both.
func Example() {
	b, err := sim.New(nil) // talk, mute, volume_up, volume_down; a 12-pixel ring
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	b.WaitReady()

	b.Press(sim.Talk)
	e := <-b.Buttons().Events()
	fmt.Println(e)
	b.LEDs().SetState(led.Listening)
	b.LEDs().SetMicLive(true) // exactly while uplink audio flows
	b.Release(sim.Talk)
	fmt.Println((<-b.Buttons().Events()).Kind)
	fmt.Println((<-b.Buttons().Events()).Kind)

	cancel()
	<-done
	// Output:
	// talk press
	// release
	// click
}
