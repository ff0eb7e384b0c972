package audio

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/edgevoice/edgevoice/dsp/ring"
)

// Playback is a playback device stream: Write puts interleaved samples of type T into
// a ring, the callback plays them. When the ring runs dry after data was played the
// callback plays silence and counts an underrun, until Drain says the stream ended. It
// is a [Sink].
type Playback[T Sample] struct {
	core
	ring    *ring.Ring[T]
	enc     encoder[T]
	direct  bool
	scratch []T
	ch, sb  int
	playing bool          // the last callback had data (audio thread only)
	armed   atomic.Bool   // data has been played and Drain has not been called: silence is an underrun
	space   chan struct{} // capacity 1: the callback consumed data

	flushReq atomic.Bool   // Flush asked the consumer side to drop the queue
	flushAck chan struct{} // capacity 1: the queue was dropped
}

// OpenPlayback opens the playback device o.Device and starts it (playing silence until
// Write supplies data).
func OpenPlayback[T Sample](o Opts) (*Playback[T], error) {
	p, err := newPlayback[T](o)
	if err != nil {
		return nil, err
	}
	if err := p.core.start(); err != nil {
		return nil, err
	}
	return p, nil
}

func newPlayback[T Sample](o Opts) (*Playback[T], error) {
	if err := o.setDefaults(DirPlayback); err != nil {
		return nil, err
	}
	p := &Playback[T]{
		ring:     ring.New[T](o.RingFrames * o.Format.Channels),
		enc:      newEncoder[T](o.Format.Sample),
		direct:   formatOf[T]() == o.Format.Sample,
		scratch:  make([]T, 1024*o.Format.Channels),
		ch:       o.Format.Channels,
		sb:       o.Format.Sample.Bytes(),
		space:    make(chan struct{}, 1),
		flushAck: make(chan struct{}, 1),
	}
	p.core.init(DirPlayback, o, p.onData)
	p.core.beforeStart = p.flushNow // no callback runs while a device is being (re)opened
	return p, nil
}

// onData is the audio callback: copy out of the ring, convert, pad with silence.
func (p *Playback[T]) onData(out, _ []byte, frames uint32) {
	p.callbacks.Add(1)
	if p.flushReq.Load() {
		p.flushNow()
	}
	n := int(frames) * p.ch
	if n > len(out)/p.sb {
		n = len(out) / p.sb / p.ch * p.ch
	}
	take := min(n, p.ring.Len()/p.ch*p.ch)
	if p.direct {
		p.ring.Read(bytesAs[T](out, take))
	} else {
		for off := 0; off < take; {
			k := min(len(p.scratch), take-off)
			p.ring.Read(p.scratch[:k])
			p.enc(out[off*p.sb:(off+k)*p.sb], p.scratch[:k])
			off += k
		}
	}
	clear(out[take*p.sb : n*p.sb])
	if take > 0 && !p.playing {
		p.armed.Store(true)
	}
	if take < n && p.armed.Load() {
		if p.playing || take > 0 {
			p.underruns.Add(1)
		}
		p.underrunFrames.Add(uint64((n - take) / p.ch))
	}
	p.playing = take == n
	p.block(n / p.ch)
	if take < n {
		p.silenceFrames.Add(uint64((n - take) / p.ch))
	}
	if take > 0 {
		select {
		case p.space <- struct{}{}:
		default:
		}
	}
}

// flushNow drops the queue; only the consumer side (the callback, or the supervisor
// while no device runs) may call it.
func (p *Playback[T]) flushNow() {
	if !p.flushReq.Load() {
		return
	}
	p.ring.Reset()
	p.playing = false
	p.armed.Store(false)
	p.flushReq.Store(false)
	select {
	case p.flushAck <- struct{}{}:
	default:
	}
}

// Flush drops everything queued and not yet handed to the device (barge-in: the answer
// stops at once, within the device buffer). It waits until the audio thread has done
// it; samples written after Flush returns are played. If ctx ends first the flush still
// happens at the next callback.
func (p *Playback[T]) Flush(ctx context.Context) error {
	select {
	case <-p.flushAck: // a stale acknowledgement
	default:
	}
	p.flushReq.Store(true)
	return waitCtx(&p.core, ctx, p.flushAck)
}

// Format is the format the device runs at (Write converts T to it).
func (p *Playback[T]) Format() Format { return p.opts.Format }

// PeriodFrames is the number of frames per device period.
func (p *Playback[T]) PeriodFrames() int { return p.opts.PeriodFrames }

// Ring is the ring the callback reads from, for a producer that writes it directly
// (whole frames only). Use either Ring or Write, not both.
func (p *Playback[T]) Ring() *ring.Ring[T] { return p.ring }

// Write blocks until the whole frames of s are queued (or ctx ends, or Close) and
// returns the number of samples queued. While the device is being reopened nothing
// drains the ring, so Write waits. One goroutine writes (the ring is single-producer).
func (p *Playback[T]) Write(ctx context.Context, s []T) (int, error) {
	s = s[:len(s)/p.ch*p.ch]
	done := 0
	for len(s) > 0 {
		if p.core.isClosed() { // nothing plays after Close, even with room in the ring
			return done, ErrClosed
		}
		if k := min(len(s), p.ring.Free()/p.ch*p.ch); k > 0 {
			p.ring.Write(s[:k])
			s = s[k:]
			done += k
			continue
		}
		if err := waitCtx(&p.core, ctx, p.space); err != nil {
			return done, err
		}
	}
	return done, nil
}

// Drain waits until everything written has been handed to the device and the device
// buffer has had time to play it out.
func (p *Playback[T]) Drain(ctx context.Context) error {
	tick := time.NewTicker(p.opts.period() / 2)
	defer tick.Stop()
	for p.ring.Len() > 0 {
		if err := waitCtx(&p.core, ctx, tick.C); err != nil {
			return err
		}
	}
	p.armed.Store(false) // the stream ended: the silence that follows is not an underrun
	t := time.NewTimer(time.Duration(p.opts.Periods+1) * p.opts.period())
	defer t.Stop()
	return waitCtx(&p.core, ctx, t.C)
}

// Close stops the device and the supervisor and waits for them. Call Drain first to
// hear the end of what was written.
func (p *Playback[T]) Close() error { return p.core.close() }

// Queue is how long the ring between Write and the callback holds (its capacity at the
// stream's rate): a writer that keeps it full, as the appliance's speaker pump does,
// hands the device each sample this long after writing it.
func (p *Playback[T]) Queue() time.Duration {
	return time.Duration(p.ring.Cap()/p.ch) * time.Second / time.Duration(p.opts.Format.Rate)
}
