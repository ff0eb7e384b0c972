// Package mix turns interleaved multi-channel microphone-array input into one mono float32
// stream.
//
// A Mixer is built from a Config: the input layout (interleaved float32 frames of a
// channel count; hw/audio converts the device's native format), how the channels are combined (select one, average a
// set, or delay-and-sum with per-channel integer delays), an optional DC-blocking
// high-pass, and a gain followed by an optional soft limiter. Every setting is checked at
// construction (a channel index out of range is an error then, not later); Process calls
// never allocate and never fail.
//
// The DC blocker and the soft limiter are also usable on their own (DCBlocker, Limiter),
// for example on the playback path. Level meters live in package meter.
//
// A Mixer is not safe for concurrent use: one per stream, fed by one goroutine.
package mix
