// Package opus is the Opus codec of the rtc session: libopus (through
// gopkg.in/hraban/opus.v2, cgo) behind two small interfaces, Encoder and Decoder.
//
// # Frames
//
// The encoder takes one frame of mono float32 PCM per call (20 ms by default, at 48, 24,
// 16, 12 or 8 kHz) and writes one Opus packet into a caller buffer; it runs in VoIP mode
// with in-band FEC on and a configurable bitrate and complexity. Neither Encode nor
// Decode allocates.
//
// The decoder produces mono float32 at its own rate (libopus downmixes a stereo stream).
// When a packet is lost, the caller asks for FEC recovery from the packet after the gap
// (DecodeFEC, when HasFEC says that packet carries redundancy) and for packet-loss
// concealment (Conceal) otherwise.
//
// # Build tag
//
// hraban/opus also wraps libopusfile (Ogg stream decoding), which this project does not
// use and which is not installed: every build, vet or test that includes this package
// needs -tags nolibopusfile (build/mk/rtc.mk adds it to GOFLAGS).
package opus
