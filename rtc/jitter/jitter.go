package jitter

import "fmt"

// Kind is what a Pop step asks the decoder to do.
type Kind int

// Kinds of step.
const (
	KindPacket  Kind = iota + 1 // decode Payload
	KindFEC                     // the packet Seq was lost: recover it from Payload, the next packet
	KindConceal                 // the packet Seq was lost and the next one is missing too: conceal
)

// String returns "packet", "fec" or "conceal".
func (k Kind) String() string {
	switch k {
	case KindPacket:
		return "packet"
	case KindFEC:
		return "fec"
	case KindConceal:
		return "conceal"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Step is one decode step. Payload aliases the buffer's storage and stays valid until
// the next Push.
type Step struct {
	Kind    Kind
	Seq     uint16
	Payload []byte
}

// Stats counts what went through the buffer.
type Stats struct {
	Received  uint64 // packets accepted
	Late      uint64 // packets that arrived after their slot was played or declared lost
	Duplicate uint64 // packets already held
	Lost      uint64 // packets declared lost (recovered by FEC or concealed)
	Skipped   uint64 // packets skipped by a resync after a long gap (not concealed)
	Flushes   uint64 // Flush calls
}

const (
	window     = 64   // slots; a power of two
	maxPayload = 1500 // bytes per slot; longer payloads are truncated (Opus packets are ≤1275)
)

type slot struct {
	full bool
	seq  uint16
	n    int
	data [maxPayload]byte
}

// Buffer reorders one RTP stream.
type Buffer struct {
	depth   int
	maxGap  int
	started bool
	next    uint16 // next sequence number to play
	highest uint16 // highest sequence number received
	slots   [window]slot
	stats   Stats
}

// New returns a buffer that declares a packet lost once depth later packets have
// arrived (1..16). A jump of more than maxGap packets (1..window/2) resynchronises to the
// new packet instead of concealing the whole gap.
func New(depth, maxGap int) *Buffer {
	if depth < 1 || depth > 16 {
		panic(fmt.Sprintf("BUG: jitter.New: depth %d out of 1..16", depth))
	}
	if maxGap < 1 || maxGap > window/2 {
		panic(fmt.Sprintf("BUG: jitter.New: maxGap %d out of 1..%d", maxGap, window/2))
	}
	return &Buffer{depth: depth, maxGap: maxGap}
}

// Push stores a packet. It copies payload.
func (b *Buffer) Push(seq uint16, payload []byte) {
	if !b.started {
		b.started, b.next, b.highest = true, seq, seq
	}
	d := int(int16(seq - b.next))
	switch {
	case d < 0:
		b.stats.Late++
		return
	case d > b.maxGap:
		// long gap (or a new stream): start over at seq.
		for i := range b.slots {
			b.slots[i].full = false
		}
		b.stats.Skipped += uint64(d)
		b.next, b.highest = seq, seq
	}
	s := &b.slots[seq&(window-1)]
	if s.full && s.seq == seq {
		b.stats.Duplicate++
		return
	}
	s.full, s.seq = true, seq
	s.n = copy(s.data[:], payload)
	b.stats.Received++
	if int16(seq-b.highest) > 0 {
		b.highest = seq
	}
}

// Pop returns the next step, or false when the next packet is missing and the gap is
// still within the depth.
func (b *Buffer) Pop() (Step, bool) {
	if !b.started {
		return Step{}, false
	}
	if s := &b.slots[b.next&(window-1)]; s.full && s.seq == b.next {
		s.full = false
		st := Step{Kind: KindPacket, Seq: b.next, Payload: s.data[:s.n]}
		b.next++
		return st, true
	}
	if int(int16(b.highest-b.next)) < b.depth {
		return Step{}, false
	}
	return b.lose(), true
}

// Expire gives up on a missing next packet now (the stream went quiet after a gap):
// it returns the loss step if the next packet is missing and a later one is held.
func (b *Buffer) Expire() (Step, bool) {
	if !b.started || int16(b.highest-b.next) <= 0 {
		return Step{}, false
	}
	if s := &b.slots[b.next&(window-1)]; s.full && s.seq == b.next {
		return Step{}, false
	}
	return b.lose(), true
}

func (b *Buffer) lose() Step {
	b.stats.Lost++
	seq := b.next
	b.next++
	if s := &b.slots[b.next&(window-1)]; s.full && s.seq == b.next {
		return Step{Kind: KindFEC, Seq: seq, Payload: s.data[:s.n]}
	}
	return Step{Kind: KindConceal, Seq: seq}
}

// Flush drops everything held; the next Push starts a new stream.
func (b *Buffer) Flush() {
	for i := range b.slots {
		b.slots[i].full = false
	}
	b.started = false
	b.stats.Flushes++
}

// Stats returns the counters.
func (b *Buffer) Stats() Stats { return b.stats }
