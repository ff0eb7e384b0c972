// Package jitter is the receive-side reorder buffer of the rtc downlink: RTP payloads go
// in by sequence number, and decode steps come out in order — a packet to decode, a lost
// packet to recover from the next packet's FEC data, or a lost packet to conceal.
//
// # Model
//
// In-order packets leave at once, so a clean stream adds no delay here. A gap is held
// open until Depth later packets have arrived (or the caller gives up on it with
// Expire); then the missing packet is declared lost. Arrival-time jitter is absorbed by
// the playout ring after the decoder (the session pre-buffers it), not here.
//
// Storage is a fixed window of slots with inline payload arrays, so Push and Pop never
// allocate. A Buffer is not safe for concurrent use; the session owns it from one
// goroutine.
package jitter
