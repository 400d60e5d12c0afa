package sniffer

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// labNet is the lab's address range, as the local lab hands it out.
var labNet = netip.MustParsePrefix("198.18.0.0/24")

// refMatch is the filter written plainly in Go, with BPF's rule that a
// load past the end of the frame rejects it: the generated program must
// agree with it on every frame.
func refMatch(f Filter, b []byte) bool {
	u8 := func(off int) (int, bool) {
		if off < 0 || off >= len(b) {
			return 0, false
		}
		return int(b[off]), true
	}
	u16 := func(off int) (int, bool) {
		if off < 0 || off+2 > len(b) {
			return 0, false
		}
		return int(binary.BigEndian.Uint16(b[off:])), true
	}
	bytesAt := func(off, n int) ([]byte, bool) {
		if off+n > len(b) {
			return nil, false
		}
		return b[off : off+n], true
	}
	// onPort says whether the transport header at off is from or to
	// port, and whether its ports could be read at all.
	onPort := func(off int, port uint16) (on, ok bool) {
		sp, ok := u16(off)
		if !ok {
			return false, false
		}
		if sp == int(port) {
			return true, true
		}
		dp, ok := u16(off + 2)
		return ok && dp == int(port), ok
	}
	ports := func(off int) bool {
		on, _ := onPort(off, f.Port)
		return on
	}
	// notPort says whether the packet survives "not port", the protocol
	// at protoOff, its transport header at off (unless it is a later
	// IPv4 fragment).
	notPort := func(protoOff int, v4 bool) bool {
		if f.NotPort == 0 {
			return true
		}
		p, ok := u8(protoOff)
		if !ok {
			return false
		}
		if p != 6 && p != 17 {
			return true
		}
		off := ethHdrLen + ip6HdrLen
		if v4 {
			frag, ok := u16(ip4FragOff)
			if !ok {
				return false
			}
			if frag&0x1fff != 0 {
				return true
			}
			vihl, ok := u8(ethHdrLen)
			if !ok {
				return false
			}
			off = ethHdrLen + 4*(vihl&0xf)
		}
		on, ok := onPort(off, f.NotPort)
		return ok && !on
	}
	protoOK := func(p int) bool {
		if f.Proto != AnyProto {
			return p == int(f.Proto)
		}
		return f.Port == 0 || p == 6 || p == 17
	}
	et, ok := u16(12)
	if !ok {
		return false
	}
	host4 := !f.Host.IsValid() || f.Host.Is4() || f.Host.Is4In6()
	host6 := (!f.Host.IsValid() || !host4) && !f.Net.IsValid()
	// inNet says whether the IPv4 addresses at a and b can be read and are
	// both in f.Net (or there is no Net).
	inNet := func(a, b int) bool {
		if !f.Net.IsValid() {
			return true
		}
		for _, off := range []int{a, b} {
			ip, ok := bytesAt(off, 4)
			if !ok || !f.Net.Contains(netip.AddrFrom4([4]byte(ip))) {
				return false
			}
		}
		return true
	}
	switch et {
	case 0x0800:
		if !host4 {
			return false
		}
		p, ok := u8(ip4ProtoOff)
		if (f.Proto != AnyProto || f.Port != 0) && (!ok || !protoOK(p)) {
			return false
		}
		if f.Host.IsValid() {
			h := f.Host.Unmap().As4()
			src, ok1 := bytesAt(ip4SrcOff, 4)
			if !ok1 {
				return false
			}
			if string(src) != string(h[:]) {
				dst, ok2 := bytesAt(ip4DstOff, 4)
				if !ok2 || string(dst) != string(h[:]) {
					return false
				}
			}
		}
		if !inNet(ip4SrcOff, ip4DstOff) {
			return false
		}
		if !notPort(ip4ProtoOff, true) {
			return false
		}
		if f.Port == 0 {
			return true
		}
		frag, ok := u16(ip4FragOff)
		if !ok || frag&0x1fff != 0 {
			return false
		}
		vihl, ok := u8(ethHdrLen)
		if !ok {
			return false
		}
		return ports(ethHdrLen + 4*(vihl&0xf))
	case 0x86dd:
		if !host6 {
			return false
		}
		p, ok := u8(ip6NextOff)
		if (f.Proto != AnyProto || f.Port != 0) && (!ok || !protoOK(p)) {
			return false
		}
		if f.Host.IsValid() {
			h := f.Host.As16()
			src, ok1 := bytesAt(ip6SrcOff, 16)
			if !ok1 {
				return false
			}
			if string(src) != string(h[:]) {
				dst, ok2 := bytesAt(ip6DstOff, 16)
				if !ok2 || string(dst) != string(h[:]) {
					return false
				}
			}
		}
		if !notPort(ip6NextOff, false) {
			return false
		}
		return f.Port == 0 || ports(ethHdrLen+ip6HdrLen)
	case 0x0806:
		if f.Port != 0 || f.Proto != AnyProto || !host4 || !inNet(arpSPAOff, arpTPAOff) {
			return false
		}
		if !f.Host.IsValid() {
			return true
		}
		h := f.Host.Unmap().As4()
		spa, ok := bytesAt(arpSPAOff, 4)
		if !ok {
			return false
		}
		if string(spa) == string(h[:]) {
			return true
		}
		tpa, ok := bytesAt(arpTPAOff, 4)
		return ok && string(tpa) == string(h[:])
	}
	return false
}

func runFilter(t testing.TB, f Filter, frame []byte) bool {
	t.Helper()
	prog, err := f.Program(65535)
	if err != nil {
		t.Fatalf("%v: %v", f, err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatalf("%v: %v", f, err)
	}
	n, err := vm.Run(frame)
	if err != nil {
		t.Fatalf("%v: run: %v", f, err)
	}
	return n > 0
}

func filterFrames(t testing.TB) map[string][]byte {
	longHdr := ip4(labFCC, labFCS, layers.IPProtocolTCP)
	longHdr.IHL = 6
	longHdr.Options = []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}}
	frames := map[string][]byte{
		"tcp4 fcc>fcs:8181": serialize(t, eth(layers.EthernetTypeIPv4), ip4(labFCC, labFCS, layers.IPProtocolTCP),
			&layers.TCP{SrcPort: 40000, DstPort: 8181, SYN: true}),
		"tcp4 fcs:8181>fcc": serialize(t, eth(layers.EthernetTypeIPv4), ip4(labFCS, labFCC, layers.IPProtocolTCP),
			&layers.TCP{SrcPort: 8181, DstPort: 40000, ACK: true}, gopacket.Payload("fortune")),
		"tcp4 options fcc>fcs:8181": serialize(t, eth(layers.EthernetTypeIPv4), longHdr,
			&layers.TCP{SrcPort: 40000, DstPort: 8181, ACK: true}),
		"udp4 gossip": serialize(t, eth(layers.EthernetTypeIPv4), ip4(labC0, labC1, layers.IPProtocolUDP),
			&layers.UDP{SrcPort: 8301, DstPort: 8301}, gopacket.Payload("x")),
		"udp4 8181": serialize(t, eth(layers.EthernetTypeIPv4), ip4(labFCC, labFCS, layers.IPProtocolUDP),
			&layers.UDP{SrcPort: 40001, DstPort: 8181}, gopacket.Payload("x")),
		"tcp6 fcs:8181>fcc": serialize(t, eth(layers.EthernetTypeIPv6), ip6(labFCS6, labFCC6, layers.IPProtocolTCP),
			&layers.TCP{SrcPort: 8181, DstPort: 40000, ACK: true}),
		"udp6 8301": serialize(t, eth(layers.EthernetTypeIPv6), ip6(labFCC6, labFCS6, layers.IPProtocolUDP),
			&layers.UDP{SrcPort: 40000, DstPort: 8301}),
		"icmp4": serialize(t, eth(layers.EthernetTypeIPv4), ip4(labFCC, labFCS, layers.IPProtocolICMPv4),
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}),
		"arp who-has fcs": serialize(t, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet,
			Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
			SourceHwAddress: macA, SourceProtAddress: labFCC.AsSlice(), DstHwAddress: make([]byte, 6), DstProtAddress: labFCS.AsSlice()}),
		"runt": {1, 2, 3},
	}
	frag := ip4(labFCC, labFCS, layers.IPProtocolTCP)
	frag.FragOffset = 10
	frames["tcp4 later fragment"] = serialize(t, eth(layers.EthernetTypeIPv4), frag, gopacket.Payload([]byte{0x1f, 0xf5, 0x1f, 0xf5, 0, 0, 0, 0}))

	// The rest of a machine's traffic, which a remote capture leaves out.
	world := netip.MustParseAddr("93.184.216.34")
	frames["tcp4 fcs to the world"] = serialize(t, eth(layers.EthernetTypeIPv4), ip4(labFCS, world, layers.IPProtocolTCP),
		&layers.TCP{SrcPort: 40000, DstPort: 443, SYN: true})
	frames["tcp4 the world to fcs"] = serialize(t, eth(layers.EthernetTypeIPv4), ip4(world, labFCS, layers.IPProtocolTCP),
		&layers.TCP{SrcPort: 443, DstPort: 40000, ACK: true})
	frames["arp who-has the gateway"] = serialize(t, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet,
		Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
		SourceHwAddress: macA, SourceProtAddress: labFCS.AsSlice(), DstHwAddress: make([]byte, 6), DstProtAddress: []byte{198, 19, 0, 1}})

	// SSH, which a remote capture leaves out.
	frames["tcp4 ssh fcc>fcs:22"] = serialize(t, eth(layers.EthernetTypeIPv4), ip4(labFCC, labFCS, layers.IPProtocolTCP),
		&layers.TCP{SrcPort: 40022, DstPort: 22, ACK: true}, gopacket.Payload("SSH-2.0-OpenSSH_9.6"))
	frames["tcp4 options ssh fcs:22>fcc"] = serialize(t, eth(layers.EthernetTypeIPv4), longHdr,
		&layers.TCP{SrcPort: 22, DstPort: 40022, ACK: true})
	// Port 22 where the ports would be without the IPv4 options: only a
	// filter that skips the whole header gets this one right.
	decoy := serialize(t, eth(layers.EthernetTypeIPv4), longHdr, &layers.TCP{SrcPort: 40000, DstPort: 8181, ACK: true})
	copy(decoy[ethHdrLen+20:], []byte{0, 22, 0, 22})
	frames["tcp4 options, 22 in the options"] = decoy
	frames["udp4 22"] = serialize(t, eth(layers.EthernetTypeIPv4), ip4(labFCC, labFCS, layers.IPProtocolUDP),
		&layers.UDP{SrcPort: 22, DstPort: 40001}, gopacket.Payload("x"))
	frames["tcp6 ssh fcc>fcs:22"] = serialize(t, eth(layers.EthernetTypeIPv6), ip6(labFCC6, labFCS6, layers.IPProtocolTCP),
		&layers.TCP{SrcPort: 40022, DstPort: 22, ACK: true})
	// An IPv4 header and no transport header: its ports cannot be read.
	cut := serialize(t, eth(layers.EthernetTypeIPv4), ip4(labFCC, labFCS, layers.IPProtocolTCP))
	frames["tcp4 cut after the IP header"] = cut[:ethHdrLen+20] // no Ethernet padding either
	return frames
}

func TestFilterProgramsAgreeWithGo(t *testing.T) {
	frames := filterFrames(t)
	filters := []Filter{
		{},
		{Host: labFCS},
		{Host: labFCC6},
		{Host: netip.MustParseAddr("::ffff:198.18.0.11")},
		{Port: 8181},
		{Port: 8301, Proto: UDP},
		{Proto: TCP},
		{Proto: UDP},
		{Host: labFCS, Port: 8181, Proto: TCP},
		{Host: labC0, Port: 8301},
		{Host: labFCS6, Port: 8181},
		{NotPort: 22},
		{NotPort: 8181},
		{Host: labFCS, NotPort: 22},
		{Host: labFCS6, NotPort: 22},
		{Port: 8181, NotPort: 22},
		{Port: 8301, Proto: UDP, NotPort: 40000},
		{Proto: TCP, NotPort: 22},
		{Host: labFCS, Port: 8181, Proto: TCP, NotPort: 40000},
		{Net: labNet, NotPort: 22},
		{Net: netip.MustParsePrefix("198.18.0.8/30")},
		{Net: netip.MustParsePrefix("0.0.0.0/0"), Port: 8181},
		{Net: labNet, Host: labFCS, Port: 8181},
		{Net: netip.MustParsePrefix("10.0.0.0/8"), NotPort: 22},
	}
	for _, f := range filters {
		for name, frame := range frames {
			got, want := runFilter(t, f, frame), refMatch(f, frame)
			if got != want {
				t.Errorf("filter %q on %s: BPF says %v, Go says %v", f, name, got, want)
			}
		}
	}
}

func TestFilterKeepsWhatItSays(t *testing.T) {
	frames := filterFrames(t)
	for _, tc := range []struct {
		f     Filter
		frame string
		keep  bool
	}{
		{Filter{}, "runt", false},
		{Filter{}, "icmp4", true},
		{Filter{Port: 8181}, "tcp4 fcc>fcs:8181", true},
		{Filter{Port: 8181}, "tcp4 fcs:8181>fcc", true},
		{Filter{Port: 8181}, "tcp4 options fcc>fcs:8181", true},
		{Filter{Port: 8181}, "udp4 8181", true},
		{Filter{Port: 8181, Proto: TCP}, "udp4 8181", false},
		{Filter{Port: 8181}, "tcp4 later fragment", false},
		{Filter{Port: 8181}, "tcp6 fcs:8181>fcc", true},
		{Filter{Port: 8181}, "icmp4", false},
		{Filter{Port: 8181}, "arp who-has fcs", false},
		{Filter{Host: labFCS}, "arp who-has fcs", true},
		{Filter{Host: labFCS}, "udp4 gossip", false},
		{Filter{Host: labFCS}, "tcp6 fcs:8181>fcc", false},
		{Filter{Host: labFCS6}, "tcp6 fcs:8181>fcc", true},
		{Filter{Host: labFCS6}, "tcp4 fcs:8181>fcc", false},
		{Filter{Proto: UDP}, "udp6 8301", true},
		{Filter{Proto: UDP}, "tcp4 fcs:8181>fcc", false},
		{Filter{Host: labC1, Port: 8301, Proto: UDP}, "udp4 gossip", true},

		{Filter{NotPort: 22}, "tcp4 ssh fcc>fcs:22", false},
		{Filter{NotPort: 22}, "tcp4 options ssh fcs:22>fcc", false},
		{Filter{NotPort: 22}, "tcp4 options, 22 in the options", true},
		{Filter{NotPort: 22}, "udp4 22", false},
		{Filter{NotPort: 22}, "tcp6 ssh fcc>fcs:22", false},
		{Filter{NotPort: 22}, "tcp4 fcc>fcs:8181", true},
		{Filter{NotPort: 22}, "tcp6 fcs:8181>fcc", true},
		{Filter{NotPort: 22}, "udp4 gossip", true},
		{Filter{NotPort: 22}, "icmp4", true},
		{Filter{NotPort: 22}, "arp who-has fcs", true},
		{Filter{NotPort: 22}, "tcp4 cut after the IP header", false},
		{Filter{NotPort: 8181}, "tcp4 later fragment", true},
		{Filter{NotPort: 8181}, "tcp4 fcs:8181>fcc", false},
		{Filter{NotPort: 8181}, "udp4 8181", false},
		{Filter{NotPort: 8181}, "tcp6 fcs:8181>fcc", false},
		{Filter{Host: labFCS, NotPort: 22}, "tcp4 ssh fcc>fcs:22", false},
		{Filter{Host: labFCS, NotPort: 22}, "tcp4 fcc>fcs:8181", true},
		{Filter{Host: labFCS, NotPort: 22}, "udp4 gossip", false},
		{Filter{Host: labFCS, NotPort: 22}, "arp who-has fcs", true},
		{Filter{Port: 8181, NotPort: 22}, "tcp4 fcc>fcs:8181", true},
		{Filter{Port: 8181, NotPort: 22}, "tcp4 ssh fcc>fcs:22", false},
		{Filter{Port: 8181, NotPort: 40000}, "tcp4 fcc>fcs:8181", false},
		{Filter{Port: 8181, NotPort: 40000}, "udp4 8181", true},
		{Filter{Proto: TCP, NotPort: 22}, "tcp4 fcs:8181>fcc", true},
		{Filter{Proto: TCP, NotPort: 22}, "udp4 gossip", false},
		{Filter{Proto: UDP, NotPort: 22}, "udp4 22", false},
		{Filter{Port: 8301, Proto: UDP, NotPort: 40000}, "udp6 8301", false},

		// A remote capture keeps the lab's traffic and nothing else.
		{Filter{Net: labNet, NotPort: 22}, "tcp4 fcc>fcs:8181", true},
		{Filter{Net: labNet, NotPort: 22}, "udp4 gossip", true},
		{Filter{Net: labNet, NotPort: 22}, "arp who-has fcs", true},
		{Filter{Net: labNet, NotPort: 22}, "tcp4 fcs to the world", false},
		{Filter{Net: labNet, NotPort: 22}, "tcp4 the world to fcs", false},
		{Filter{Net: labNet, NotPort: 22}, "arp who-has the gateway", false},
		{Filter{Net: labNet, NotPort: 22}, "tcp6 fcs:8181>fcc", false},
		{Filter{Net: labNet, NotPort: 22}, "tcp4 ssh fcc>fcs:22", false},
	} {
		if got := runFilter(t, tc.f, frames[tc.frame]); got != tc.keep {
			t.Errorf("filter %q keeps %s = %v, want %v", tc.f, tc.frame, got, tc.keep)
		}
	}
}

func TestFilterProgramsAssemble(t *testing.T) {
	for _, f := range []Filter{{}, {Host: labFCS6, Port: 8181, Proto: TCP}, {Host: labFCS}, {NotPort: 22}, {Net: labNet, NotPort: 22},
		{Host: labFCS6, Port: 8181, Proto: TCP, NotPort: 22}, {Host: labFCS, NotPort: 22}} {
		prog, err := f.Program(262144)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range [][]bpf.Instruction{prog, skipOutgoing(prog)} {
			if _, err := bpf.Assemble(p); err != nil {
				t.Errorf("%q: %v", f, err)
			}
		}
		last := skipOutgoing(prog)
		jump := last[1].(bpf.JumpIf)
		if target := 2 + int(jump.SkipTrue); last[target] != (bpf.RetConstant{Val: 0}) {
			t.Errorf("%q: outgoing frames jump to %v, not the reject", f, last[target])
		}
	}
	for _, n := range []string{"198.18.0.1/24", "2001:db8::/64"} {
		if _, err := (Filter{Net: netip.MustParsePrefix(n)}).Program(100); err == nil || !strings.Contains(err.Error(), "IPv4 network") {
			t.Errorf("net %s: %v, want it refused", n, err)
		}
	}
	if _, err := (Filter{Proto: 1}).Program(100); err == nil {
		t.Error("filtering ICMP by number should be refused")
	}
	if _, err := (Filter{Port: 22, NotPort: 22}).Program(100); err == nil || !strings.Contains(err.Error(), "keeps nothing") {
		t.Errorf("port 22 and not port 22: %v, want a filter that keeps nothing refused", err)
	}
}

func TestFilterString(t *testing.T) {
	for f, want := range map[Filter]string{
		{}:                                     "all",
		{Host: labFCS, Port: 8181, Proto: TCP}: "host 198.18.0.11 and tcp and port 8181",
		{Port: 8301}:                           "port 8301",
		{Host: netip.MustParseAddr("10.0.0.1"), NotPort: 22}: "host 10.0.0.1 and not port 22",
		{Host: labFCS, Port: 8181, Proto: TCP, NotPort: 22}:  "host 198.18.0.11 and tcp and port 8181 and not port 22",
		{NotPort: 22}:              "not port 22",
		{Net: labNet, NotPort: 22}: "not port 22 and src net 198.18.0.0/24 and dst net 198.18.0.0/24",
	} {
		if got := f.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", f, got, want)
		}
	}
}

func FuzzFilter(f *testing.F) {
	for _, frame := range filterFrames(f) {
		f.Add(frame, uint8(1), uint16(8181), uint8(0), uint16(0))
		f.Add(frame, uint8(3), uint16(0), uint8(6), uint16(0))
		f.Add(frame, uint8(0), uint16(0), uint8(0), uint16(22))
		f.Add(frame, uint8(1), uint16(8181), uint8(1), uint16(22))
	}
	hosts := []netip.Addr{{}, labFCS, labFCC, labFCS6, labC0}
	f.Fuzz(func(t *testing.T, frame []byte, host uint8, port uint16, proto uint8, notPort uint16) {
		fl := Filter{Host: hosts[int(host)%len(hosts)], Port: port, NotPort: notPort}
		switch proto % 3 {
		case 1:
			fl.Proto = TCP
		case 2:
			fl.Proto = UDP
		}
		if port != 0 && port == notPort {
			if _, err := fl.Program(65535); err == nil {
				t.Fatalf("filter %q keeps nothing but compiles", fl)
			}
			return
		}
		if got, want := runFilter(t, fl, frame), refMatch(fl, frame); got != want {
			t.Fatalf("filter %q on %x: BPF says %v, Go says %v", fl, frame, got, want)
		}
	})
}
