package aec

/*
#cgo pkg-config: speexdsp
#include <stdlib.h>
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>

static int aec_ctl_int(SpeexPreprocessState *st, int req, int v) { return speex_preprocess_ctl(st, req, &v); }
static int aec_echo_rate(SpeexEchoState *st, int rate) { return speex_echo_ctl(st, SPEEX_ECHO_SET_SAMPLING_RATE, &rate); }
static int aec_set_echo(SpeexPreprocessState *st, SpeexEchoState *e) { return speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_ECHO_STATE, e); }
static int aec_agc_level(SpeexPreprocessState *st, float v) { return speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_AGC_LEVEL, &v); }
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"time"
	"unsafe"
)

// Config is what the canceller does. The zero value of the switches turns that stage off.
type Config struct {
	// Rate is the sample rate in Hz: 8000, 16000, 24000, 32000 or 48000.
	Rate int
	// Echo runs the echo canceller (else the far-end reference is ignored).
	Echo bool
	// Tail is the length of the echo path the adaptive filter covers, after the device
	// delays are taken out by Reference (0: DefaultTail). Longer rooms need more; the
	// cost grows with it.
	Tail time.Duration
	// NoiseSuppression runs the preprocessor's noise suppressor (and, with Echo, its
	// residual echo suppressor).
	NoiseSuppression bool
	// AGC runs the preprocessor's automatic gain control.
	AGC bool
}

// DefaultTail covers a living room (RT60 ≈ 0.3 s) plus up to ~60 ms of delay that the
// reported device delays miss.
const DefaultTail = 200 * time.Millisecond

// FrameDuration is the length of one frame Process takes.
const FrameDuration = 10 * time.Millisecond

// Canceller is one echo canceller + preprocessor state for one microphone channel.
type Canceller struct {
	cfg   Config
	frame int
	echo  *C.SpeexEchoState
	pre   *C.SpeexPreprocessState
	// C memory: the frame buffers passed to speexdsp (no Go pointer crosses, no escape).
	mic, ref, out *C.spx_int16_t
	micS, refS    []C.spx_int16_t
	outS          []C.spx_int16_t
	// Frames counts the frames processed (for tests and stats).
	frames uint64
}

// ErrFrame is returned by Process for a frame of the wrong length.
var ErrFrame = errors.New("aec: frame length must be FrameLen()")

// New returns a canceller for cfg. Close frees it.
func New(cfg Config) (*Canceller, error) {
	switch cfg.Rate {
	case 8000, 16000, 24000, 32000, 48000:
	default:
		return nil, fmt.Errorf("aec: rate %d Hz not supported (want 8000, 16000, 24000, 32000 or 48000)", cfg.Rate)
	}
	if cfg.Tail == 0 {
		cfg.Tail = DefaultTail
	}
	if cfg.Tail < 50*time.Millisecond || cfg.Tail > time.Second {
		return nil, fmt.Errorf("aec: tail %v out of range (50ms..1s)", cfg.Tail)
	}
	frame := cfg.Rate / 100
	c := &Canceller{cfg: cfg, frame: frame}
	size := C.size_t(frame) * C.size_t(unsafe.Sizeof(C.spx_int16_t(0)))
	c.mic, c.ref, c.out = (*C.spx_int16_t)(C.malloc(size)), (*C.spx_int16_t)(C.malloc(size)), (*C.spx_int16_t)(C.malloc(size))
	c.micS, c.refS, c.outS = unsafe.Slice(c.mic, frame), unsafe.Slice(c.ref, frame), unsafe.Slice(c.out, frame)
	if cfg.Echo {
		taps := int(cfg.Tail.Seconds() * float64(cfg.Rate))
		c.echo = C.speex_echo_state_init(C.int(frame), C.int(taps))
		if c.echo == nil {
			c.Close()
			return nil, errors.New("aec: speex_echo_state_init failed")
		}
		C.aec_echo_rate(c.echo, C.int(cfg.Rate))
	}
	if cfg.NoiseSuppression || cfg.AGC || cfg.Echo {
		c.pre = C.speex_preprocess_state_init(C.int(frame), C.int(cfg.Rate))
		if c.pre == nil {
			c.Close()
			return nil, errors.New("aec: speex_preprocess_state_init failed")
		}
		C.aec_ctl_int(c.pre, C.SPEEX_PREPROCESS_SET_DENOISE, b2i(cfg.NoiseSuppression))
		C.aec_ctl_int(c.pre, C.SPEEX_PREPROCESS_SET_AGC, b2i(cfg.AGC))
		C.aec_ctl_int(c.pre, C.SPEEX_PREPROCESS_SET_DEREVERB, 0)
		if cfg.AGC {
			// about -20 dBFS RMS speech; gain limited so that silence is not pumped up
			C.aec_agc_level(c.pre, 3000)
			C.aec_ctl_int(c.pre, C.SPEEX_PREPROCESS_SET_AGC_MAX_GAIN, 20)
		}
		if cfg.Echo {
			C.aec_set_echo(c.pre, c.echo)
		}
	}
	return c, nil
}

func b2i(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// FrameLen is the number of samples Process takes and gives: 10 ms at the rate.
func (c *Canceller) FrameLen() int { return c.frame }

// Latency is how much later the output is than the input: one frame when the
// preprocessor runs (noise suppression, AGC or the echo canceller's residual echo
// suppression; measured: speexdsp's preprocessor returns the frame before), else none.
func (c *Canceller) Latency() time.Duration {
	if c.pre != nil {
		return FrameDuration
	}
	return 0
}

// Config returns the configuration in use (Tail filled in).
func (c *Canceller) Config() Config { return c.cfg }

// Process cleans one frame: mic is what the microphone captured, ref what the speaker
// played at the same moment (aligned by Reference; ignored unless Echo), out receives
// the result (it may be mic). Samples are float32 in [-1, 1]; it allocates nothing.
func (c *Canceller) Process(out, mic, ref []float32) error {
	if len(mic) != c.frame || len(out) != c.frame || (c.echo != nil && len(ref) != c.frame) {
		return ErrFrame
	}
	toS16(c.micS, mic)
	res := c.mic
	if c.echo != nil {
		toS16(c.refS, ref)
		C.speex_echo_cancellation(c.echo, c.mic, c.ref, c.out)
		res = c.out
	}
	if c.pre != nil {
		C.speex_preprocess_run(c.pre, res)
	}
	fromS16(out, unsafe.Slice(res, c.frame))
	c.frames++
	return nil
}

// Reset forgets the adapted echo path and the noise estimate (as after New).
func (c *Canceller) Reset() {
	if c.echo != nil {
		C.speex_echo_state_reset(c.echo)
	}
}

// Close frees the C state. The canceller must not be used afterwards.
func (c *Canceller) Close() {
	if c.pre != nil {
		C.speex_preprocess_state_destroy(c.pre)
		c.pre = nil
	}
	if c.echo != nil {
		C.speex_echo_state_destroy(c.echo)
		c.echo = nil
	}
	for _, p := range []*C.spx_int16_t{c.mic, c.ref, c.out} {
		if p != nil {
			C.free(unsafe.Pointer(p))
		}
	}
	c.mic, c.ref, c.out = nil, nil, nil
	c.micS, c.refS, c.outS = nil, nil, nil
}

func toS16(dst []C.spx_int16_t, src []float32) {
	for i, v := range src {
		x := math.Round(float64(v) * 32768)
		if x > 32767 {
			x = 32767
		} else if x < -32768 {
			x = -32768
		}
		dst[i] = C.spx_int16_t(x)
	}
}

func fromS16(dst []float32, src []C.spx_int16_t) {
	for i, v := range src {
		dst[i] = float32(v) / 32768
	}
}
