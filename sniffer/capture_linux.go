package sniffer

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/afpacket"
	"golang.org/x/net/bpf"
)

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
	// largest frame offload can produce (64 KiB). The kernel hands a block
	// over when it is full or 10 ms after its first frame, so on a quiet
	// wire every block holds 10 ms of frames whatever its size: many small
	// blocks ride out a longer pause of the capture goroutine than a few
	// big ones in the same memory (16 of 128 KiB: 160 ms; 8 of 1 MiB, the
	// earlier ring: 80 ms).
	const blockSize = 128 << 10
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
	return start(iface, opts, &socket{tp: tp, filterVM: vm, attachedAt: attached})
}

// socket is a live capture's source: a packet socket and the ring it
// shares with the kernel.
type socket struct {
	tp *afpacket.TPacket

	// filterVM re-checks frames received before the kernel filter was
	// attached (between bind and SO_ATTACH_FILTER every frame is queued).
	filterVM   *bpf.VM
	attachedAt time.Time

	drops uint64
}

// read returns a frame from the kernel's ring, or errIdle after the
// socket's poll timeout.
func (s *socket) read() ([]byte, gopacket.CaptureInfo, error) {
	for {
		data, ci, err := s.tp.ZeroCopyReadPacketData()
		if err != nil {
			if errors.Is(err, afpacket.ErrTimeout) {
				return nil, ci, errIdle
			}
			return nil, ci, err
		}
		if ci.Timestamp.Before(s.attachedAt) {
			if n, err := s.filterVM.Run(data); err != nil || n == 0 {
				continue
			}
		}
		return data, ci, nil
	}
}

// kernelDrops reads the kernel's counters, which afpacket accumulates
// (the kernel resets them when read).
func (s *socket) kernelDrops() uint64 {
	if _, v3, err := s.tp.SocketStats(); err == nil {
		s.drops = uint64(v3.Drops())
	}
	return s.drops
}

// interrupt does nothing: a read returns within the poll timeout.
func (s *socket) interrupt() error { return nil }

func (s *socket) close() { s.tp.Close() }
