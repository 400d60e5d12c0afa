package sniffer

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// The lab's addresses, as the local lab hands them out.
var (
	labFCS   = netip.MustParseAddr("198.18.0.11")
	labFCC   = netip.MustParseAddr("198.18.0.12")
	labC0    = netip.MustParseAddr("198.18.0.2")
	labC1    = netip.MustParseAddr("198.18.0.3")
	labFCS6  = netip.MustParseAddr("fd00:5a54::11")
	labFCC6  = netip.MustParseAddr("fd00:5a54::12")
	labNames = Names{
		labFCS: "fcs00", labFCC: "fcc00", labC0: "consul00", labC1: "consul01",
		labFCS6: "fcs00", labFCC6: "fcc00",
	}
	labTime = time.Date(2026, 11, 24, 9, 30, 0, 123456000, time.UTC)
)

func eth(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
}

func ip4(src, dst netip.Addr, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, Id: 4711, Flags: layers.IPv4DontFragment, TTL: 64,
		Protocol: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
}

func ip6(src, dst netip.Addr, next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, FlowLabel: 0x4ac5e, HopLimit: 64, NextHeader: next,
		SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
}

func tsOpt(val, ecr uint32) layers.TCPOption {
	d := make([]byte, 8)
	binary.BigEndian.PutUint32(d, val)
	binary.BigEndian.PutUint32(d[4:], ecr)
	return layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: d}
}

var (
	nop     = layers.TCPOption{OptionType: layers.TCPOptionKindNop, OptionLength: 1}
	sackOK  = layers.TCPOption{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2}
	mss1460 = layers.TCPOption{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}
	wscale7 = layers.TCPOption{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}}
)

func pkt(frame []byte) Packet {
	return Packet{Seq: 1, Time: labTime, Data: frame, Length: len(frame)}
}

// padded pads a frame to Ethernet's 60-byte minimum, as a NIC does.
func padded(frame []byte) []byte {
	for len(frame) < 60 {
		frame = append(frame, 0)
	}
	return frame
}

// formatCases are packets of every shape the printer knows.
func formatCases(t testing.TB) []struct {
	name string
	p    Packet
} {
	syn := serialize(t, eth(layers.EthernetTypeIPv4), ip4(labFCC, labFCS, layers.IPProtocolTCP),
		&layers.TCP{SrcPort: 53396, DstPort: 8181, Seq: 300437031, SYN: true, Window: 64240,
			Options: []layers.TCPOption{mss1460, sackOK, tsOpt(1775708400, 0), nop, wscale7}})
	synAck := serialize(t, eth(layers.EthernetTypeIPv4), ip4(labFCS, labFCC, layers.IPProtocolTCP),
		&layers.TCP{SrcPort: 8181, DstPort: 53396, Seq: 666152398, Ack: 300437032, SYN: true, ACK: true, Window: 65160,
			Options: []layers.TCPOption{mss1460, sackOK, tsOpt(152639080, 1775708400), nop, wscale7}})
	fin := padded(serialize(t, eth(layers.EthernetTypeIPv4), ip4(labFCS, labFCC, layers.IPProtocolTCP),
		&layers.TCP{SrcPort: 8181, DstPort: 53396, Seq: 666152608, Ack: 300437032, FIN: true, ACK: true, Window: 114}))
	rst := padded(serialize(t, eth(layers.EthernetTypeIPv4), ip4(labFCC, labFCS, layers.IPProtocolTCP),
		&layers.TCP{SrcPort: 53396, DstPort: 8181, Seq: 300437032, RST: true, Window: 0}))
	offload := serialize(t, eth(layers.EthernetTypeIPv4), ip4(labFCS, labFCC, layers.IPProtocolTCP),
		&layers.TCP{SrcPort: 8181, DstPort: 53396, Seq: 1, Ack: 2, PSH: true, ACK: true, Window: 502},
		gopacket.Payload("You love peace.\n"))
	// Checksum offload: the kernel leaves the pseudo-header sum for the
	// NIC, and a capture sees it.
	binary.BigEndian.PutUint16(offload[ethHdrLen+20+16:], 0x5ad3)
	sack := serialize(t, eth(layers.EthernetTypeIPv4), ip4(labFCC, labFCS, layers.IPProtocolTCP),
		&layers.TCP{SrcPort: 53396, DstPort: 8181, Seq: 300437032, Ack: 666152399, ACK: true, Window: 501,
			Options: []layers.TCPOption{nop, nop, {OptionType: layers.TCPOptionKindSACK, OptionLength: 10,
				OptionData: []byte{0x27, 0xb4, 0xae, 0xa0, 0x27, 0xb4, 0xaf, 0x00}}}})
	gossip := serialize(t, eth(layers.EthernetTypeIPv4), ip4(labC0, labC1, layers.IPProtocolUDP),
		&layers.UDP{SrcPort: 8301, DstPort: 8301},
		gopacket.Payload(append([]byte{0x00, 0x85, 0xa5}, "SeqNo\x01\xa4Node\xa8consul01"...)))
	v6 := serialize(t, eth(layers.EthernetTypeIPv6), ip6(labFCS6, labFCC6, layers.IPProtocolTCP),
		&layers.TCP{SrcPort: 8181, DstPort: 40000, Seq: 7, Ack: 9, PSH: true, ACK: true, Window: 509},
		gopacket.Payload("A deep C diva.\n"))
	v6udp := serialize(t, eth(layers.EthernetTypeIPv6), ip6(labFCC6, labFCS6, layers.IPProtocolUDP),
		&layers.UDP{SrcPort: 5353, DstPort: 5353}, gopacket.Payload("hello"))
	arpReq := padded(serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: macA, SourceProtAddress: labFCC.AsSlice(),
			DstHwAddress: make([]byte, 6), DstProtAddress: labFCS.AsSlice()}))
	arpRep := padded(serialize(t, eth(layers.EthernetTypeARP),
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPReply, SourceHwAddress: macB, SourceProtAddress: labFCS.AsSlice(),
			DstHwAddress: macA, DstProtAddress: labFCC.AsSlice()}))
	icmp := serialize(t, eth(layers.EthernetTypeIPv4), ip4(labFCC, labFCS, layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 1, Seq: 1}, gopacket.Payload("ping"))
	frag := ip4(labFCS, labFCC, layers.IPProtocolUDP)
	frag.Flags, frag.FragOffset = layers.IPv4MoreFragments, 185
	fragment := serialize(t, eth(layers.EthernetTypeIPv4), frag, gopacket.Payload(bytes.Repeat([]byte("x"), 24)))
	ecn := ip4(labFCC, labFCS, layers.IPProtocolTCP)
	ecn.TOS, ecn.IHL = 0x03, 6
	ecn.Options = []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}}
	withOpts := serialize(t, eth(layers.EthernetTypeIPv4), ecn,
		&layers.TCP{SrcPort: 53396, DstPort: 8181, Seq: 5, Ack: 6, ACK: true, ECE: true, CWR: true, Window: 100})
	badIP := append([]byte(nil), syn...)
	badIP[ethHdrLen+10] ^= 0xff
	return []struct {
		name string
		p    Packet
	}{
		{"seed_fortune", seedPacket(t)},
		{"tcp_syn", pkt(syn)},
		{"tcp_synack", pkt(synAck)},
		{"tcp_fin_padded", pkt(fin)},
		{"tcp_rst", pkt(rst)},
		{"tcp_offloaded_checksum", pkt(offload)},
		{"tcp_sack", pkt(sack)},
		{"udp_gossip", pkt(gossip)},
		{"ip6_tcp", pkt(v6)},
		{"ip6_udp", pkt(v6udp)},
		{"arp_request", pkt(arpReq)},
		{"arp_reply", pkt(arpRep)},
		{"icmp_echo", pkt(icmp)},
		{"ip_fragment", pkt(fragment)},
		{"ip_options_ecn", pkt(withOpts)},
		{"ip_bad_checksum", pkt(badIP)},
		{"truncated", Packet{Time: labTime, Data: syn[:ethHdrLen+24], Length: len(syn)}},
		{"not_ethernet", Packet{Time: labTime, Data: []byte{1, 2, 3}, Length: 3}},
	}
}

func TestFormatXGolden(t *testing.T) {
	for _, tc := range formatCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			names := labNames
			if tc.name == "seed_fortune" {
				names = seedNames
			}
			golden(t, "x_"+tc.name+".golden", FormatX(nil, tc.p, names))
		})
	}
}

func TestFormatXChecksums(t *testing.T) {
	cases := map[string]string{}
	for _, tc := range formatCases(t) {
		cases[tc.name] = string(FormatX(nil, tc.p, labNames))
	}
	for name, want := range map[string]string{
		"tcp_syn":                "(correct)",
		"tcp_fin_padded":         "(correct)",
		"ip6_tcp":                "(correct)",
		"ip6_udp":                "[udp sum ok]",
		"tcp_offloaded_checksum": "cksum 0x5ad3 (incorrect -> 0x",
		"ip_bad_checksum":        ", bad cksum ",
	} {
		if !strings.Contains(cases[name], want) {
			t.Errorf("%s: no %q in\n%s", name, want, cases[name])
		}
	}
	// The "should be" value is the checksum gopacket computed.
	for _, tc := range formatCases(t) {
		if tc.name != "tcp_offloaded_checksum" {
			continue
		}
		fixed := append([]byte(nil), tc.p.Data...)
		d := newDecoder()
		d.decode(fixed)
		good := serialize(t, eth(layers.EthernetTypeIPv4), &d.ip4, &d.tcp, gopacket.Payload(d.tcp.Payload))
		want := fmt.Sprintf("(incorrect -> 0x%04x)", binary.BigEndian.Uint16(good[ethHdrLen+20+16:]))
		if !strings.Contains(cases[tc.name], want) {
			t.Errorf("offloaded checksum: want %s in\n%s", want, cases[tc.name])
		}
	}
}

func TestPrinterNamesHosts(t *testing.T) {
	p := formatCases(t)[1].p // the SYN
	withNames := string(FormatX(nil, p, labNames))
	without := string(FormatX(nil, p, nil))
	if !strings.Contains(withNames, "fcc00.53396 > fcs00.8181: Flags [S]") {
		t.Errorf("names not used:\n%s", withNames)
	}
	if !strings.Contains(without, "198.18.0.12.53396 > 198.18.0.11.8181: Flags [S]") {
		t.Errorf("addresses not printed:\n%s", without)
	}
}

func TestPrinterSpansMarkTheFortune(t *testing.T) {
	known := NewKnown()
	known.Add(seedFortune)
	pr := NewPrinter(seedNames, known)
	p := seedPacket(t)
	spans := pr.Spans(nil, p)
	// The payload starts after 20 bytes of IP and 32 of TCP header, and
	// is the fortune, whole (but for the final newline, white space that
	// is not part of a known fortune).
	fortune := strings.TrimSpace(seedFortune)
	want := []Span{{52, 52 + len(fortune)}}
	if fmt.Sprint(spans) != fmt.Sprint(want) {
		t.Fatalf("spans = %v, want %v", spans, want)
	}
	dumped := p.Data[ethHdrLen:]
	if got := string(dumped[spans[0].Start:spans[0].End]); got != fortune {
		t.Errorf("span holds %q", got)
	}
	// Offset 52 is on hex line 3, ASCII column 4: "i.).The.holy.pas".
	if line, col := 52/16, 52%16; line != 3 || col != 4 {
		t.Errorf("line %d col %d", line, col)
	}
	if got := pr.Spans(nil, formatCases(t)[1].p); len(got) != 0 {
		t.Errorf("a SYN has spans %v", got)
	}
}

func TestPrinterDoesNotAllocate(t *testing.T) {
	pr := NewPrinter(seedNames, nil)
	p := seedPacket(t)
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() { buf = pr.AppendX(buf[:0], p) })
	if allocs != 0 {
		t.Errorf("AppendX allocates %.1f times a packet", allocs)
	}
}

var decoders = sync.Pool{New: func() any { return newDecoder() }}

// FormatX appends p rendered as tcpdump -v -X lines to dst.
func FormatX(dst []byte, p Packet, names Names) []byte {
	d := decoders.Get().(*decoder)
	defer decoders.Put(d)
	pr := Printer{names: names, dec: d}
	return pr.AppendX(dst, p)
}
