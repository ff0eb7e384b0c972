// Package aec is the device's echo canceller, noise suppressor and automatic gain
// control: libspeexdsp's multi-delay block frequency-domain echo canceller (MDF) and its
// preprocessor, through cgo, in 10 ms frames of mono float32 audio.
//
// The far-end reference is what the speaker was actually given; [Reference] lines it up
// with the microphone by the device delays (the playback queue plus the ALSA playback and
// capture delays), and the adaptive filter covers what is left of the echo path (Tail).
// speexdsp was chosen over WebRTC's audio processing module (Debian's
// libwebrtc-audio-processing 0.3) by measurement on a synthetic room: the figures and
// the reasons are in NOTES.md ("Echo cancellation") and the comparison is
// internal/webrtcref (build tag webrtcaudio).
//
// Process allocates nothing; it must not be called from two goroutines at once. The
// canceller adds 10 ms of latency when the preprocessor runs (Canceller.Latency); Path,
// which converts the stream to the canceller's rate and back, adds its resamplers'
// delays (Path.Latency).
package aec
