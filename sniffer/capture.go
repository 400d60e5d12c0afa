package sniffer

import "io"

// Options shape a capture. The zero value captures everything, in
// promiscuous mode, with the defaults below.
type Options struct {
	// Filter selects the frames to keep, in the kernel.
	Filter Filter
	// Snaplen is the most bytes kept of a frame (default 262144, what
	// libpcap keeps: segmentation offload hands over frames far larger
	// than the MTU).
	Snaplen int
	// Buffer is how many packets wait for the consumer before the capture
	// drops (and counts) new ones (default 8192).
	Buffer int
	// RingFrames and RingBytes bound the frames kept for WritePcap
	// (default 100000 frames, 64 MiB).
	RingFrames int
	RingBytes  int
	// KernelRing is the size of the ring shared with the kernel; frames
	// wait there while the capture goroutine is not running (default 8
	// MiB).
	KernelRing int
	// NotPromiscuous leaves the interface's promiscuous mode alone. A
	// bridge's own interface then sees broadcast and multicast only,
	// never a unicast fortune between two hosts.
	NotPromiscuous bool
	// Write, when set, receives every captured frame as a pcap file, as
	// it is captured (tcpdump -w). It is flushed by Close, not closed.
	Write io.Writer
}

func (o *Options) defaults() {
	if o.Snaplen <= 0 {
		o.Snaplen = 262144
	}
	if o.Buffer <= 0 {
		o.Buffer = 8192
	}
	if o.RingFrames <= 0 {
		o.RingFrames = 100000
	}
	if o.RingBytes <= 0 {
		o.RingBytes = 64 << 20
	}
	if o.KernelRing <= 0 {
		o.KernelRing = 8 << 20
	}
}

// Stats counts what a capture did with the frames it was offered.
type Stats struct {
	// Seen counts frames read from the kernel and kept by the filter.
	Seen uint64
	// KernelDrops counts frames the kernel dropped because the capture
	// did not read them in time (its ring was full).
	KernelDrops uint64
	// BufferDrops counts frames read but not handed to the consumer,
	// whose buffer was full. They are still in the pcap ring.
	BufferDrops uint64
	// Delivered counts frames handed to the consumer's buffer.
	Delivered uint64
	// Ring is how many frames WritePcap would write now.
	Ring int
}
