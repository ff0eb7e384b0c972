package button

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
	"periph.io/x/conn/v3/gpio"
)

// Group runs several buttons (talk, mute, volume up/down, each optional) and merges
// their events into one channel.
type Group struct {
	events chan Event
	devs   []*Dev
}

// NewGroup returns an empty group whose channel buffers buffer events (0: 32).
func NewGroup(buffer int) *Group {
	if buffer <= 0 {
		buffer = 32
	}
	return &Group{events: make(chan Event, buffer)}
}

// Add creates a button on pin that reports to the group's channel (o.Events is
// ignored). Add all buttons before Run.
func (g *Group) Add(pin gpio.PinIn, o *Opts) (*Dev, error) {
	if o == nil {
		o = &DefaultOpts
	}
	c := *o
	c.Events = g.events
	for _, d := range g.devs {
		if d.o.Name == c.Name {
			return nil, fmt.Errorf("hw: button %q added twice", c.Name)
		}
	}
	d, err := New(pin, &c)
	if err != nil {
		return nil, err
	}
	g.devs = append(g.devs, d)
	return d, nil
}

// Buttons returns the buttons in the order they were added.
func (g *Group) Buttons() []*Dev { return g.devs }

// Events returns the merged event channel. It is never closed.
func (g *Group) Events() <-chan Event { return g.events }

// Run runs every button until ctx is done and joins them. The first error (a pin
// that cannot be configured) cancels the others and is returned.
func (g *Group) Run(ctx context.Context) error {
	eg, ctx := errgroup.WithContext(ctx)
	for _, d := range g.devs {
		eg.Go(func() error { return d.Run(ctx) })
	}
	return eg.Wait()
}

// Halt implements conn.Resource; inputs need no halting.
func (g *Group) Halt() error { return nil }
