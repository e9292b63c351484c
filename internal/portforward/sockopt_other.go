//go:build !linux

package portforward

import (
	"syscall"
	"time"
)

// setUserTimeout is a no-op where TCP_USER_TIMEOUT does not exist (macOS):
// there a dead network is noticed by the stream-creation timeout of the
// next local connection (handle.go) and by TCP retransmission giving up.
func setUserTimeout(time.Duration) func(network, address string, c syscall.RawConn) error {
	return nil
}
