package ring

import (
	"math/bits"
	"sync/atomic"
)

// busy marks, in the low bit of the read state of a keep-last ring, that the consumer is
// copying out items [inflight, head).
const busy = 1

// Ring is a single-producer/single-consumer ring buffer. See the package documentation
// for which side may call what.
type Ring[T any] struct {
	buf      []T
	mask     uint64 // len(buf)-1
	capacity uint64 // logical capacity (len(buf) in normal mode, len(buf)/4 in keep-last)
	keepLast bool
	notify   chan struct{}

	_ [64]byte
	// w is the total number of items ever written (producer stores, consumer loads).
	w atomic.Uint64
	_ [56]byte
	// rs is the read state: in normal mode the total number of items consumed; in
	// keep-last mode head<<1 | busy, updated by both sides with compare-and-swap.
	rs atomic.Uint64
	// inflight is the first position the consumer is copying while busy is set
	// (keep-last mode only; written by the consumer before it sets busy).
	inflight atomic.Uint64
	_        [48]byte
	over     atomic.Uint64
	under    atomic.Uint64
	stalls   atomic.Uint64 // keep-last writes that had to drop new items (consumer stuck mid-Read)
}

// New returns a ring that holds capacity items, rounded up to a power of two. It panics
// if capacity is not positive (a programmer error).
func New[T any](capacity int) *Ring[T] {
	return newRing[T](capacity, false)
}

// NewKeepLast returns a pre-roll ring of capacity items (rounded up to a power of two):
// Write always takes all of its input and drops the oldest buffered items to make room.
func NewKeepLast[T any](capacity int) *Ring[T] {
	return newRing[T](capacity, true)
}

func newRing[T any](capacity int, keepLast bool) *Ring[T] {
	if capacity <= 0 || uint64(capacity) > 1<<40 {
		panic("BUG: ring: capacity must be in 1..2^40")
	}
	c := uint64(1) << bits.Len64(uint64(capacity-1))
	n := c
	if keepLast {
		n = 4 * c // room for: what the consumer copies (<= c), what is buffered (<= c), a write (<= c), and slack
	}
	return &Ring[T]{
		buf:      make([]T, n),
		mask:     n - 1,
		capacity: c,
		keepLast: keepLast,
		notify:   make(chan struct{}, 1),
	}
}

// Cap returns the number of items the ring holds when full.
func (r *Ring[T]) Cap() int { return int(r.capacity) }

// Len returns the number of items buffered. Called from a side other than the consumer it
// is a snapshot that may be stale at once.
func (r *Ring[T]) Len() int {
	for {
		head := r.head()
		w := r.w.Load()
		if w >= head { // a stale w can lag head that a racing drop moved; retry
			n := w - head
			if n > r.capacity {
				n = r.capacity
			}
			return int(n)
		}
	}
}

// Free returns the number of items Write can take without an overrun (a drop in
// keep-last mode).
func (r *Ring[T]) Free() int { return r.Cap() - r.Len() }

// Overruns returns the number of items Write could not take (normal mode) or dropped
// (keep-last mode) since New.
func (r *Ring[T]) Overruns() uint64 { return r.over.Load() }

// Underruns returns the number of items Read was asked for but did not have since New.
func (r *Ring[T]) Underruns() uint64 { return r.under.Load() }

// Notify returns a channel (capacity 1) that receives a token after a Write that added
// data. It is the same channel for the life of the ring.
func (r *Ring[T]) Notify() <-chan struct{} { return r.notify }

func (r *Ring[T]) head() uint64 {
	if r.keepLast {
		return r.rs.Load() >> 1
	}
	return r.rs.Load()
}

// Write copies items from p into the ring and returns how many it took. In normal mode
// that is what fits; in keep-last mode it is always len(p). Producer side only; it never
// blocks or allocates.
func (r *Ring[T]) Write(p []T) int {
	if len(p) == 0 {
		return 0
	}
	var n int
	if r.keepLast {
		n = r.writeKeepLast(p)
	} else {
		w := r.w.Load()
		free := r.capacity - (w - r.rs.Load())
		n = len(p)
		if uint64(n) > free {
			n = int(free)
			r.over.Add(uint64(len(p) - n))
		}
		r.copyIn(w, p[:n])
		r.w.Store(w + uint64(n))
	}
	if n > 0 {
		select {
		case r.notify <- struct{}{}:
		default:
		}
	}
	return n
}

func (r *Ring[T]) writeKeepLast(p []T) int {
	total := len(p)
	if uint64(len(p)) > r.capacity {
		skip := len(p) - int(r.capacity)
		r.over.Add(uint64(skip))
		p = p[skip:]
	}
	n := uint64(len(p))
	w := r.w.Load()
	size := uint64(len(r.buf))
	for {
		s := r.rs.Load()
		head := s >> 1
		low := head // lowest position whose slot may still be read
		if s&busy != 0 {
			low = r.inflight.Load()
		}
		if w+n > low+size {
			// The consumer has been stuck in one Read (holding [low, head)) for
			// more than a ring's worth of writes: keep the newest items that can be
			// placed without touching what it is copying.
			fit := low + size - w
			r.over.Add(n - fit)
			r.stalls.Add(1)
			p = p[n-fit:]
			n = fit
		}
		if w+n-head <= r.capacity {
			break
		}
		drop := w + n - head - r.capacity
		if r.rs.CompareAndSwap(s, s+drop<<1) {
			r.over.Add(drop)
			break
		}
	}
	r.copyIn(w, p)
	r.w.Store(w + n)
	return total
}

func (r *Ring[T]) copyIn(w uint64, p []T) {
	i := int(w & r.mask)
	c := copy(r.buf[i:], p)
	copy(r.buf, p[c:])
}

func (r *Ring[T]) copyOut(pos uint64, p []T) {
	i := int(pos & r.mask)
	c := copy(p, r.buf[i:])
	copy(p[c:], r.buf)
}

// Read copies up to len(p) of the oldest buffered items into p and returns how many it
// copied. A short read counts the missing items as underruns. Consumer side only; it never
// blocks or allocates.
func (r *Ring[T]) Read(p []T) int {
	if len(p) == 0 {
		return 0
	}
	var n uint64
	if r.keepLast {
		n = r.readKeepLast(p)
	} else {
		head := r.rs.Load()
		n = r.w.Load() - head
		if n > uint64(len(p)) {
			n = uint64(len(p))
		}
		r.copyOut(head, p[:n])
		r.rs.Store(head + n)
	}
	if short := uint64(len(p)) - n; short > 0 {
		r.under.Add(short)
	}
	return int(n)
}

func (r *Ring[T]) readKeepLast(p []T) uint64 {
	var head, n uint64
	for {
		s := r.rs.Load()
		head = s >> 1
		w := r.w.Load()
		if w < head { // w loaded before a drop that moved head past it; reload
			continue
		}
		n = w - head
		if n > uint64(len(p)) {
			n = uint64(len(p))
		}
		if n == 0 {
			return 0
		}
		r.inflight.Store(head)
		if r.rs.CompareAndSwap(s, (head+n)<<1|busy) {
			break
		}
	}
	r.copyOut(head, p[:n])
	for {
		s := r.rs.Load()
		if r.rs.CompareAndSwap(s, s&^busy) {
			return n
		}
	}
}

// Reset drops everything buffered. Consumer side only. The dropped items are not counted.
func (r *Ring[T]) Reset() {
	if !r.keepLast {
		r.rs.Store(r.w.Load())
		return
	}
	for {
		s := r.rs.Load()
		w := r.w.Load()
		if w < s>>1 {
			continue
		}
		if r.rs.CompareAndSwap(s, w<<1) {
			return
		}
	}
}
