package opus

import (
	"errors"
	"fmt"
	"time"

	hopus "gopkg.in/hraban/opus.v2"
)

// Encoder turns one frame of mono PCM into one Opus packet.
type Encoder interface {
	// Encode codes exactly FrameSamples() samples of pcm into dst and returns the packet
	// length. dst should hold at least MaxPacket bytes. It does not allocate.
	Encode(pcm []float32, dst []byte) (int, error)
	// FrameSamples is the number of input samples per frame.
	FrameSamples() int
	// SampleRate is the input rate in Hz.
	SampleRate() int
}

// Decoder turns Opus packets back into mono PCM and covers lost packets.
type Decoder interface {
	// Decode decodes pkt into dst (room for at least 120 ms) and returns the sample count.
	Decode(pkt []byte, dst []float32) (int, error)
	// DecodeFEC recovers the frame lost just before next from next's in-band FEC data
	// (libopus falls back to concealment when there is none). It writes frameSamples
	// samples to dst.
	DecodeFEC(next []byte, dst []float32, frameSamples int) (int, error)
	// Conceal writes frameSamples samples of packet-loss concealment to dst.
	Conceal(dst []float32, frameSamples int) (int, error)
	// SampleRate is the output rate in Hz.
	SampleRate() int
}

// MaxPacket is a packet buffer size that always suffices (RFC 6716: 1275 bytes per frame).
const MaxPacket = 1500

// EncoderOpts configures NewEncoder. Start from DefaultEncoderOpts.
type EncoderOpts struct {
	SampleRate     int           // input rate: 8000, 12000, 16000, 24000 or 48000
	FrameDuration  time.Duration // 10, 20, 40 or 60 ms
	Bitrate        int           // bits per second, 6000..510000
	Complexity     int           // 0 (cheapest) .. 10 (best)
	FEC            bool          // in-band forward error correction
	PacketLossPerc int           // expected loss in percent (0..100); FEC needs it > 0
	// MaxBandwidthHz limits the coded audio band to that of a signal sampled at this rate
	// (8000, 12000, 16000, 24000 or 48000); 0 means no limit. A 48 kHz encoder with
	// MaxBandwidthHz 16000 codes wideband speech without a separate resampler.
	MaxBandwidthHz int
}

// DefaultEncoderOpts is 48 kHz, 20 ms, 32 kbit/s, complexity 5, FEC on for 10 % loss.
func DefaultEncoderOpts() EncoderOpts {
	return EncoderOpts{SampleRate: 48000, FrameDuration: 20 * time.Millisecond, Bitrate: 32000,
		Complexity: 5, FEC: true, PacketLossPerc: 10}
}

// ErrBadConfig is returned (wrapped) for an out-of-range option.
var ErrBadConfig = errors.New("opus: bad configuration")

func validRate(r int) bool {
	switch r {
	case 8000, 12000, 16000, 24000, 48000:
		return true
	}
	return false
}

func bandwidthFor(hz int) hopus.Bandwidth {
	switch hz {
	case 8000:
		return hopus.Narrowband
	case 12000:
		return hopus.Mediumband
	case 16000:
		return hopus.Wideband
	case 24000:
		return hopus.SuperWideband
	}
	return hopus.Fullband
}

type encoder struct {
	enc   *hopus.Encoder
	rate  int
	frame int
}

// NewEncoder returns a libopus encoder in VoIP mode configured by o.
func NewEncoder(o EncoderOpts) (Encoder, error) {
	if !validRate(o.SampleRate) {
		return nil, fmt.Errorf("%w: sample rate %d Hz (use 8000, 12000, 16000, 24000 or 48000)", ErrBadConfig, o.SampleRate)
	}
	switch o.FrameDuration {
	case 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond:
	default:
		return nil, fmt.Errorf("%w: frame duration %v (use 10ms, 20ms, 40ms or 60ms)", ErrBadConfig, o.FrameDuration)
	}
	if o.Bitrate < 6000 || o.Bitrate > 510000 {
		return nil, fmt.Errorf("%w: bitrate %d bit/s (use 6000..510000)", ErrBadConfig, o.Bitrate)
	}
	if o.Complexity < 0 || o.Complexity > 10 {
		return nil, fmt.Errorf("%w: complexity %d (use 0..10)", ErrBadConfig, o.Complexity)
	}
	if o.PacketLossPerc < 0 || o.PacketLossPerc > 100 {
		return nil, fmt.Errorf("%w: packet loss %d%% (use 0..100)", ErrBadConfig, o.PacketLossPerc)
	}
	if o.MaxBandwidthHz != 0 && !validRate(o.MaxBandwidthHz) {
		return nil, fmt.Errorf("%w: max bandwidth %d Hz (use 0, 8000, 12000, 16000, 24000 or 48000)", ErrBadConfig, o.MaxBandwidthHz)
	}
	enc, err := hopus.NewEncoder(o.SampleRate, 1, hopus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("opus: opus_encoder_create: %w", err)
	}
	steps := []struct {
		name string
		err  error
	}{
		{"SetBitrate", enc.SetBitrate(o.Bitrate)},
		{"SetComplexity", enc.SetComplexity(o.Complexity)},
		{"SetInBandFEC", enc.SetInBandFEC(o.FEC)},
		{"SetPacketLossPerc", enc.SetPacketLossPerc(o.PacketLossPerc)},
	}
	if o.MaxBandwidthHz != 0 {
		steps = append(steps, struct {
			name string
			err  error
		}{"SetMaxBandwidth", enc.SetMaxBandwidth(bandwidthFor(o.MaxBandwidthHz))})
	}
	for _, s := range steps {
		if s.err != nil {
			return nil, fmt.Errorf("opus: %s: %w", s.name, s.err)
		}
	}
	return &encoder{enc: enc, rate: o.SampleRate, frame: o.SampleRate * int(o.FrameDuration/time.Millisecond) / 1000}, nil
}

func (e *encoder) Encode(pcm []float32, dst []byte) (int, error) {
	if len(pcm) != e.frame {
		return 0, fmt.Errorf("opus: Encode: got %d samples, want one frame of %d", len(pcm), e.frame)
	}
	n, err := e.enc.EncodeFloat32(pcm, dst)
	if err != nil {
		return 0, fmt.Errorf("opus: opus_encode_float: %w", err)
	}
	return n, nil
}

func (e *encoder) FrameSamples() int { return e.frame }
func (e *encoder) SampleRate() int   { return e.rate }

type decoder struct {
	dec  *hopus.Decoder
	rate int
}

// NewDecoder returns a mono libopus decoder at sampleRate (8, 12, 16, 24 or 48 kHz).
func NewDecoder(sampleRate int) (Decoder, error) {
	if !validRate(sampleRate) {
		return nil, fmt.Errorf("%w: sample rate %d Hz (use 8000, 12000, 16000, 24000 or 48000)", ErrBadConfig, sampleRate)
	}
	d, err := hopus.NewDecoder(sampleRate, 1)
	if err != nil {
		return nil, fmt.Errorf("opus: opus_decoder_create: %w", err)
	}
	return &decoder{dec: d, rate: sampleRate}, nil
}

func (d *decoder) SampleRate() int { return d.rate }

func (d *decoder) Decode(pkt []byte, dst []float32) (int, error) {
	n, err := d.dec.DecodeFloat32(pkt, dst)
	if err != nil {
		return 0, fmt.Errorf("opus: opus_decode_float: %w", err)
	}
	return n, nil
}

func (d *decoder) DecodeFEC(next []byte, dst []float32, frameSamples int) (int, error) {
	if frameSamples <= 0 || frameSamples > len(dst) {
		return 0, fmt.Errorf("opus: DecodeFEC: frame of %d samples does not fit %d", frameSamples, len(dst))
	}
	// libopus takes the frame size from the buffer's capacity: cap it exactly.
	if err := d.dec.DecodeFECFloat32(next, dst[:frameSamples:frameSamples]); err != nil {
		return 0, fmt.Errorf("opus: opus_decode_float(fec): %w", err)
	}
	return frameSamples, nil
}

func (d *decoder) Conceal(dst []float32, frameSamples int) (int, error) {
	if frameSamples <= 0 || frameSamples > len(dst) {
		return 0, fmt.Errorf("opus: Conceal: frame of %d samples does not fit %d", frameSamples, len(dst))
	}
	if err := d.dec.DecodePLCFloat32(dst[:frameSamples:frameSamples]); err != nil {
		return 0, fmt.Errorf("opus: opus_decode_float(plc): %w", err)
	}
	return frameSamples, nil
}

// Version is the libopus version string.
func Version() string { return hopus.Version() }
