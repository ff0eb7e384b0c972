//go:build !cgo

package emulator

import "errors"

// Without cgo there is no libopus: the emulator serves WebRTC calls and the mint
// endpoints as always, and refuses WebSocket calls with errWSNoCgo (the socket closes
// with "emulator: no Opus coder" and the error is logged). This build exists so that
// the emulator's other tests, and the tests of the packages that use it as their
// service (provisiond, the broker), run under qemu-user (make test-arm), where cgo
// is not cross-built.

var errWSNoCgo = errors.New("emulator: built without cgo (CGO_ENABLED=0): the WebSocket transport codes audio with libopus; build with cgo")

type wsEncoder interface {
	Encode(pcm []float32, dst []byte) (int, error)
}

type wsDecoder interface {
	Decode(pkt []byte, dst []float32) (int, error)
}

const wsMaxPacket = 1500

func newWSEncoder() (wsEncoder, error) { return nil, errWSNoCgo }

func newWSDecoder() (wsDecoder, error) { return nil, errWSNoCgo }
