//go:build !linux

package sniffer

import (
	"errors"
	"fmt"
	"io"
)

// Capture reads frames from one interface; only Linux has one (AF_PACKET).
type Capture struct{ ch chan Packet }

// Open fails: live capture needs Linux's packet sockets.
func Open(iface string, opts Options) (*Capture, error) {
	return nil, fmt.Errorf("capture on %s: %w", iface, errors.ErrUnsupported)
}

func (c *Capture) Interface() string           { return "" }
func (c *Capture) Filter() Filter              { return Filter{} }
func (c *Capture) Packets() <-chan Packet      { return c.ch }
func (c *Capture) Drain(dst []Packet) []Packet { return dst }
func (c *Capture) Done() <-chan struct{}       { return nil }
func (c *Capture) Err() error                  { return errors.ErrUnsupported }
func (c *Capture) Stats() Stats                { return Stats{} }
func (c *Capture) WritePcap(w io.Writer) error { return WritePcap(w, nil, 0) }
func (c *Capture) Close() error                { return nil }
