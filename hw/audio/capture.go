package audio

import (
	"context"

	"github.com/edgevoice/edgevoice/dsp/ring"
)

// Capture is a capture device stream: the callback writes interleaved samples of type
// T into a ring, Read takes them out. It is a [Source].
type Capture[T Sample] struct {
	core
	ring    *ring.Ring[T]
	dec     decoder[T]
	direct  bool // the device format is T's layout: write device memory straight into the ring
	scratch []T
	ch, sb  int
}

// OpenCapture opens the capture device o.Device and starts it. An unknown device name
// is an error (wrapping ErrNoDevice) that lists the devices that exist. After a
// successful open, device failures are handled by reopening (see Opts).
func OpenCapture[T Sample](o Opts) (*Capture[T], error) {
	c, err := newCapture[T](o)
	if err != nil {
		return nil, err
	}
	if err := c.core.start(); err != nil {
		return nil, err
	}
	return c, nil
}

func newCapture[T Sample](o Opts) (*Capture[T], error) {
	if err := o.setDefaults(DirCapture); err != nil {
		return nil, err
	}
	c := &Capture[T]{
		ring:    ring.New[T](o.RingFrames * o.Format.Channels),
		dec:     newDecoder[T](o.Format.Sample),
		direct:  formatOf[T]() == o.Format.Sample,
		scratch: make([]T, 1024*o.Format.Channels),
		ch:      o.Format.Channels,
		sb:      o.Format.Sample.Bytes(),
	}
	c.core.init(DirCapture, o, c.onData)
	return c, nil
}

// onData is the audio callback: convert and copy into the ring, count, return.
func (c *Capture[T]) onData(_, in []byte, frames uint32) {
	c.callbacks.Add(1)
	n := int(frames) * c.ch
	if n > len(in)/c.sb {
		n = len(in) / c.sb / c.ch * c.ch
	}
	take := min(n, c.ring.Free()/c.ch*c.ch) // whole frames only, so channels never shift
	if take < n {
		c.overruns.Add(1)
		c.overrunFrames.Add(uint64((n - take) / c.ch))
	}
	if c.direct {
		c.ring.Write(bytesAs[T](in, take))
	} else {
		for off := 0; off < take; {
			k := min(len(c.scratch), take-off)
			c.dec(c.scratch[:k], in[off*c.sb:(off+k)*c.sb])
			c.ring.Write(c.scratch[:k])
			off += k
		}
	}
	c.block(n / c.ch)
}

// Format is the format the device runs at (Read converts it to T).
func (c *Capture[T]) Format() Format { return c.opts.Format }

// PeriodFrames is the number of frames per device period.
func (c *Capture[T]) PeriodFrames() int { return c.opts.PeriodFrames }

// Ring is the ring the callback writes into, for a consumer that reads it directly
// (wait on Ring().Notify(), read whole frames). Use either Ring or Read, not both.
func (c *Capture[T]) Ring() *ring.Ring[T] { return c.ring }

// Read blocks until captured frames are available and copies whole frames into p.
// It returns ErrClosed after Close. One goroutine reads (the ring is single-consumer).
func (c *Capture[T]) Read(ctx context.Context, p []T) (int, error) {
	want := len(p) / c.ch * c.ch
	if want == 0 {
		return 0, errShortBuffer
	}
	for {
		if c.core.isClosed() { // frames still in the ring are not handed out after Close
			return 0, ErrClosed
		}
		if avail := c.ring.Len() / c.ch * c.ch; avail > 0 {
			return c.ring.Read(p[:min(want, avail)]), nil
		}
		if err := waitCtx(&c.core, ctx, c.ring.Notify()); err != nil {
			return 0, err
		}
	}
}

// Close stops the device and the supervisor and waits for them.
func (c *Capture[T]) Close() error { return c.core.close() }
