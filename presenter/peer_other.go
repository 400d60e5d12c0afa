//go:build !linux

package presenter

import "net"

// checkPeer trusts the private directory and the 0600 socket: outside
// Linux the system says nothing more here about who is calling.
func checkPeer(*net.UnixConn) error { return nil }
