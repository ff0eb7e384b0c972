//go:build webrtcaudio

// Package webrtcref wraps WebRTC's audio processing module 0.3 (Debian's
// libwebrtc-audio-processing) for the measurement that chose speexdsp for hw/aec: it is
// linked only with the build tag webrtcaudio (make aec-compare), never by the product.
package webrtcref

/*
#cgo pkg-config: webrtc-audio-processing
#cgo CXXFLAGS: -std=c++11
#cgo LDFLAGS: -lstdc++
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// Mode selects WebRTC's echo canceller.
type Mode int

// The echo cancellers of the module.
const (
	NoEcho Mode = iota
	AEC         // the full AEC (extended filter, delay-agnostic)
	AECM        // the mobile echo control
)

// APM is one audio processing module at one rate.
type APM struct {
	w             *C.wapm
	n             int
	mic, ref, out *C.int16_t
	micS, refS    []C.int16_t
	outS          []C.int16_t
}

// New returns a module; delayMs is the reported delay of the echo path.
func New(rate int, mode Mode, ns, agc bool, delayMs int) (*APM, error) {
	w := C.wapm_new(C.int(rate), C.int(mode), b(ns), b(agc), C.int(delayMs))
	if w == nil {
		return nil, errors.New("webrtcref: AudioProcessing::Create failed")
	}
	a := &APM{w: w, n: rate / 100}
	size := C.size_t(a.n * 2)
	a.mic, a.ref, a.out = (*C.int16_t)(C.malloc(size)), (*C.int16_t)(C.malloc(size)), (*C.int16_t)(C.malloc(size))
	a.micS, a.refS, a.outS = unsafe.Slice(a.mic, a.n), unsafe.Slice(a.ref, a.n), unsafe.Slice(a.out, a.n)
	return a, nil
}

func b(v bool) C.int {
	if v {
		return 1
	}
	return 0
}

// FrameLen is 10 ms at the rate.
func (a *APM) FrameLen() int { return a.n }

// Process cleans one frame.
func (a *APM) Process(out, mic, ref []float32) error {
	for i := range mic {
		a.micS[i] = C.int16_t(clamp(mic[i]))
		a.refS[i] = C.int16_t(clamp(ref[i]))
	}
	if err := C.wapm_process(a.w, a.mic, a.ref, a.out); err != 0 {
		return fmt.Errorf("webrtcref: error %d", int(err))
	}
	for i, v := range a.outS {
		out[i] = float32(v) / 32768
	}
	return nil
}

func clamp(v float32) int32 {
	x := int32(v * 32768)
	return min(max(x, -32768), 32767)
}

// Close frees the module.
func (a *APM) Close() {
	C.wapm_free(a.w)
	C.free(unsafe.Pointer(a.mic))
	C.free(unsafe.Pointer(a.ref))
	C.free(unsafe.Pointer(a.out))
}
