//go:build !linux

package keyd

import (
	"errors"
	"net"
)

// peerUID is only implemented on Linux; elsewhere every peer is refused.
func peerUID(net.Conn) (uint32, error) {
	return 0, errors.New("keyd: peer credentials are only checked on Linux; the key socket refuses all peers here")
}
