package sniffer

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/net/bpf"
)

// Filter selects the frames a capture keeps. Its zero value keeps
// everything. Set fields are all required (they are joined by "and"), like
// tcpdump's "host H and port P and tcp".
type Filter struct {
	// Host keeps IPv4 or IPv6 packets from or to this address, and ARP
	// packets about it.
	Host netip.Addr
	// Port keeps TCP and UDP packets from or to this port. IPv4 fragments
	// after the first carry no port and are not kept.
	Port uint16
	// Proto keeps only TCP or only UDP. With a Port it narrows the port.
	Proto Proto
	// NotPort drops TCP and UDP packets from or to this port, and keeps
	// everything else (tcpdump's "not port"): a capture over SSH uses it
	// not to capture the connection that carries it. IPv4 fragments after
	// the first carry no port and are kept.
	NotPort uint16
	// Net keeps IPv4 packets whose source and destination are both in this
	// IPv4 range, and ARP packets between two of its addresses: a capture
	// on a real host's card keeps the lab's traffic and leaves the rest of
	// the machine's alone.
	Net netip.Prefix
}

// IsZero reports whether f keeps everything.
func (f Filter) IsZero() bool {
	return !f.Host.IsValid() && f.Port == 0 && f.Proto == AnyProto && f.NotPort == 0 && !f.Net.IsValid()
}

// String says f the way tcpdump would.
func (f Filter) String() string {
	var parts []string
	if f.Host.IsValid() {
		parts = append(parts, "host "+f.Host.String())
	}
	if f.Proto != AnyProto {
		parts = append(parts, f.Proto.String())
	}
	if f.Port != 0 {
		parts = append(parts, fmt.Sprintf("port %d", f.Port))
	}
	if f.NotPort != 0 {
		parts = append(parts, fmt.Sprintf("not port %d", f.NotPort))
	}
	if f.Net.IsValid() {
		parts = append(parts, fmt.Sprintf("src net %s and dst net %s", f.Net, f.Net))
	}
	if len(parts) == 0 {
		return "all"
	}
	return strings.Join(parts, " and ")
}

func (f Filter) check() error {
	if f.Proto != AnyProto && f.Proto != TCP && f.Proto != UDP {
		return fmt.Errorf("filter: protocol %v: only tcp and udp can be filtered", f.Proto)
	}
	if f.Host.IsValid() && f.Host.Zone() != "" {
		return errors.New("filter: host " + f.Host.String() + ": zones cannot be filtered")
	}
	if f.Net.IsValid() && (!f.Net.Addr().Is4() || f.Net.Masked() != f.Net) {
		return fmt.Errorf("filter: net %s: want an IPv4 network such as 198.18.0.0/24", f.Net)
	}
	if f.Net.IsValid() && f.Host.IsValid() && !f.Net.Contains(f.Host.Unmap()) {
		return fmt.Errorf("filter: host %s is not in net %s: nothing would be kept", f.Host, f.Net)
	}
	if f.Port != 0 && f.Port == f.NotPort {
		// Every packet on the port is dropped: nothing would be kept.
		return fmt.Errorf("filter: port %d and not port %d keeps nothing: drop one of them", f.Port, f.NotPort)
	}
	return nil
}

// Ethernet frame offsets the filter reads (no VLAN tag: the kernel strips
// it before a packet socket's filter runs).
const (
	ethTypeOff = 12
	ethHdrLen  = 14

	ip4ProtoOff = ethHdrLen + 9
	ip4FragOff  = ethHdrLen + 6
	ip4SrcOff   = ethHdrLen + 12
	ip4DstOff   = ethHdrLen + 16

	ip6NextOff = ethHdrLen + 6
	ip6SrcOff  = ethHdrLen + 8
	ip6DstOff  = ethHdrLen + 24
	ip6HdrLen  = 40

	arpSPAOff = ethHdrLen + 14
	arpTPAOff = ethHdrLen + 24
)

// Program compiles f to classic BPF for a packet socket. Accepted frames
// are kept up to snaplen bytes. It is a small generator for the shapes a
// Filter can take, not a pcap filter compiler.
func (f Filter) Program(snaplen uint32) ([]bpf.Instruction, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	var p program
	want4 := !f.Host.IsValid() || f.Host.Is4() || f.Host.Is4In6()
	want6 := (!f.Host.IsValid() || (f.Host.Is6() && !f.Host.Is4In6())) && !f.Net.IsValid()
	wantARP := f.Port == 0 && f.Proto == AnyProto && want4

	p.emit(bpf.LoadAbsolute{Off: ethTypeOff, Size: 2})
	if want4 {
		p.jumpEq(0x0800, "ip4", "")
	}
	if want6 {
		p.jumpEq(0x86dd, "ip6", "")
	}
	if wantARP {
		p.jumpEq(0x0806, "arp", "")
	}
	p.jump("reject")

	if want4 {
		p.label("ip4")
		f.protoTest(&p, ip4ProtoOff)
		if f.Host.IsValid() {
			h := f.Host.Unmap().As4()
			v := be32(h[:])
			p.emit(bpf.LoadAbsolute{Off: ip4SrcOff, Size: 4})
			p.jumpEq(v, "ip4host", "")
			p.emit(bpf.LoadAbsolute{Off: ip4DstOff, Size: 4})
			p.jumpEq(v, "ip4host", "reject")
			p.label("ip4host")
		}
		if f.Net.IsValid() {
			p.inNet(ip4SrcOff, f.Net, "", "reject")
			p.inNet(ip4DstOff, f.Net, "", "reject")
		}
		if f.NotPort != 0 {
			if f.Port == 0 && f.Proto == AnyProto {
				p.tcpOrUDP(ip4ProtoOff, "ip4kept")
			}
			p.emit(bpf.LoadAbsolute{Off: ip4FragOff, Size: 2})
			p.jumpSet(0x1fff, "ip4kept", "")
			p.emit(bpf.LoadMemShift{Off: ethHdrLen})
			p.ports4(f.NotPort, "reject", "ip4kept")
			p.label("ip4kept")
		}
		if f.Port != 0 {
			// Only a first fragment carries the transport header.
			p.emit(bpf.LoadAbsolute{Off: ip4FragOff, Size: 2})
			p.jumpSet(0x1fff, "reject", "")
			p.emit(bpf.LoadMemShift{Off: ethHdrLen})
			p.ports4(f.Port, "accept", "reject")
		} else {
			p.jump("accept")
		}
	}
	if want6 {
		p.label("ip6")
		f.protoTest(&p, ip6NextOff)
		if f.Host.IsValid() {
			h := f.Host.As16()
			p.match16(ip6SrcOff, h, "ip6host", "ip6dst")
			p.label("ip6dst")
			p.match16(ip6DstOff, h, "ip6host", "reject")
			p.label("ip6host")
		}
		// Like tcpdump's "port", extension headers are not followed.
		if f.NotPort != 0 {
			if f.Port == 0 && f.Proto == AnyProto {
				p.tcpOrUDP(ip6NextOff, "ip6kept")
			}
			p.ports6(f.NotPort, "reject", "ip6kept")
			p.label("ip6kept")
		}
		if f.Port != 0 {
			p.ports6(f.Port, "accept", "reject")
		} else {
			p.jump("accept")
		}
	}
	if wantARP {
		p.label("arp")
		if f.Net.IsValid() {
			p.inNet(arpSPAOff, f.Net, "", "reject")
			p.inNet(arpTPAOff, f.Net, "", "reject")
		}
		if f.Host.IsValid() {
			h := f.Host.Unmap().As4()
			v := be32(h[:])
			p.emit(bpf.LoadAbsolute{Off: arpSPAOff, Size: 4})
			p.jumpEq(v, "accept", "")
			p.emit(bpf.LoadAbsolute{Off: arpTPAOff, Size: 4})
			p.jumpEq(v, "accept", "reject")
		} else {
			p.jump("accept")
		}
	}
	p.label("accept")
	p.emit(bpf.RetConstant{Val: snaplen})
	p.label("reject")
	p.emit(bpf.RetConstant{Val: 0})
	return p.link()
}

// protoTest emits the transport protocol test at the protocol byte off.
func (f Filter) protoTest(p *program, off uint32) {
	switch {
	case f.Proto != AnyProto:
		p.emit(bpf.LoadAbsolute{Off: off, Size: 1})
		p.jumpEq(uint32(f.Proto), "", "reject")
	case f.Port != 0:
		p.tcpOrUDP(off, "reject")
	}
}

// tcpOrUDP emits a test of the protocol byte at off that goes on for TCP
// and UDP and jumps to other for anything else.
func (p *program) tcpOrUDP(off uint32, other string) {
	in := fmt.Sprintf("tcpudp%d", len(p.ins))
	p.emit(bpf.LoadAbsolute{Off: off, Size: 1})
	p.jumpEq(uint32(TCP), in, "")
	p.jumpEq(uint32(UDP), "", other)
	p.label(in)
}

// ports4 emits a test of an IPv4 packet's transport ports, its header
// length in X (LoadMemShift): it jumps to match when either is port, to
// mismatch otherwise.
func (p *program) ports4(port uint16, match, mismatch string) {
	p.emit(bpf.LoadIndirect{Off: ethHdrLen, Size: 2})
	p.jumpEq(uint32(port), match, "")
	p.emit(bpf.LoadIndirect{Off: ethHdrLen + 2, Size: 2})
	p.jumpEq(uint32(port), match, mismatch)
}

// ports6 is ports4 for an IPv6 packet whose transport header follows the
// fixed header.
func (p *program) ports6(port uint16, match, mismatch string) {
	p.emit(bpf.LoadAbsolute{Off: ethHdrLen + ip6HdrLen, Size: 2})
	p.jumpEq(uint32(port), match, "")
	p.emit(bpf.LoadAbsolute{Off: ethHdrLen + ip6HdrLen + 2, Size: 2})
	p.jumpEq(uint32(port), match, mismatch)
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// program is a BPF program with symbolic forward jumps: "" means the next
// instruction.
type program struct {
	ins    []bpf.Instruction
	jumps  map[int][2]string // instruction index -> true, false targets
	labels map[string]int
}

func (p *program) emit(i bpf.Instruction) { p.ins = append(p.ins, i) }

func (p *program) label(name string) {
	if p.labels == nil {
		p.labels = map[string]int{}
	}
	p.labels[name] = len(p.ins)
}

func (p *program) cond(c bpf.JumpIf, t, f string) {
	if p.jumps == nil {
		p.jumps = map[int][2]string{}
	}
	p.jumps[len(p.ins)] = [2]string{t, f}
	p.ins = append(p.ins, c)
}

func (p *program) jumpEq(v uint32, t, f string) {
	p.cond(bpf.JumpIf{Cond: bpf.JumpEqual, Val: v}, t, f)
}

func (p *program) jumpSet(v uint32, t, f string) {
	p.cond(bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: v}, t, f)
}

// jump jumps unconditionally (as an always-true test, so that every jump
// has the same 8-bit reach and one linker).
func (p *program) jump(to string) {
	if p.jumps == nil {
		p.jumps = map[int][2]string{}
	}
	p.jumps[len(p.ins)] = [2]string{to, ""}
	p.ins = append(p.ins, bpf.Jump{})
}

// inNet tests whether the IPv4 address at off is in n.
func (p *program) inNet(off uint32, n netip.Prefix, match, mismatch string) {
	net4 := n.Addr().As4()
	p.emit(bpf.LoadAbsolute{Off: off, Size: 4})
	if n.Bits() > 0 {
		p.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: ^uint32(0) << (32 - n.Bits())})
	} else {
		p.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0})
	}
	p.jumpEq(be32(net4[:]), match, mismatch)
}

// match16 compares the 16 bytes at off with h, word by word.
func (p *program) match16(off uint32, h [16]byte, match, mismatch string) {
	for i := 0; i < 4; i++ {
		p.emit(bpf.LoadAbsolute{Off: off + uint32(4*i), Size: 4})
		next := ""
		if i == 3 {
			next = match
		}
		p.jumpEq(be32(h[4*i:]), next, mismatch)
	}
}

// link resolves the symbolic jumps.
func (p *program) link() ([]bpf.Instruction, error) {
	target := func(at int, name string) (uint8, error) {
		if name == "" {
			return 0, nil
		}
		to, ok := p.labels[name]
		if !ok {
			return 0, fmt.Errorf("filter: jump to unknown label %q", name)
		}
		skip := to - at - 1
		if skip < 0 || skip > 255 {
			return 0, fmt.Errorf("filter: jump to %q out of reach (%d)", name, skip)
		}
		return uint8(skip), nil
	}
	for at, to := range p.jumps {
		switch i := p.ins[at].(type) {
		case bpf.JumpIf:
			t, err := target(at, to[0])
			if err != nil {
				return nil, err
			}
			f, err := target(at, to[1])
			if err != nil {
				return nil, err
			}
			i.SkipTrue, i.SkipFalse = t, f
			p.ins[at] = i
		case bpf.Jump:
			t, err := target(at, to[0])
			if err != nil {
				return nil, err
			}
			i.Skip = uint32(t)
			p.ins[at] = i
		}
	}
	return p.ins, nil
}

// skipOutgoing prefixes prog with a test that drops frames the host sends
// (PACKET_OUTGOING): on a loopback interface every frame is seen once going
// out and once coming in, and libpcap keeps only the second. The kernel
// runs this extension; the Go VM does not know it.
func skipOutgoing(prog []bpf.Instruction) []bpf.Instruction {
	const packetOutgoing = 4
	// The reject at the end of prog is its last instruction.
	out := make([]bpf.Instruction, 0, len(prog)+2)
	out = append(out,
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: packetOutgoing, SkipTrue: uint8(len(prog) - 1)},
	)
	return append(out, prog...)
}
