// Package speexref wraps libspeexdsp's resampler (float API) as a benchmark and quality
// reference for package resample. It is built only with the build tag "speexdsp" (it
// needs cgo and libspeexdsp-dev), so the product never links it.
package speexref
