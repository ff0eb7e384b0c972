package keyd

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// peerUID returns the uid of the process at the other end of a unix socket (SO_PEERCRED).
func peerUID(c net.Conn) (uint32, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0, errors.New("keyd: peer check needs a unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("keyd: SyscallConn: %w", err)
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return 0, fmt.Errorf("keyd: Control: %w", err)
	}
	if cerr != nil {
		return 0, fmt.Errorf("keyd: getsockopt SO_PEERCRED: %w", cerr)
	}
	return cred.Uid, nil
}
