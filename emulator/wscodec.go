//go:build cgo

package emulator

import "github.com/edgevoice/edgevoice/rtc/opus"

// The WebSocket transport's Opus coders (libopus through rtc/opus, so cgo):
// wscodec_nocgo.go stands in when the emulator is built without cgo.

// wsEncoder codes 20 ms of 24 kHz input into one Opus packet.
type wsEncoder = opus.Encoder

// wsDecoder decodes a response's Opus packets back to 24 kHz samples.
type wsDecoder = opus.Decoder

// wsMaxPacket is a packet buffer that always suffices.
const wsMaxPacket = opus.MaxPacket

// newWSEncoder codes as the device's encoder codes (rtc/opus defaults: 32 kbit/s, FEC
// for 10 % loss), so the packet-size VAD sees what it sees on WebRTC: silence in ~17
// bytes, speech in 40-100 (without FEC libopus spends 32 bytes on digital silence).
func newWSEncoder() (wsEncoder, error) {
	return opus.NewEncoder(opus.EncoderOpts{SampleRate: wsRate, FrameDuration: wsFrameDur, Bitrate: wsOpusBitrate,
		Complexity: 5, FEC: true, PacketLossPerc: 10})
}

func newWSDecoder() (wsDecoder, error) { return opus.NewDecoder(wsRate) }
