// Package meter measures audio levels in dBFS (peak and RMS) for LEDs and diagnostics.
//
// A Meter is fed by one goroutine (Write) and read by any number of others (Peak, RMS,
// Level): it accumulates fixed windows of samples and publishes each finished window's
// values atomically. Write never allocates. Full scale is 1.0 (float32 samples), so a
// full-scale sine has a peak of 0 dBFS and an RMS of −3.01 dBFS.
package meter
