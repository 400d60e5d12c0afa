package sniffer

import (
	"encoding/binary"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gopacket/gopacket/layers"
)

// Printer renders packets the way `tcpdump -v -X` (with -S: absolute
// sequence numbers) does: a header line, a transport line, and the
// network layer in hex and ASCII. A Printer reuses its decoder: one
// goroutine at a time.
type Printer struct {
	names Names
	known *Known
	dec   *decoder
}

// NewPrinter returns a printer that prints hosts by names (may be nil) and
// finds known fortunes (may be nil) for Spans.
func NewPrinter(names Names, known *Known) *Printer {
	return &Printer{names: names, known: known, dec: newDecoder()}
}

// WriteX writes p rendered as tcpdump -v -X lines to w, through buf (which
// it returns for reuse, so that a loop does not allocate).
func (pr *Printer) WriteX(w io.Writer, buf []byte, p Packet) ([]byte, error) {
	buf = pr.AppendX(buf[:0], p)
	_, err := w.Write(buf)
	return buf, err
}

// AppendX appends p rendered as tcpdump -v -X lines to dst, each line
// ending in a newline.
func (pr *Printer) AppendX(dst []byte, p Packet) []byte {
	dst = pr.AppendHeader(dst, p)
	return appendHex(dst, pr.dumped(p))
}

// dumped returns the bytes tcpdump -X dumps: the frame after its
// Ethernet header. pr.dec holds p decoded.
func (pr *Printer) dumped(p Packet) []byte {
	if pr.dec.hasEth && len(p.Data) >= ethHdrLen {
		return p.Data[ethHdrLen:]
	}
	return p.Data
}

// AppendHeader appends only the header lines of p (no hex dump).
func (pr *Printer) AppendHeader(dst []byte, p Packet) []byte {
	d := pr.dec
	d.decode(p.Data)
	dst = p.Time.AppendFormat(dst, "15:04:05.000000")
	dst = append(dst, ' ')
	switch {
	case d.hasIP4:
		dst = pr.appendIP4(dst)
	case d.hasIP6:
		dst = pr.appendIP6(dst)
	case d.hasARP:
		dst = pr.appendARP(dst, p)
	case d.hasEth:
		dst = append(dst, "ethertype 0x"...)
		dst = appendHexN(dst, uint64(d.eth.EthernetType), 4)
		dst = append(dst, ", length "...)
		dst = strconv.AppendInt(dst, int64(max(p.Length, len(p.Data))), 10)
	default:
		dst = append(dst, "[|ether] length "...)
		dst = strconv.AppendInt(dst, int64(max(p.Length, len(p.Data))), 10)
	}
	return append(dst, '\n')
}

// ipProtoNames are tcpdump's names for IP protocols.
var ipProtoNames = map[uint8]string{
	1: "ICMP", 2: "IGMP", 4: "IPIP", 6: "TCP", 17: "UDP", 41: "IPv6", 47: "GRE",
	50: "ESP", 51: "AH", 58: "ICMPv6", 89: "OSPF", 103: "PIM", 112: "VRRP", 132: "SCTP",
}

func ipProtoName(p uint8) string {
	if n, ok := ipProtoNames[p]; ok {
		return n
	}
	return "unknown"
}

func (pr *Printer) appendIP4(dst []byte) []byte {
	ip := &pr.dec.ip4
	h := ip.Contents
	dst = append(dst, "IP (tos 0x"...)
	dst = strconv.AppendUint(dst, uint64(ip.TOS), 16)
	switch ip.TOS & 3 {
	case 1:
		dst = append(dst, ",ECT(1)"...)
	case 2:
		dst = append(dst, ",ECT(0)"...)
	case 3:
		dst = append(dst, ",CE"...)
	}
	if ip.TTL >= 1 {
		dst = append(dst, ", ttl "...)
		dst = strconv.AppendUint(dst, uint64(ip.TTL), 10)
	}
	dst = append(dst, ", id "...)
	dst = strconv.AppendUint(dst, uint64(ip.Id), 10)
	dst = append(dst, ", offset "...)
	dst = strconv.AppendUint(dst, uint64(ip.FragOffset)*8, 10)
	dst = append(dst, ", flags ["...)
	switch f := ip.Flags; {
	case f&7 == 0:
		dst = append(dst, "none"...)
	default:
		sep := false
		for _, fl := range [...]struct {
			bit  layers.IPv4Flag
			name string
		}{{layers.IPv4MoreFragments, "+"}, {layers.IPv4DontFragment, "DF"}, {layers.IPv4EvilBit, "rsvd"}} {
			if f&fl.bit != 0 {
				if sep {
					dst = append(dst, ", "...)
				}
				dst = append(dst, fl.name...)
				sep = true
			}
		}
	}
	dst = append(dst, "], proto "...)
	dst = append(dst, ipProtoName(uint8(ip.Protocol))...)
	dst = append(dst, " ("...)
	dst = strconv.AppendUint(dst, uint64(ip.Protocol), 10)
	dst = append(dst, "), length "...)
	dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint16(h[2:4])), 10)
	if len(h) > 20 {
		dst = append(dst, ", options ("...)
		dst = appendIPOptions(dst, h[20:])
		dst = append(dst, ')')
	}
	if sum := checksum(h, 0); sum != 0 {
		dst = append(dst, ", bad cksum "...)
		dst = strconv.AppendUint(dst, uint64(ip.Checksum), 16)
		dst = append(dst, " (->"...)
		dst = strconv.AppendUint(dst, uint64(shouldBe(ip.Checksum, sum)), 16)
		dst = append(dst, ")!"...)
	}
	dst = append(dst, ")\n    "...)
	src, dst4, _ := pr.dec.addrs()
	return pr.appendTransport(dst, src, dst4, false)
}

func (pr *Printer) appendIP6(dst []byte) []byte {
	ip := &pr.dec.ip6
	dst = append(dst, "IP6 ("...)
	if ip.TrafficClass != 0 {
		dst = append(dst, "class 0x"...)
		dst = appendHexN(dst, uint64(ip.TrafficClass), 2)
		dst = append(dst, ", "...)
	}
	if ip.FlowLabel != 0 {
		dst = append(dst, "flowlabel 0x"...)
		dst = appendHexN(dst, uint64(ip.FlowLabel), 5)
		dst = append(dst, ", "...)
	}
	dst = append(dst, "hlim "...)
	dst = strconv.AppendUint(dst, uint64(ip.HopLimit), 10)
	dst = append(dst, ", next-header "...)
	dst = append(dst, ipProtoName(uint8(ip.NextHeader))...)
	dst = append(dst, " ("...)
	dst = strconv.AppendUint(dst, uint64(ip.NextHeader), 10)
	dst = append(dst, ") payload length: "...)
	dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint16(ip.Contents[4:6])), 10)
	dst = append(dst, ") "...)
	src, dst6, _ := pr.dec.addrs()
	return pr.appendTransport(dst, src, dst6, true)
}

// appendEnd appends "host.port".
func (pr *Printer) appendEnd(dst []byte, a netip.Addr, port uint16) []byte {
	dst = pr.names.appendHost(dst, a)
	dst = append(dst, '.')
	return strconv.AppendUint(dst, uint64(port), 10)
}

func (pr *Printer) appendTransport(dst []byte, src, dstIP netip.Addr, v6 bool) []byte {
	d := pr.dec
	switch {
	case d.hasTCP:
		return pr.appendTCP(dst, src, dstIP, v6)
	case d.hasUDP:
		return pr.appendUDP(dst, src, dstIP, v6)
	}
	// Another protocol, a fragment, or a transport header that did not
	// decode.
	dst = pr.names.appendHost(dst, src)
	dst = append(dst, " > "...)
	dst = pr.names.appendHost(dst, dstIP)
	dst = append(dst, ':')
	var proto uint8
	var n int
	if v6 {
		proto, n = uint8(d.ip6.NextHeader), len(d.ip6.Payload)
	} else {
		proto, n = uint8(d.ip4.Protocol), len(d.ip4.Payload)
		if d.ip4.FragOffset != 0 || d.ip4.Flags&layers.IPv4MoreFragments != 0 {
			// A fragment: the transport header is in the first one, or
			// split; tcpdump names the protocol only.
			if name, ok := ipProtoNames[proto]; ok {
				return append(append(dst, ' '), strings.ToLower(name)...)
			}
			dst = append(dst, " ip-proto-"...)
			return strconv.AppendUint(dst, uint64(proto), 10)
		}
	}
	switch proto {
	case 6:
		return append(dst, " [|tcp]"...)
	case 17:
		return append(dst, " [|udp]"...)
	}
	dst = append(dst, ' ')
	dst = append(dst, ipProtoName(proto)...)
	dst = append(dst, ", length "...)
	return strconv.AppendInt(dst, int64(n), 10)
}

// transportSum computes the TCP or UDP checksum over the pseudo header and
// seg; 0 means correct.
func (pr *Printer) transportSum(seg []byte, proto uint8, v6 bool) uint16 {
	var sum uint32
	if v6 {
		sum = sumWords(pr.dec.ip6.SrcIP, 0)
		sum = sumWords(pr.dec.ip6.DstIP, sum)
		sum += uint32(len(seg)>>16) + uint32(len(seg)&0xffff) + uint32(proto)
	} else {
		sum = sumWords(pr.dec.ip4.SrcIP, 0)
		sum = sumWords(pr.dec.ip4.DstIP, sum)
		sum += uint32(len(seg)) + uint32(proto)
	}
	return checksum(seg, sum)
}

// segment returns the transport segment as the IP header declares it, and
// whether all of it was captured.
func (pr *Printer) segment(v6 bool) ([]byte, bool) {
	d := pr.dec
	if v6 {
		want := int(binary.BigEndian.Uint16(d.ip6.Contents[4:6]))
		return d.ip6.Payload, len(d.ip6.Payload) >= want && want > 0
	}
	want := int(d.ip4.Length) - len(d.ip4.Contents)
	return d.ip4.Payload, len(d.ip4.Payload) >= want
}

// tcpFlagNames are tcpdump's flag letters, in its order.
var tcpFlagNames = [...]struct {
	bit  uint16
	name byte
}{
	{0x001, 'F'}, {0x002, 'S'}, {0x004, 'R'}, {0x008, 'P'}, {0x010, '.'},
	{0x020, 'U'}, {0x040, 'E'}, {0x080, 'W'}, {0x100, 'e'},
}

func (pr *Printer) appendTCP(dst []byte, src, dstIP netip.Addr, v6 bool) []byte {
	t := &pr.dec.tcp
	h := t.Contents
	dst = pr.appendEnd(dst, src, uint16(t.SrcPort))
	dst = append(dst, " > "...)
	dst = pr.appendEnd(dst, dstIP, uint16(t.DstPort))
	dst = append(dst, ": Flags ["...)
	flags := uint16(h[13]) | uint16(h[12]&1)<<8
	if flags == 0 {
		dst = append(dst, "none"...)
	}
	for _, f := range tcpFlagNames {
		if flags&f.bit != 0 {
			dst = append(dst, f.name)
		}
	}
	dst = append(dst, ']')
	if seg, whole := pr.segment(v6); whole {
		dst = append(dst, ", cksum 0x"...)
		dst = appendHexN(dst, uint64(t.Checksum), 4)
		if sum := pr.transportSum(seg, 6, v6); sum != 0 {
			dst = append(dst, " (incorrect -> 0x"...)
			dst = appendHexN(dst, uint64(shouldBe(t.Checksum, sum)), 4)
			dst = append(dst, ')')
		} else {
			dst = append(dst, " (correct)"...)
		}
	}
	length := len(t.Payload)
	if length > 0 || t.SYN || t.FIN || t.RST {
		dst = append(dst, ", seq "...)
		dst = strconv.AppendUint(dst, uint64(t.Seq), 10)
		if length > 0 {
			dst = append(dst, ':')
			dst = strconv.AppendUint(dst, uint64(t.Seq+uint32(length)), 10)
		}
	}
	if t.ACK {
		dst = append(dst, ", ack "...)
		dst = strconv.AppendUint(dst, uint64(t.Ack), 10)
	}
	dst = append(dst, ", win "...)
	dst = strconv.AppendUint(dst, uint64(t.Window), 10)
	if t.URG {
		dst = append(dst, ", urg "...)
		dst = strconv.AppendUint(dst, uint64(t.Urgent), 10)
	}
	if len(h) > 20 {
		dst = append(dst, ", options ["...)
		dst = appendTCPOptions(dst, h[20:])
		dst = append(dst, ']')
	}
	dst = append(dst, ", length "...)
	return strconv.AppendInt(dst, int64(length), 10)
}

// tcpOptionNames are tcpdump's names for TCP options.
var tcpOptionNames = map[byte]string{
	0: "eol", 1: "nop", 2: "mss", 3: "wscale", 4: "sackOK", 5: "sack", 6: "echo",
	7: "echoreply", 8: "TS", 11: "cc", 12: "ccnew", 13: "ccecho", 19: "md5",
	20: "scps", 28: "uto", 29: "tcp-ao", 30: "mptcp", 34: "tfo", 254: "exp",
}

// appendTCPOptions renders raw TCP options as tcpdump does.
func appendTCPOptions(dst []byte, opts []byte) []byte {
	first := true
	for len(opts) > 0 {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		kind := opts[0]
		if name, ok := tcpOptionNames[kind]; ok {
			dst = append(dst, name...)
		} else {
			dst = append(dst, "unknown-"...)
			dst = strconv.AppendUint(dst, uint64(kind), 10)
		}
		if kind == 0 || kind == 1 {
			opts = opts[1:]
			if kind == 0 {
				return dst
			}
			continue
		}
		if len(opts) < 2 || opts[1] < 2 || int(opts[1]) > len(opts) {
			return append(dst, " [bad opt]"...)
		}
		n := int(opts[1])
		data := opts[2:n]
		switch {
		case kind == 2 && len(data) == 2:
			dst = append(dst, ' ')
			dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint16(data)), 10)
		case kind == 3 && len(data) == 1:
			dst = append(dst, ' ')
			dst = strconv.AppendUint(dst, uint64(data[0]), 10)
		case kind == 4 && len(data) == 0:
		case kind == 5:
			if len(data)%8 != 0 {
				dst = append(dst, " invalid sack"...)
				break
			}
			dst = append(dst, ' ')
			dst = strconv.AppendInt(dst, int64(len(data)/8), 10)
			dst = append(dst, ' ')
			for i := 0; i < len(data); i += 8 {
				dst = append(dst, '{')
				dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint32(data[i:])), 10)
				dst = append(dst, ':')
				dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint32(data[i+4:])), 10)
				dst = append(dst, '}')
			}
		case kind == 8 && len(data) == 8:
			dst = append(dst, " val "...)
			dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint32(data)), 10)
			dst = append(dst, " ecr "...)
			dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint32(data[4:])), 10)
		default:
			if len(data) > 0 {
				dst = append(dst, ' ')
			}
			for _, c := range data {
				dst = appendHexN(dst, uint64(c), 2)
			}
		}
		opts = opts[n:]
	}
	return dst
}

// ipOptionNames are tcpdump's names for IPv4 options.
var ipOptionNames = map[byte]string{
	0: "EOL", 1: "NOP", 7: "RR", 68: "TS", 130: "Security", 131: "LSRR", 137: "SSRR", 148: "RA",
}

// appendIPOptions renders IPv4 options by name, as a list.
func appendIPOptions(dst []byte, opts []byte) []byte {
	first := true
	for len(opts) > 0 {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		kind := opts[0]
		if name, ok := ipOptionNames[kind]; ok {
			dst = append(dst, name...)
		} else {
			dst = append(dst, "unknown "...)
			dst = strconv.AppendUint(dst, uint64(kind), 10)
		}
		if kind == 0 {
			return dst
		}
		if kind == 1 {
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || opts[1] < 2 || int(opts[1]) > len(opts) {
			return append(dst, " [bad length]"...)
		}
		opts = opts[opts[1]:]
	}
	return dst
}

func (pr *Printer) appendUDP(dst []byte, src, dstIP netip.Addr, v6 bool) []byte {
	u := &pr.dec.udp
	dst = pr.appendEnd(dst, src, uint16(u.SrcPort))
	dst = append(dst, " > "...)
	dst = pr.appendEnd(dst, dstIP, uint16(u.DstPort))
	dst = append(dst, ": "...)
	ulen := int(u.Length)
	if ulen < 8 {
		dst = append(dst, "truncated-udplength "...)
		return strconv.AppendInt(dst, int64(ulen), 10)
	}
	// tcpdump -v checks the UDP checksum over IPv6 only (it is optional
	// over IPv4).
	if seg, whole := pr.segment(v6); v6 && whole {
		if sum := pr.transportSum(seg, 17, true); sum != 0 {
			dst = append(dst, "[bad udp cksum 0x"...)
			dst = appendHexN(dst, uint64(u.Checksum), 4)
			dst = append(dst, " -> 0x"...)
			dst = appendHexN(dst, uint64(shouldBe(u.Checksum, sum)), 4)
			dst = append(dst, "!] "...)
		} else {
			dst = append(dst, "[udp sum ok] "...)
		}
	}
	dst = append(dst, "UDP, length "...)
	return strconv.AppendInt(dst, int64(ulen-8), 10)
}

func (pr *Printer) appendARP(dst []byte, p Packet) []byte {
	a := &pr.dec.arp
	dst = append(dst, "ARP, "...)
	if a.AddrType == layers.LinkTypeEthernet {
		dst = append(dst, "Ethernet"...)
	} else {
		dst = append(dst, "Unknown Hardware ("...)
		dst = strconv.AppendUint(dst, uint64(a.AddrType), 10)
		dst = append(dst, ')')
	}
	dst = append(dst, " (len "...)
	dst = strconv.AppendUint(dst, uint64(a.HwAddressSize), 10)
	dst = append(dst, "), "...)
	if a.Protocol == layers.EthernetTypeIPv4 {
		dst = append(dst, "IPv4"...)
	} else {
		dst = append(dst, "Unknown Protocol (0x"...)
		dst = appendHexN(dst, uint64(a.Protocol), 4)
		dst = append(dst, ')')
	}
	dst = append(dst, " (len "...)
	dst = strconv.AppendUint(dst, uint64(a.ProtAddressSize), 10)
	dst = append(dst, "), "...)
	ip := func(dst, b []byte) []byte {
		if len(b) == 4 {
			return pr.names.appendHost(dst, netip.AddrFrom4([4]byte(b)))
		}
		return append(dst, "<wrong proto type>"...)
	}
	switch a.Operation {
	case layers.ARPRequest:
		dst = append(dst, "Request who-has "...)
		dst = ip(dst, a.DstProtAddress)
		if !allZero(a.DstHwAddress) {
			dst = append(dst, " ("...)
			dst = appendMAC(dst, a.DstHwAddress)
			dst = append(dst, ')')
		}
		dst = append(dst, " tell "...)
		dst = ip(dst, a.SourceProtAddress)
	case layers.ARPReply:
		dst = ip(dst, a.SourceProtAddress)
		dst = append(dst, " is-at "...)
		dst = appendMAC(dst, a.SourceHwAddress)
	default:
		dst = append(dst, "Unknown ("...)
		dst = strconv.AppendUint(dst, uint64(a.Operation), 10)
		dst = append(dst, ')')
	}
	dst = append(dst, ", length "...)
	return strconv.AppendInt(dst, int64(max(p.Length, len(p.Data))-ethHdrLen), 10)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func appendMAC(dst, mac []byte) []byte {
	for i, c := range mac {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = appendHexN(dst, uint64(c), 2)
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendHexN appends v in lower-case hex, zero-padded to n digits.
func appendHexN(dst []byte, v uint64, n int) []byte {
	var b [16]byte
	i := len(b)
	for v != 0 || n > 0 || i == len(b) {
		i--
		b[i] = hexDigits[v&0xf]
		v >>= 4
		n--
		if i == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

// appendHex appends b as tcpdump -X does: 16 bytes a line, in groups of
// two, then the bytes as ASCII with '.' for anything not graphic.
func appendHex(dst, b []byte) []byte {
	for off := 0; off < len(b); off += 16 {
		line := b[off:min(off+16, len(b))]
		dst = append(dst, "\t0x"...)
		dst = appendHexN(dst, uint64(off), 4)
		dst = append(dst, ": "...)
		w := 0
		for i := 0; i < len(line); i += 2 {
			dst = append(dst, ' ', hexDigits[line[i]>>4], hexDigits[line[i]&0xf])
			w += 3
			if i+1 < len(line) {
				dst = append(dst, hexDigits[line[i+1]>>4], hexDigits[line[i+1]&0xf])
				w += 2
			}
		}
		for ; w < 40; w++ {
			dst = append(dst, ' ')
		}
		dst = append(dst, ' ', ' ')
		for _, c := range line {
			if c < 0x21 || c > 0x7e {
				c = '.'
			}
			dst = append(dst, c)
		}
		dst = append(dst, '\n')
	}
	return dst
}

// Spans appends to dst the byte ranges of p's hex dump that hold known
// fortune text, in dump offsets: the byte at offset o is on hex line o/16,
// at column o%16 of its ASCII part. A TUI highlights them.
func (pr *Printer) Spans(dst []Span, p Packet) []Span {
	if pr.known == nil {
		return dst
	}
	d := pr.dec
	d.decode(p.Data)
	var payload []byte
	switch {
	case d.hasTCP:
		payload = d.tcp.Payload
	case d.hasUDP:
		payload = d.udp.Payload
	default:
		return dst
	}
	dumped := pr.dumped(p)
	if len(payload) == 0 || cap(payload) > cap(dumped) {
		return dst
	}
	base := cap(dumped) - cap(payload)
	n := len(dst)
	dst = pr.known.Spans(dst, payload)
	for i := n; i < len(dst); i++ {
		dst[i].Start += base
		dst[i].End += base
	}
	return dst
}

// sumWords adds b to sum as big-endian 16-bit words.
func sumWords(b []byte, sum uint32) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

// checksum folds the internet checksum of b (plus a partial sum); 0 means
// b, with its checksum field, is correct.
func checksum(b []byte, sum uint32) uint16 {
	s := uint64(sum)
	for len(b) >= 8 {
		s += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	s += uint64(sumWords(b, 0))
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// shouldBe returns the checksum a field should hold, given the field and
// the checksum computed over the data with it: their one's complement sum
// (tcpdump's in_cksum_shouldbe).
func shouldBe(field, computed uint16) uint16 {
	s := uint32(field) + uint32(computed)
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return uint16(s)
}
