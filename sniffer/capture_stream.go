package sniffer

import (
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/bpf"
)

// maxRecord is the longest pcap record a stream may hold, unless its
// Snaplen is longer: libpcap's largest snap length. A longer one is a
// broken stream, which ends the capture rather than fill memory.
const maxRecord = 262144

// OpenStream captures from a pcap stream read from r (what a capture
// with Options.Write writes on another host, carried over SSH) as Open
// does from an interface: the Capture delivers, counts, keeps and writes
// frames the same way. Its Interface is name. The stream does not carry
// the other side's kernel drops: if r has a method KernelDrops() uint64
// that says them, Stats counts them, else they stay 0. A filter in opts is
// applied here, to what the other side kept; Snaplen cuts frames;
// KernelRing and NotPromiscuous mean nothing here.
//
// OpenStream reads the stream's header before it returns, so it waits
// until the writer flushes it (a capture with Options.FlushEvery does at
// once) or r ends; closing r gives up. The stream must be an Ethernet
// pcap, in micro- or nanoseconds. Its end ends the capture cleanly (Err
// is nil); a broken record ends it with Err set. Close closes r, which
// must unblock a Read in progress, as a pipe's or a connection's Close
// does. OpenStream closes r when it fails.
func OpenStream(name string, r io.ReadCloser, opts Options) (*Capture, error) {
	opts.defaults()
	src, err := newPcapStream(r, opts)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("capture on %s: %w", name, err)
	}
	return start(name, opts, src)
}

// pcapStream is a capture's source that reads a pcap stream.
type pcapStream struct {
	r       io.ReadCloser
	drops   func() uint64 // the other side's kernel drops; nil: unknown
	pr      *pcapgo.Reader
	filter  *bpf.VM // nil: keep every frame
	snaplen int
}

func newPcapStream(r io.ReadCloser, opts Options) (*pcapStream, error) {
	s := &pcapStream{r: r, snaplen: opts.Snaplen}
	if d, ok := r.(interface{ KernelDrops() uint64 }); ok {
		s.drops = d.KernelDrops
	}
	if !opts.Filter.IsZero() {
		prog, err := opts.Filter.Program(uint32(opts.Snaplen))
		if err != nil {
			return nil, err
		}
		if s.filter, err = bpf.NewVM(prog); err != nil {
			return nil, fmt.Errorf("filter: %w", err)
		}
	}
	pr, err := pcapgo.NewReader(r)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, errors.New("the stream ended before its pcap header: did the capture at the other end start?")
	}
	if err != nil {
		return nil, fmt.Errorf("read pcap header: %w", err)
	}
	if lt := pr.LinkType(); lt != layers.LinkTypeEthernet {
		return nil, fmt.Errorf("the stream's link type is %v: only Ethernet captures can be read", lt)
	}
	if limit := max(opts.Snaplen, maxRecord); pr.Snaplen() > uint32(limit) {
		pr.SetSnaplen(uint32(limit))
	}
	s.pr = pr
	return s, nil
}

// read returns the next frame the filter keeps, cut to the snap length;
// io.EOF at the end of the stream.
func (s *pcapStream) read() ([]byte, gopacket.CaptureInfo, error) {
	for {
		data, ci, err := s.pr.ZeroCopyReadPacketData()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if ci.Timestamp.IsZero() { // no record header: the end
					return nil, ci, io.EOF
				}
				err = io.ErrUnexpectedEOF // a header and no frame
			}
			return nil, ci, fmt.Errorf("read pcap stream: %w", err)
		}
		if s.filter != nil {
			n, err := s.filter.Run(data)
			if err != nil || n == 0 {
				continue
			}
			data = data[:min(n, len(data))]
		}
		return data[:min(len(data), s.snaplen)], ci, nil
	}
}

// kernelDrops is 0: a stream does not say what its kernel dropped.
func (s *pcapStream) kernelDrops() uint64 {
	if s.drops == nil {
		return 0
	}
	return s.drops()
}

// interrupt closes the stream, which ends a read in progress.
func (s *pcapStream) interrupt() error { return s.r.Close() }

func (s *pcapStream) close() {}
