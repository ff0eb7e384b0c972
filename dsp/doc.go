// Package dsp is the audio core of edgevoice. It holds no code itself; the work is done
// by its sub-packages:
//
//   - ring: a lock-free single-producer/single-consumer ring buffer (capture and playout
//     queues, pre-roll buffer).
//   - resample: a streaming polyphase windowed-sinc sample-rate converter.
//   - mix: mic-array down-mix (select, average, delay-and-sum), DC blocker, gain with a
//     soft limiter.
//   - meter: peak and RMS level meters in dBFS (the LED meter, the levels command).
//
// Every hot-path call is allocation-free after construction; none of these packages uses
// cgo, logs, or starts goroutines.
package dsp
