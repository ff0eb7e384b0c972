// Package framer cuts a stream delivered in arbitrary chunk sizes into fixed codec frames
// (10, 20, 40 or 60 ms at a given rate), and does the reverse for playback: fixed frames
// in, arbitrary-sized reads out.
//
// Both types are single-goroutine and allocation-free after construction. For handing
// audio between goroutines use package ring.
package framer
