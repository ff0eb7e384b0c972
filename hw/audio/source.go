package audio

import "context"

// Source delivers interleaved frames of samples of type T: a capture device or a WAV
// file.
type Source[T Sample] interface {
	// Format is the stream's rate, channel count and native sample format.
	Format() Format
	// Read blocks until at least one whole frame is available (or ctx ends), fills p
	// with whole frames and returns the number of samples. A file returns io.EOF at its
	// end; a device never ends before Close (ErrClosed).
	Read(ctx context.Context, p []T) (int, error)
	Close() error
}

// Sink takes interleaved frames of samples of type T: a playback device or a WAV file.
type Sink[T Sample] interface {
	Format() Format
	// Write blocks until all whole frames of p are taken (or ctx ends) and returns the
	// number of samples taken.
	Write(ctx context.Context, p []T) (int, error)
	Close() error
}

// Flusher is a Sink that can drop what it has queued (a playback device: barge-in).
type Flusher interface {
	Flush(ctx context.Context) error
}

var (
	_ Flusher         = (*Playback[float32])(nil)
	_ Source[float32] = (*WAVSource[float32])(nil)
	_ Sink[int16]     = (*WAVSink[int16])(nil)
	_ Source[float32] = (*Capture[float32])(nil)
	_ Sink[int32]     = (*Playback[int32])(nil)
)
