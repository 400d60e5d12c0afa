package sniffer

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
)

// Options shape a capture. The zero value captures everything, in
// promiscuous mode, with the defaults below.
type Options struct {
	// Filter selects the frames to keep: in the kernel for Open, as
	// they are read for OpenStream.
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
	// wait there while the capture goroutine is not running (default 2
	// MiB: at the lab's busiest, 1,000 fetches as fast as they go, about
	// 9 MB of frames a second, a quarter of a second of them).
	KernelRing int
	// NotPromiscuous leaves the interface's promiscuous mode alone. A
	// bridge's own interface then sees broadcast and multicast only,
	// never a unicast fortune between two hosts.
	NotPromiscuous bool
	// Write, when set, receives every captured frame as a pcap file, as
	// it is captured (tcpdump -w). It is flushed by Close, not closed.
	Write io.Writer
	// FlushEvery, when set, writes out the frames waiting for Write every
	// FlushEvery, whether more come or not, and the pcap header at once:
	// for a pcap stream to a pipe, whose reader then sees a frame about
	// FlushEvery after it was captured at the latest. Without it, frames
	// go out in blocks of 256 KiB, and the last ones at Close.
	FlushEvery time.Duration
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
		o.KernelRing = 2 << 20
	}
}

// Stats counts what a capture did with the frames it was offered.
type Stats struct {
	// Seen counts frames read from the kernel (or the stream) and kept
	// by the filter.
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

// Capture reads frames on its own goroutine, from one interface (Open)
// or from a pcap stream (OpenStream), and hands them to its consumer
// through a bounded buffer.
type Capture struct {
	iface string
	opts  Options
	src   source
	ch    chan Packet
	ring  *ring
	tee   *tee // nil without Options.Write
	done  chan struct{}
	stop  atomic.Bool

	seen, delivered, bufferDrops atomic.Uint64

	closeOnce sync.Once
	closeErr  error

	mu          sync.Mutex // guards below
	kernelDrops uint64
	err         error
	closed      bool

	// slab is carved into packet buffers so that frames cost an
	// allocation per slab, not per frame; a slab is never reused, so
	// consumers may keep the frames.
	slab []byte
}

const slabSize = 1 << 20

// source is where a capture's frames come from: a packet socket or a
// pcap stream.
type source interface {
	// read returns the next frame the capture's filter keeps, valid until
	// the next read; errIdle when none came for a while, so that the
	// capture notices Close; io.EOF at the end of a stream.
	read() ([]byte, gopacket.CaptureInfo, error)
	// kernelDrops is how many frames the kernel dropped so far. The
	// capture's mu is held.
	kernelDrops() uint64
	// interrupt makes a read in progress return soon. Close calls it
	// before it waits for the capture's goroutine.
	interrupt() error
	// close releases the source once no read is in progress.
	close()
}

// errIdle is a source's read that found no frame in time.
var errIdle = errors.New("no frame yet")

// start runs a capture of src.
func start(name string, opts Options, src source) (*Capture, error) {
	c := &Capture{
		iface: name,
		opts:  opts,
		src:   src,
		ch:    make(chan Packet, opts.Buffer),
		ring:  newRing(opts.RingFrames, opts.RingBytes),
		done:  make(chan struct{}),
	}
	if opts.Write != nil {
		fail := func(err error) { c.fail(fmt.Errorf("capture on %s: %w", name, err)) }
		var err error
		if c.tee, err = newTee(opts.Write, opts.Snaplen, opts.FlushEvery, fail); err != nil {
			src.interrupt()
			src.close()
			return nil, fmt.Errorf("capture on %s: %w", name, err)
		}
	}
	go c.run()
	return c, nil
}

// Interface is the name of the interface being captured, or the name
// OpenStream was given.
func (c *Capture) Interface() string { return c.iface }

// Filter is the capture's filter.
func (c *Capture) Filter() Filter { return c.opts.Filter }

// Packets delivers captured frames. It is closed when the capture ends
// (Close, or an error: see Err).
func (c *Capture) Packets() <-chan Packet { return c.ch }

// Drain appends to dst the packets waiting in the buffer, without
// waiting for more: a UI calls it on its tick.
func (c *Capture) Drain(dst []Packet) []Packet {
	for {
		select {
		case p, ok := <-c.ch:
			if !ok {
				return dst
			}
			dst = append(dst, p)
		default:
			return dst
		}
	}
}

// Done is closed when the capture goroutine has ended.
func (c *Capture) Done() <-chan struct{} { return c.done }

// Err says why the capture ended on its own, or why writing
// Options.Write failed; nil while all goes well, at the end of a stream,
// and when Close ended the capture.
func (c *Capture) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// fail records err, unless an earlier error is recorded: the first one
// says what went wrong.
func (c *Capture) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

// Stats returns the capture's counters so far.
func (c *Capture) Stats() Stats {
	c.mu.Lock()
	if !c.closed {
		c.kernelDrops = c.src.kernelDrops()
	}
	kd := c.kernelDrops
	c.mu.Unlock()
	return Stats{
		Seen:        c.seen.Load(),
		KernelDrops: kd,
		BufferDrops: c.bufferDrops.Load(),
		Delivered:   c.delivered.Load(),
		Ring:        c.ring.len(),
	}
}

// WritePcap writes the frames kept in the capture's ring (the most recent
// ones, up to Options.RingFrames and RingBytes) as a pcap file.
func (c *Capture) WritePcap(w io.Writer) error {
	return WritePcap(w, c.ring.snapshot(nil), c.opts.Snaplen)
}

// Close stops the capture, waits for its goroutine, closes Packets and
// flushes Options.Write. Frames already buffered can still be drained.
// Calling it again returns what the first call did.
func (c *Capture) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.shutdown() })
	return c.closeErr
}

func (c *Capture) shutdown() error {
	c.stop.Store(true)
	ierr := c.src.interrupt()
	<-c.done
	var werr error
	if c.tee != nil {
		werr = c.tee.close()
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	c.kernelDrops = c.src.kernelDrops()
	c.closed = true
	c.src.close()
	if werr != nil {
		return fmt.Errorf("capture on %s: %w", c.iface, werr)
	}
	if ierr != nil {
		return fmt.Errorf("capture on %s: close: %w", c.iface, ierr)
	}
	return nil
}

// run reads frames until Close, the end of the stream or a read error.
func (c *Capture) run() {
	defer close(c.done)
	defer close(c.ch)
	var seq uint64
	for !c.stop.Load() {
		data, ci, err := c.src.read()
		if err != nil {
			if errors.Is(err, errIdle) {
				continue
			}
			if !c.stop.Load() && !errors.Is(err, io.EOF) {
				c.fail(fmt.Errorf("capture on %s: %w", c.iface, err))
			}
			return
		}
		seq++
		c.deliver(Packet{Seq: seq, Time: ci.Timestamp, Data: c.keep(data), Length: ci.Length})
	}
}

// deliver counts p, keeps it in the ring, writes it to Options.Write and
// hands it to the consumer if its buffer has room.
func (c *Capture) deliver(p Packet) {
	c.seen.Add(1)
	c.ring.add(p)
	if c.tee != nil {
		c.tee.write(p)
	}
	select {
	case c.ch <- p:
		c.delivered.Add(1)
	default:
		c.bufferDrops.Add(1)
	}
}

// keep copies a frame out of the source's buffer into the current slab.
func (c *Capture) keep(data []byte) []byte {
	n := len(data)
	if len(c.slab) < n {
		c.slab = make([]byte, max(slabSize, n))
	}
	b := c.slab[:n:n]
	c.slab = c.slab[n:]
	copy(b, data)
	return b
}
