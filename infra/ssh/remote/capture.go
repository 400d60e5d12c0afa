//go:build linux

package remote

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/ztlab/zt-lab/sniffer"
)

// CaptureFlush bounds how long a captured frame waits on the host before
// it goes out to the controller.
const CaptureFlush = 20 * time.Millisecond

// DropsEvery is how often a capture reports the kernel's drops, when
// they changed.
const DropsEvery = 500 * time.Millisecond

// Capture captures on the interface that holds addr and writes every
// frame to w as a pcap stream, until ctx ends or stdin ends (the
// controller closed the session). It keeps only the lab's traffic: IPv4
// between two addresses of lab (and ARP among them), never TCP or UDP on
// notPort (the SSH connection that carries the stream itself), and it
// leaves the card's promiscuous mode alone, for the host's own traffic is
// what it captures. It reports how many frames the kernel dropped to
// report (read it with Drops).
func Capture(ctx context.Context, addr netip.Addr, lab netip.Prefix, notPort uint16, stdin io.Reader, w, report io.Writer) error {
	if !lab.IsValid() || !lab.Contains(addr) {
		return fmt.Errorf("capture: the lab's range %v does not hold the lab address %s", lab, addr)
	}
	iface, err := InterfaceOf(addr)
	if err != nil {
		return err
	}
	c, err := sniffer.Open(iface, sniffer.Options{
		Filter:         sniffer.Filter{NotPort: notPort, Net: lab},
		NotPromiscuous: true,
		Write:          w,
		FlushEvery:     CaptureFlush,
		Buffer:         1,
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		cancel()
	}()
	// The frames go out through the pcap stream; the in-process buffer is
	// not read.
	go func() {
		for range c.Packets() {
		}
	}()
	var told uint64
	tell := func() {
		if n := c.Stats().KernelDrops; n != told {
			told = n
			reportDrops(report, n)
		}
	}
	tick := time.NewTicker(DropsEvery)
	defer tick.Stop()
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case <-c.Done():
			break wait
		case <-tick.C:
			tell()
		}
	}
	tell()
	cerr := c.Close()
	if err := c.Err(); err != nil {
		return err
	}
	return cerr
}

// InterfaceOf names the interface that holds addr.
func InterfaceOf(addr netip.Addr) (string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, ifi := range ifs {
		as, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range as {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == addr.Unmap() {
					return ifi.Name, nil
				}
			}
		}
	}
	return "", fmt.Errorf("no interface on this host has the lab address %s: check lab_address in the inventory", addr)
}
