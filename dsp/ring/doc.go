// Package ring is a lock-free single-producer/single-consumer ring buffer for audio
// samples (or any element type).
//
// Exactly one goroutine (or audio callback thread) may call Write and exactly one other
// may call Read, Reset and the other consumer-side methods at the same time. Len, Cap,
// Free, Overruns and Underruns may be called from anywhere. Capacity is rounded up to a
// power of two; Write and Read copy into and out of caller slices, never block, and never
// allocate after New.
//
// # Modes
//
// A ring from New is a normal queue: Write takes only what fits and counts the rest as
// overruns. A ring from NewKeepLast is a pre-roll buffer: Write always takes everything
// and, when the ring is full, the oldest buffered items are dropped (counted as
// overruns) so the ring keeps the newest Cap() items. Dropping is done with a
// compare-and-swap on the read index, so it is safe while the consumer reads. A
// keep-last ring allocates four times its capacity so that the producer can keep going
// without touching items the consumer is copying out. Only if the consumer stalls inside
// one Read while the producer writes more than three capacities does a Write keep just
// the newest part of its own input that fits (the rest counted as overruns).
//
// # Waiting
//
// Notify returns a channel that receives a token after a Write that added data; the
// consumer can block on it instead of polling. Tokens coalesce (capacity 1), so after a
// wake-up the consumer should read until the ring is empty.
//
// A nil *Ring is not usable; the zero Ring is not usable either: use New or NewKeepLast.
package ring
