// Package resample is a streaming polyphase windowed-sinc sample-rate converter for mono
// float32 audio between any two of 8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000
// and 96000 Hz.
//
// # Design
//
// The ratio out/in is reduced to L/M and the converter is an exact rational L/M polyphase
// filter bank: a Kaiser-windowed sinc prototype at L times the input rate, split into L
// phases. Output k is taken at input position k*M/L, tracked as an integer index plus an
// integer phase in [0, L), so there is no floating-point drift however long it runs: after
// N input samples exactly ceil(N*L/M) outputs have been produced.
//
// The prototype passes up to 0.9 of the lower Nyquist frequency within ±0.1 dB, is above
// −3 dB at 0.95, and attenuates everything at or above 1.05 of the lower Nyquist by more
// than 100 dB (anti-alias when downsampling, anti-image when upsampling).
//
// Input history is kept contiguous, so each output sample is one dot product over
// contiguous memory; the dot product uses AVX2+FMA on amd64 and NEON on arm64 when the CPU
// has them, and a pure-Go loop otherwise.
//
// Each output is produced as soon as the newest input sample it needs has arrived (no block
// buffering); the latency is the filter's group delay, reported by Delay (1.0 to 2.7 ms for
// the common pairs between 16, 24, 44.1 and 48 kHz).
//
// # Memory
//
// Coefficient tables are computed once per rate pair, cached, and shared read-only by
// every Resampler of that pair. Per-instance state is the history buffer (at most 16 KiB).
// Process never allocates.
//
// Output depends only on the input samples, not on how they are split into Process calls:
// the same input fed in any chunking gives bit-identical output.
package resample
