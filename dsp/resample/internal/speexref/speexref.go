//go:build speexdsp

package speexref

/*
#cgo pkg-config: speexdsp
#include <speex/speex_resampler.h>
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// Resampler is one libspeexdsp resampler state (mono).
type Resampler struct {
	st            *C.SpeexResamplerState
	in, out       int
	inLen, outLen C.spx_uint32_t // fields, not locals: a local passed by address to C escapes
}

// New returns a speexdsp resampler at the given quality (0..10).
func New(inRate, outRate, quality int) (*Resampler, error) {
	var err C.int
	st := C.speex_resampler_init(1, C.spx_uint32_t(inRate), C.spx_uint32_t(outRate), C.int(quality), &err)
	if st == nil || err != 0 {
		return nil, fmt.Errorf("speexref: speex_resampler_init(%d, %d, q%d): error %d", inRate, outRate, quality, int(err))
	}
	r := &Resampler{st: st, in: inRate, out: outRate}
	runtime.SetFinalizer(r, func(r *Resampler) { C.speex_resampler_destroy(r.st) })
	return r, nil
}

// MaxOut bounds the output for n inputs.
func (r *Resampler) MaxOut(n int) int { return n*r.out/r.in + 2 }

// Process consumes all of src and returns the samples written to dst.
func (r *Resampler) Process(dst, src []float32) int {
	out := 0
	for len(src) > 0 {
		r.inLen = C.spx_uint32_t(len(src))
		r.outLen = C.spx_uint32_t(len(dst) - out)
		C.speex_resampler_process_float(r.st, 0, (*C.float)(unsafe.Pointer(&src[0])), &r.inLen,
			(*C.float)(unsafe.Pointer(&dst[out])), &r.outLen)
		src = src[r.inLen:]
		out += int(r.outLen)
		if r.inLen == 0 && r.outLen == 0 {
			break
		}
	}
	return out
}

// DelaySeconds returns speexdsp's reported input latency in seconds.
func (r *Resampler) DelaySeconds() float64 {
	return float64(C.speex_resampler_get_input_latency(r.st)) / float64(r.in)
}
