package sniffer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	"golang.org/x/net/bpf"
)

// Capture reads frames from one interface on its own goroutine.
type Capture struct {
	iface string
	opts  Options
	tp    *afpacket.TPacket
	ch    chan Packet
	ring  *ring
	done  chan struct{}
	stop  atomic.Bool
	wg    sync.WaitGroup

	// filterVM re-checks frames received before the kernel filter was
	// attached (between bind and SO_ATTACH_FILTER every frame is queued).
	filterVM   *bpf.VM
	attachedAt time.Time

	seen, delivered, bufferDrops atomic.Uint64

	mu          sync.Mutex // guards below
	kernelDrops uint64
	err         error
	closed      bool
	pcap        *PcapWriter
	pcapBuf     *bufio.Writer

	// slab is carved into packet buffers so that frames cost an
	// allocation per slab, not per frame; a slab is never reused, so
	// consumers may keep the frames.
	slab []byte
}

const slabSize = 1 << 20

// pollTimeout bounds how long Close waits for the capture goroutine.
const pollTimeout = 50 * time.Millisecond

// Open starts capturing on the named interface of the calling process's
// network namespace.
func Open(iface string, opts Options) (*Capture, error) {
	opts.defaults()
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("capture on %s: %w", iface, err)
	}
	prog, err := opts.Filter.Program(uint32(opts.Snaplen))
	if err != nil {
		return nil, fmt.Errorf("capture on %s: %w", iface, err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		return nil, fmt.Errorf("capture on %s: filter: %w", iface, err)
	}
	kernelProg := prog
	if ifi.Flags&net.FlagLoopback != 0 {
		kernelProg = skipOutgoing(prog)
	}
	raw, err := bpf.Assemble(kernelProg)
	if err != nil {
		return nil, fmt.Errorf("capture on %s: assemble filter: %w", iface, err)
	}

	// Blocks hold whole frames in TPACKET_V3, so a block must fit the
	// largest frame offload can produce.
	const blockSize = 1 << 20
	blocks := max(opts.KernelRing/blockSize, 2)
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(iface),
		afpacket.TPacketVersion3,
		afpacket.OptFrameSize(1<<16),
		afpacket.OptBlockSize(blockSize),
		afpacket.OptNumBlocks(blocks),
		afpacket.OptBlockTimeout(10*time.Millisecond),
		afpacket.OptPollTimeout(pollTimeout),
	)
	if err != nil {
		return nil, fmt.Errorf("capture on %s: open packet socket: %w", iface, err)
	}
	if err := tp.SetBPF(raw); err != nil {
		tp.Close()
		return nil, fmt.Errorf("capture on %s: attach filter %q: %w", iface, opts.Filter, err)
	}
	attached := time.Now()
	if !opts.NotPromiscuous {
		if err := tp.SetPromiscuous(true); err != nil {
			tp.Close()
			return nil, fmt.Errorf("capture on %s: promiscuous mode: %w", iface, err)
		}
	}
	c := &Capture{
		iface:      iface,
		opts:       opts,
		tp:         tp,
		ch:         make(chan Packet, opts.Buffer),
		ring:       newRing(opts.RingFrames, opts.RingBytes),
		done:       make(chan struct{}),
		filterVM:   vm,
		attachedAt: attached,
	}
	if opts.Write != nil {
		c.pcapBuf = bufio.NewWriterSize(opts.Write, 256<<10)
		c.pcap, err = NewPcapWriter(c.pcapBuf, opts.Snaplen)
		if err != nil {
			tp.Close()
			return nil, fmt.Errorf("capture on %s: %w", iface, err)
		}
	}
	c.wg.Add(1)
	go c.run()
	return c, nil
}

// Interface is the name of the interface being captured.
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

// Err says why the capture ended on its own; nil while it runs and after
// Close.
func (c *Capture) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Stats returns the capture's counters so far.
func (c *Capture) Stats() Stats {
	c.mu.Lock()
	if !c.closed {
		c.pollKernelStats()
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

// pollKernelStats adds the kernel's counters (which reset when read) to
// the capture's. c.mu is held.
func (c *Capture) pollKernelStats() {
	_, v3, err := c.tp.SocketStats()
	if err != nil {
		return
	}
	// afpacket accumulates them for us.
	c.kernelDrops = uint64(v3.Drops())
}

// WritePcap writes the frames kept in the capture's ring (the most recent
// ones, up to Options.RingFrames and RingBytes) as a pcap file.
func (c *Capture) WritePcap(w io.Writer) error {
	return WritePcap(w, c.ring.snapshot(nil), c.opts.Snaplen)
}

// Close stops the capture, waits for its goroutine, closes Packets and
// flushes Options.Write. Frames already buffered can still be drained.
func (c *Capture) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	c.stop.Store(true)
	c.wg.Wait()

	c.mu.Lock()
	defer c.mu.Unlock()
	c.pollKernelStats()
	c.closed = true
	c.tp.Close()
	if c.pcapBuf != nil {
		if err := c.pcapBuf.Flush(); err != nil {
			return fmt.Errorf("capture on %s: write pcap: %w", c.iface, err)
		}
	}
	return nil
}

// run reads frames until Close or a read error. The socket's poll timeout
// lets it notice Close.
func (c *Capture) run() {
	defer c.wg.Done()
	defer close(c.done)
	defer close(c.ch)
	var seq uint64
	for !c.stop.Load() {
		data, ci, err := c.tp.ZeroCopyReadPacketData()
		if err != nil {
			if errors.Is(err, afpacket.ErrTimeout) {
				continue
			}
			c.mu.Lock()
			c.err = fmt.Errorf("capture on %s: %w", c.iface, err)
			c.mu.Unlock()
			return
		}
		if ci.Timestamp.Before(c.attachedAt) {
			if n, err := c.filterVM.Run(data); err != nil || n == 0 {
				continue
			}
		}
		seq++
		p := Packet{Seq: seq, Time: ci.Timestamp, Data: c.keep(data), Length: ci.Length}
		c.seen.Add(1)
		c.ring.add(p)
		if c.pcap != nil {
			if err := c.pcap.WritePacket(p); err != nil {
				c.mu.Lock()
				c.err = fmt.Errorf("capture on %s: write pcap: %w", c.iface, err)
				c.mu.Unlock()
				c.pcap = nil
			}
		}
		select {
		case c.ch <- p:
			c.delivered.Add(1)
		default:
			c.bufferDrops.Add(1)
		}
	}
}

// keep copies a frame out of the kernel's ring into the current slab.
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
