package audio

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// WAV format tags.
const (
	wavPCM        = 1
	wavFloat      = 3
	wavExtensible = 0xFFFE
)

// WAVInfo is what the header of a WAV file says.
type WAVInfo struct {
	Format Format
	Frames int64 // frames in the data chunk; -1 when the header does not say (streamed file)
}

// ReadWAVHeader parses a RIFF/WAVE header up to the start of the sample data. PCM
// 16/32-bit, IEEE float 32-bit and WAVE_FORMAT_EXTENSIBLE of those are accepted, 1-8
// channels.
func ReadWAVHeader(r io.Reader) (WAVInfo, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return WAVInfo{}, fmt.Errorf("audio: wav: reading RIFF header: %w", err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return WAVInfo{}, errors.New("audio: wav: not a RIFF/WAVE file")
	}
	var info WAVInfo
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return WAVInfo{}, fmt.Errorf("audio: wav: no data chunk: %w", err)
		}
		id := string(ch[0:4])
		size := binary.LittleEndian.Uint32(ch[4:8])
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return WAVInfo{}, fmt.Errorf("audio: wav: bad fmt chunk size %d", size)
			}
			b := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, b); err != nil {
				return WAVInfo{}, fmt.Errorf("audio: wav: reading fmt chunk: %w", err)
			}
			tag := binary.LittleEndian.Uint16(b[0:2])
			channels := int(binary.LittleEndian.Uint16(b[2:4]))
			rate := int(binary.LittleEndian.Uint32(b[4:8]))
			bits := int(binary.LittleEndian.Uint16(b[14:16]))
			if tag == wavExtensible {
				if size < 40 {
					return WAVInfo{}, errors.New("audio: wav: short WAVE_FORMAT_EXTENSIBLE chunk")
				}
				tag = binary.LittleEndian.Uint16(b[24:26]) // first two bytes of the subformat GUID
			}
			var sf SampleFormat
			switch {
			case tag == wavPCM && bits == 16:
				sf = S16
			case tag == wavPCM && bits == 32:
				sf = S32
			case tag == wavFloat && bits == 32:
				sf = F32
			default:
				return WAVInfo{}, fmt.Errorf("audio: wav: unsupported encoding (format tag %d, %d bits); convert to 16/32-bit PCM or 32-bit float, e.g. with sox", tag, bits)
			}
			info.Format = Format{Rate: rate, Channels: channels, Sample: sf}
			if err := info.Format.Validate(); err != nil {
				return WAVInfo{}, fmt.Errorf("audio: wav: %w", err)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return WAVInfo{}, errors.New("audio: wav: data chunk before fmt chunk")
			}
			info.Frames = -1
			if size != 0 && size != 0xFFFFFFFF {
				info.Frames = int64(size) / int64(info.Format.FrameBytes())
			}
			return info, nil
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size)+int64(size&1)); err != nil {
				return WAVInfo{}, fmt.Errorf("audio: wav: skipping %q chunk: %w", id, err)
			}
		}
	}
}

// wavHeader returns a 44-byte (PCM, <= 2 channels, 16 bit) or 80-byte
// (WAVE_FORMAT_EXTENSIBLE) header for dataBytes of sample data.
func wavHeader(f Format, dataBytes uint32) []byte {
	bits := f.Sample.Bytes() * 8
	tag := uint16(wavPCM)
	if f.Sample == F32 {
		tag = wavFloat
	}
	ext := f.Channels > 2 || bits > 16
	fmtSize := uint32(16)
	if ext {
		fmtSize = 40
	}
	b := make([]byte, 0, 80)
	le := binary.LittleEndian
	b = append(b, "RIFF"...)
	riff := 4 + 8 + fmtSize + 8 + dataBytes
	if f.Sample == F32 || ext {
		riff += 12 // fact chunk
	}
	b = le.AppendUint32(b, riff)
	b = append(b, "WAVEfmt "...)
	b = le.AppendUint32(b, fmtSize)
	if ext {
		b = le.AppendUint16(b, wavExtensible)
	} else {
		b = le.AppendUint16(b, tag)
	}
	b = le.AppendUint16(b, uint16(f.Channels))
	b = le.AppendUint32(b, uint32(f.Rate))
	b = le.AppendUint32(b, uint32(f.Rate*f.FrameBytes()))
	b = le.AppendUint16(b, uint16(f.FrameBytes()))
	b = le.AppendUint16(b, uint16(bits))
	if ext {
		b = le.AppendUint16(b, 22)           // extension size
		b = le.AppendUint16(b, uint16(bits)) // valid bits
		b = le.AppendUint32(b, 0)            // channel mask: not assigned to speakers (mic array)
		b = le.AppendUint16(b, tag)          // subformat GUID xxxxxxxx-0000-0010-8000-00aa00389b71
		b = append(b, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71)
	}
	if f.Sample == F32 || ext {
		b = append(b, "fact"...)
		b = le.AppendUint32(b, 4)
		b = le.AppendUint32(b, dataBytes/uint32(f.FrameBytes()))
	}
	b = append(b, "data"...)
	b = le.AppendUint32(b, dataBytes)
	return b
}

// pacer releases frames at real time: frame n is due at start + n/rate.
type pacer struct {
	rate  int
	start time.Time
	done  int64 // frames released
}

// wait blocks until frames more frames are due (or ctx ends).
func (p *pacer) wait(ctx context.Context, frames int) error {
	now := time.Now()
	if p.start.IsZero() {
		p.start = now
	}
	due := p.start.Add(time.Duration((p.done + int64(frames)) * int64(time.Second) / int64(p.rate)))
	if d := due.Sub(now); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	p.done += int64(frames)
	return nil
}

// WAVSource reads interleaved frames from a WAV file. It is a [Source].
type WAVSource[T Sample] struct {
	info  WAVInfo
	r     *bufio.Reader
	c     io.Closer
	dec   decoder[T]
	buf   []byte
	left  int64 // frames left in the data chunk, -1 = until EOF
	paced bool
	pace  pacer
}

// OpenWAVSource opens a WAV file. With paced set, Read delivers frames no faster than
// the file's sample rate (real time, for the simulated appliance); otherwise as fast as
// the caller reads (tests, demo).
func OpenWAVSource[T Sample](path string, paced bool) (*WAVSource[T], error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audio: os.Open: %w", err)
	}
	s, err := NewWAVSource[T](f, paced)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	s.c = f
	return s, nil
}

// NewWAVSource reads a WAV stream from r (its header first).
func NewWAVSource[T Sample](r io.Reader, paced bool) (*WAVSource[T], error) {
	br := bufio.NewReaderSize(r, 64<<10)
	info, err := ReadWAVHeader(br)
	if err != nil {
		return nil, err
	}
	return &WAVSource[T]{
		info: info, r: br, dec: newDecoder[T](info.Format.Sample),
		left: info.Frames, paced: paced, pace: pacer{rate: info.Format.Rate},
	}, nil
}

// Format is the file's format (the samples Read returns are converted to T).
func (s *WAVSource[T]) Format() Format { return s.info.Format }

// Info is the parsed header.
func (s *WAVSource[T]) Info() WAVInfo { return s.info }

// Read fills p with whole frames (len(p) is rounded down to a multiple of the channel
// count) and returns the number of samples. At the end of the data it returns io.EOF.
func (s *WAVSource[T]) Read(ctx context.Context, p []T) (int, error) {
	ch := s.info.Format.Channels
	frames := len(p) / ch
	if frames == 0 {
		return 0, nil
	}
	if s.left == 0 {
		return 0, io.EOF
	}
	if s.left > 0 && int64(frames) > s.left {
		frames = int(s.left)
	}
	fb := s.info.Format.FrameBytes()
	if n := frames * fb; cap(s.buf) < n {
		s.buf = make([]byte, n)
	}
	b := s.buf[:frames*fb]
	n, err := io.ReadFull(s.r, b)
	got := n / fb
	if got == 0 {
		if err == nil || errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		if err == io.EOF {
			s.left = 0
		}
		return 0, err
	}
	if s.paced {
		if werr := s.pace.wait(ctx, got); werr != nil {
			return 0, werr
		}
	}
	s.dec(p[:got*ch], b[:got*fb])
	if s.left > 0 {
		s.left -= int64(got)
	}
	return got * ch, nil
}

// Close closes the file (if OpenWAVSource opened it).
func (s *WAVSource[T]) Close() error {
	if s.c != nil {
		return s.c.Close()
	}
	return nil
}

// WAVSink writes interleaved frames to a WAV file. It is a [Sink].
type WAVSink[T Sample] struct {
	f      Format
	w      io.WriteSeeker
	c      io.Closer
	bw     *bufio.Writer
	enc    encoder[T]
	buf    []byte
	bytes  int64
	hdrLen int
	paced  bool
	pace   pacer
	closed bool
}

// CreateWAVSink creates (truncates) path and writes a WAV file of format f. The header's
// sizes are fixed up on Close. With paced set, Write takes frames no faster than real
// time (a simulated speaker).
func CreateWAVSink[T Sample](path string, f Format, paced bool) (*WAVSink[T], error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	file, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("audio: os.Create: %w", err)
	}
	s, err := NewWAVSink[T](file, f, paced)
	if err != nil {
		file.Close()
		return nil, err
	}
	s.c = file
	return s, nil
}

// NewWAVSink writes a WAV stream of format f to w; Close seeks back to fix the header.
func NewWAVSink[T Sample](w io.WriteSeeker, f Format, paced bool) (*WAVSink[T], error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	h := wavHeader(f, 0)
	if _, err := w.Write(h); err != nil {
		return nil, fmt.Errorf("audio: wav: writing header: %w", err)
	}
	return &WAVSink[T]{f: f, w: w, bw: bufio.NewWriterSize(w, 64<<10), enc: newEncoder[T](f.Sample),
		hdrLen: len(h), paced: paced, pace: pacer{rate: f.Rate}}, nil
}

// Format is the file's format.
func (s *WAVSink[T]) Format() Format { return s.f }

// Write appends the whole frames of p and returns the number of samples taken.
func (s *WAVSink[T]) Write(ctx context.Context, p []T) (int, error) {
	if s.closed {
		return 0, ErrClosed
	}
	frames := len(p) / s.f.Channels
	n := frames * s.f.Channels
	if n == 0 {
		return 0, nil
	}
	if s.paced {
		if err := s.pace.wait(ctx, frames); err != nil {
			return 0, err
		}
	}
	nb := n * s.f.Sample.Bytes()
	if cap(s.buf) < nb {
		s.buf = make([]byte, nb)
	}
	s.enc(s.buf[:nb], p[:n])
	if _, err := s.bw.Write(s.buf[:nb]); err != nil {
		return 0, fmt.Errorf("audio: wav: write: %w", err)
	}
	s.bytes += int64(nb)
	return n, nil
}

// Frames is the number of frames written so far.
func (s *WAVSink[T]) Frames() int64 { return s.bytes / int64(s.f.FrameBytes()) }

// Close flushes the data, writes the final sizes into the header and closes the file.
func (s *WAVSink[T]) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.bw.Flush()
	if err == nil {
		size := s.bytes
		if size > 0xFFFFFFFF-int64(s.hdrLen) {
			size = 0xFFFFFFFF - int64(s.hdrLen) // too long for RIFF; readers then read to EOF
		}
		if _, err = s.w.Seek(0, io.SeekStart); err == nil {
			_, err = s.w.Write(wavHeader(s.f, uint32(size)))
		}
		if err != nil {
			err = fmt.Errorf("audio: wav: fixing header: %w", err)
		}
	}
	if s.c != nil {
		if cerr := s.c.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("audio: wav: close: %w", cerr)
		}
	}
	return err
}

// Latency reports no device buffering: a file is read as fast as asked (or paced in
// whole reads), it has no period of its own.
func (s *WAVSource[T]) Latency() Latency {
	return Latency{Reason: "a WAV file: no device buffering"}
}

// Latency reports no device buffering: what is written is in the file at once.
func (s *WAVSink[T]) Latency() Latency {
	return Latency{Reason: "a WAV file: no device buffering"}
}
