//go:build !linux

package sniffer

import (
	"errors"
	"fmt"
)

// Open fails: live capture needs Linux's packet sockets.
func Open(iface string, opts Options) (*Capture, error) {
	return nil, fmt.Errorf("capture on %s: %w", iface, errors.ErrUnsupported)
}
