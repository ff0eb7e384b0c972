package framer

import (
	"fmt"
	"time"
)

// Durations lists the supported frame durations.
var Durations = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond}

// FrameSize returns the number of samples in one frame of d at rate Hz, or an error if d
// is not one of Durations or the frame is not a whole number of samples.
func FrameSize(rate int, d time.Duration) (int, error) {
	ok := false
	for _, v := range Durations {
		ok = ok || v == d
	}
	if !ok {
		return 0, fmt.Errorf("framer: frame duration %v not supported (want 10ms, 20ms, 40ms or 60ms)", d)
	}
	if rate <= 0 {
		return 0, fmt.Errorf("framer: rate %d Hz, want > 0", rate)
	}
	num := int64(rate) * int64(d)
	if num%int64(time.Second) != 0 {
		return 0, fmt.Errorf("framer: %v at %d Hz is not a whole number of samples", d, rate)
	}
	return int(num / int64(time.Second)), nil
}

// Framer collects samples into fixed-size frames.
//
//	for len(p) > 0 {
//		n, frame := f.Write(p)
//		p = p[n:]
//		if frame != nil {
//			encode(frame) // valid until the next Write
//		}
//	}
type Framer[T any] struct {
	buf []T
	n   int
}

// New returns a Framer for frames of d at rate Hz.
func New[T any](rate int, d time.Duration) (*Framer[T], error) {
	size, err := FrameSize(rate, d)
	if err != nil {
		return nil, err
	}
	return NewSize[T](size), nil
}

// NewSize returns a Framer for frames of size samples (> 0, else it panics "BUG:").
func NewSize[T any](size int) *Framer[T] {
	if size <= 0 {
		panic("BUG: framer: frame size must be positive")
	}
	return &Framer[T]{buf: make([]T, size)}
}

// Size returns the frame size in samples.
func (f *Framer[T]) Size() int { return len(f.buf) }

// Buffered returns the samples held towards the next frame.
func (f *Framer[T]) Buffered() int { return f.n }

// Write takes samples from p until a frame is complete or p is used up. It returns how
// many it took and, when a frame completed, that frame (valid until the next call; nil
// otherwise).
func (f *Framer[T]) Write(p []T) (n int, frame []T) {
	n = copy(f.buf[f.n:], p)
	f.n += n
	if f.n == len(f.buf) {
		f.n = 0
		return n, f.buf
	}
	return n, nil
}

// Reset drops a partial frame.
func (f *Framer[T]) Reset() { f.n = 0 }

// Deframer takes whole frames and hands out arbitrary-sized reads (the playback
// direction). It holds up to a fixed number of samples.
type Deframer[T any] struct {
	buf        []T
	r, n       int
	underruns  uint64
	overflowed uint64
}

// NewDeframer returns a Deframer holding up to capacity samples (> 0, else it panics
// "BUG:"); a few frames is typical.
func NewDeframer[T any](capacity int) *Deframer[T] {
	if capacity <= 0 {
		panic("BUG: framer: deframer capacity must be positive")
	}
	return &Deframer[T]{buf: make([]T, capacity)}
}

// Len returns the buffered samples; Free the room left.
func (d *Deframer[T]) Len() int  { return d.n }
func (d *Deframer[T]) Free() int { return len(d.buf) - d.n }

// Write appends a frame. It takes all of it or, if it does not fit, nothing, and reports
// whether it did (a refused frame is counted in Overflows).
func (d *Deframer[T]) Write(frame []T) bool {
	if len(frame) > d.Free() {
		d.overflowed++
		return false
	}
	w := (d.r + d.n) % len(d.buf)
	c := copy(d.buf[w:], frame)
	copy(d.buf, frame[c:])
	d.n += len(frame)
	return true
}

// Read copies up to len(dst) samples out and returns how many. With fill, the rest of dst
// is set to the zero value (silence) and the number of filled samples is added to
// Underruns; len(dst) is returned then.
func (d *Deframer[T]) Read(dst []T, fill bool) int {
	k := min(len(dst), d.n)
	c := copy(dst[:k], d.buf[d.r:])
	copy(dst[c:k], d.buf)
	d.r = (d.r + k) % len(d.buf)
	d.n -= k
	if !fill {
		return k
	}
	if k < len(dst) {
		clear(dst[k:])
		d.underruns += uint64(len(dst) - k)
	}
	return len(dst)
}

// Underruns returns the samples filled with silence by Read; Overflows the frames Write
// refused.
func (d *Deframer[T]) Underruns() uint64 { return d.underruns }
func (d *Deframer[T]) Overflows() uint64 { return d.overflowed }

// Reset drops everything buffered.
func (d *Deframer[T]) Reset() { d.r, d.n = 0, 0 }
