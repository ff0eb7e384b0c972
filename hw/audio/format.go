package audio

import (
	"fmt"
	"strings"
	"unsafe"
)

// SampleFormat is the encoding of one sample in a device buffer or file.
type SampleFormat int

// Sample formats (little endian, interleaved).
const (
	FormatUnknown SampleFormat = iota
	S16                        // signed 16-bit integer
	S32                        // signed 32-bit integer (24-bit mic arrays deliver their data in the top bits)
	F32                        // 32-bit IEEE float in [-1, 1]
)

var formatNames = [...]string{"unknown", "s16", "s32", "f32"}

func (f SampleFormat) String() string {
	if f < 0 || int(f) >= len(formatNames) {
		return fmt.Sprintf("SampleFormat(%d)", int(f))
	}
	return formatNames[f]
}

// Bytes returns the size of one sample in bytes (0 for an unknown format).
func (f SampleFormat) Bytes() int {
	switch f {
	case S16:
		return 2
	case S32, F32:
		return 4
	}
	return 0
}

// ParseSampleFormat accepts "s16", "s32", "f32" (any case; "float" is f32).
func ParseSampleFormat(s string) (SampleFormat, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "s16", "s16le", "s16_le":
		return S16, nil
	case "s32", "s32le", "s32_le":
		return S32, nil
	case "f32", "float", "float32", "f32le", "float_le":
		return F32, nil
	}
	return FormatUnknown, fmt.Errorf("audio: unknown sample format %q (use s16, s32 or f32)", s)
}

// Format describes an interleaved stream.
type Format struct {
	Rate     int          // frames per second
	Channels int          // 1..8
	Sample   SampleFormat // encoding of each sample
}

// MaxChannels is the largest channel count this package handles.
const MaxChannels = 8

func (f Format) String() string {
	return fmt.Sprintf("%d Hz, %d ch, %s", f.Rate, f.Channels, f.Sample)
}

// FrameBytes is the size of one frame (all channels) in bytes.
func (f Format) FrameBytes() int { return f.Channels * f.Sample.Bytes() }

// Validate says what is wrong with f.
func (f Format) Validate() error {
	if f.Rate < 1000 || f.Rate > 384000 {
		return fmt.Errorf("audio: sample rate %d out of range (1000..384000)", f.Rate)
	}
	if f.Channels < 1 || f.Channels > MaxChannels {
		return fmt.Errorf("audio: %d channels out of range (1..%d)", f.Channels, MaxChannels)
	}
	if f.Sample.Bytes() == 0 {
		return fmt.Errorf("audio: sample format %v not supported (use s16, s32 or f32)", f.Sample)
	}
	return nil
}

// Sample is the type of one sample as the caller sees it. float32 is the pipeline's
// type ([-1, 1]); int16 and int32 give bit-exact raw data (for recording).
type Sample interface {
	int16 | int32 | float32
}

// formatOf returns the SampleFormat whose memory layout equals T.
func formatOf[T Sample]() SampleFormat {
	var z T
	switch any(z).(type) {
	case int16:
		return S16
	case int32:
		return S32
	}
	return F32
}

// decoder converts len(dst) samples from the little-endian bytes of src.
type decoder[T Sample] func(dst []T, src []byte)

// encoder converts src into the little-endian bytes of dst (len(dst) = len(src)*size).
type encoder[T Sample] func(dst []byte, src []T)

// Conversions. Integer widths convert by shifting (S16 <-> S32 keeps the top 16 bits);
// integers and floats convert by scaling with 2^15 or 2^31, with clipping on the way
// back. The x86/ARM targets are little endian, so same-format copies reinterpret memory.

const (
	scale16 = 1.0 / 32768
	scale32 = 1.0 / 2147483648
)

func asBytes[T Sample](p []T) []byte {
	if len(p) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&p[0])), len(p)*int(unsafe.Sizeof(p[0])))
}

func bytesAs[T any](b []byte, n int) []T {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
}

func copyDec[T Sample](dst []T, src []byte) { copy(asBytes(dst), src) }

func s16ToS32(dst []int32, src []byte) {
	s := bytesAs[int16](src, len(dst))
	dst = dst[:len(s)]
	for i, v := range s {
		dst[i] = int32(v) << 16
	}
}

func s32ToS16(dst []int16, src []byte) {
	s := bytesAs[int32](src, len(dst))
	dst = dst[:len(s)]
	for i, v := range s {
		dst[i] = int16(v >> 16)
	}
}

func s16ToF32(dst []float32, src []byte) {
	s := bytesAs[int16](src, len(dst))
	dst = dst[:len(s)]
	for i, v := range s {
		dst[i] = float32(v) * scale16
	}
}

func s32ToF32(dst []float32, src []byte) {
	s := bytesAs[int32](src, len(dst))
	dst = dst[:len(s)]
	for i, v := range s {
		dst[i] = float32(v) * scale32
	}
}

func f32ToS16(dst []int16, src []byte) {
	s := bytesAs[float32](src, len(dst))
	dst = dst[:len(s)]
	for i, v := range s {
		dst[i] = clip16(v)
	}
}

func f32ToS32(dst []int32, src []byte) {
	s := bytesAs[float32](src, len(dst))
	dst = dst[:len(s)]
	for i, v := range s {
		dst[i] = clip32(v)
	}
}

// clip16 scales, saturates and rounds (half up: the offset keeps the value positive,
// so truncation is floor).
func clip16(v float32) int16 {
	x := v*32768 + 32768.5
	if x < 0.5 {
		x = 0.5
	}
	if x > 65535.5 {
		x = 65535.5
	}
	return int16(int32(x) - 32768)
}

// clip32 is clip16 for 32 bits, in float64 (float32 cannot hold 2^31-1).
func clip32(v float32) int32 {
	x := float64(v)*2147483648 + 2147483648.5
	if x < 0.5 {
		x = 0.5
	}
	if x > 4294967295.5 {
		x = 4294967295.5
	}
	return int32(int64(x) - 2147483648)
}

// newDecoder returns the conversion from bytes of format f into T.
func newDecoder[T Sample](f SampleFormat) decoder[T] {
	var fn any
	switch to := formatOf[T](); {
	case f == to:
		return copyDec[T]
	case f == S16 && to == S32:
		fn = s16ToS32
	case f == S32 && to == S16:
		fn = s32ToS16
	case f == S16 && to == F32:
		fn = s16ToF32
	case f == S32 && to == F32:
		fn = s32ToF32
	case f == F32 && to == S16:
		fn = f32ToS16
	case f == F32 && to == S32:
		fn = f32ToS32
	default:
		panic("BUG: audio: no decoder for " + f.String())
	}
	return decoder[T](fn.(func([]T, []byte)))
}

// newEncoder returns the conversion from T into bytes of format f.
func newEncoder[T Sample](f SampleFormat) encoder[T] {
	to := formatOf[T]()
	if f == to {
		return func(dst []byte, src []T) { copy(dst, asBytes(src)) }
	}
	var fn any
	switch {
	case to == S16 && f == S32:
		fn = func(dst []byte, src []int16) { s16ToS32(bytesAs[int32](dst, len(src)), asBytes(src)) }
	case to == S32 && f == S16:
		fn = func(dst []byte, src []int32) { s32ToS16(bytesAs[int16](dst, len(src)), asBytes(src)) }
	case to == F32 && f == S16:
		fn = func(dst []byte, src []float32) { f32ToS16(bytesAs[int16](dst, len(src)), asBytes(src)) }
	case to == F32 && f == S32:
		fn = func(dst []byte, src []float32) { f32ToS32(bytesAs[int32](dst, len(src)), asBytes(src)) }
	case to == S16 && f == F32:
		fn = func(dst []byte, src []int16) { s16ToF32(bytesAs[float32](dst, len(src)), asBytes(src)) }
	case to == S32 && f == F32:
		fn = func(dst []byte, src []int32) { s32ToF32(bytesAs[float32](dst, len(src)), asBytes(src)) }
	default:
		panic("BUG: audio: no encoder for " + f.String())
	}
	return encoder[T](fn.(func([]byte, []T)))
}
