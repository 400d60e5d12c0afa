package sniffer

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// seedDump is the tcpdump -X dump of the stolen Mark Twain fortune, as the
// seed (seeds/000) shows it: fcs00:8181 answering 139.178.82.107.
const seedDump = `
0x0000: 4500 0105 bbab 4000 3806 b23d 934b 62a1
0x0010: 8bb2 526b 1ff5 d094 27b4 adcf 11e8 4e28
0x0020: 8018 0072 c307 0000 0101 080a 0919 166c
0x0030: 69d7 290d 5468 6520 686f 6c79 2070 6173
0x0040: 7369 6f6e 206f 6620 4672 6965 6e64 7368
0x0050: 6970 2069 7320 6f66 2073 6f20 7377 6565
0x0060: 7420 616e 6420 7374 6561 6479 2061 6e64
0x0070: 206c 6f79 616c 2061 6e64 0a65 6e64 7572
0x0080: 696e 6720 6120 6e61 7475 7265 2074 6861
0x0090: 7420 6974 2077 696c 6c20 6c61 7374 2074
0x00a0: 6872 6f75 6768 2061 2077 686f 6c65 206c
0x00b0: 6966 6574 696d 652c 2069 6620 6e6f 7420
0x00c0: 6173 6b65 6420 746f 0a6c 656e 6420 6d6f
0x00d0: 6e65 792e 0a09 092d 2d20 4d61 726b 2054
0x00e0: 7761 696e 2c20 2250 7564 6427 6e68 6561
0x00f0: 6420 5769 6c73 6f6e 2773 2043 616c 656e
0x0100: 6461 7222 0a
`

// seedFortune is what the seed's consumer printed.
const seedFortune = "The holy passion of Friendship is of so sweet and steady and loyal and\n" +
	"enduring a nature that it will last through a whole lifetime, if not asked to\n" +
	"lend money.\n" +
	"\t\t-- Mark Twain, \"Pudd'nhead Wilson's Calendar\"\n"

var (
	fcs00     = netip.MustParseAddr("147.75.98.161")
	seedPeer  = netip.MustParseAddr("139.178.82.107")
	seedNames = Names{fcs00: "fcs00"}
	seedTime  = time.Date(2021, 3, 4, 1, 20, 20, 84000, time.UTC)
)

// seedIPBytes parses the seed's hex dump: the IP packet, 261 bytes.
func seedIPBytes(t testing.TB) []byte {
	var b []byte
	for _, line := range strings.Split(strings.TrimSpace(seedDump), "\n") {
		_, groups, _ := strings.Cut(line, ": ")
		x, err := hex.DecodeString(strings.ReplaceAll(groups, " ", ""))
		if err != nil {
			t.Fatalf("seed line %q: %v", line, err)
		}
		b = append(b, x...)
	}
	return b
}

var macA = net.HardwareAddr{0x02, 0x5a, 0x54, 0, 0, 0x01}
var macB = net.HardwareAddr{0x02, 0x5a, 0x54, 0, 0, 0x02}

// serialize builds a frame from layers, fixing lengths and checksums.
func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	for _, l := range ls {
		switch l := l.(type) {
		case *layers.TCP:
			for _, n := range ls {
				if nl, ok := n.(gopacket.NetworkLayer); ok {
					if err := l.SetNetworkLayerForChecksum(nl); err != nil {
						t.Fatal(err)
					}
				}
			}
		case *layers.UDP:
			for _, n := range ls {
				if nl, ok := n.(gopacket.NetworkLayer); ok {
					if err := l.SetNetworkLayerForChecksum(nl); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// seedPacket rebuilds the seed's packet with gopacket, field by field.
func seedPacket(t testing.TB) Packet {
	ts := make([]byte, 8)
	copy(ts, []byte{0x09, 0x19, 0x16, 0x6c, 0x69, 0xd7, 0x29, 0x0d})
	frame := serialize(t,
		&layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{
			Version: 4, IHL: 5, TOS: 0, Id: 48043, Flags: layers.IPv4DontFragment, TTL: 56,
			Protocol: layers.IPProtocolTCP, SrcIP: fcs00.AsSlice(), DstIP: seedPeer.AsSlice(),
		},
		&layers.TCP{
			SrcPort: 8181, DstPort: 53396, Seq: 666152399, Ack: 300437032, PSH: true, ACK: true, Window: 114,
			Options: []layers.TCPOption{
				{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
				{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
				{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: ts},
			},
		},
		gopacket.Payload(seedFortune),
	)
	return Packet{Seq: 1, Time: seedTime, Data: frame, Length: len(frame)}
}

func TestSeedPacketRebuiltByteForByte(t *testing.T) {
	want := seedIPBytes(t)
	if len(want) != 261 {
		t.Fatalf("seed dump holds %d bytes, want 261", len(want))
	}
	p := seedPacket(t)
	if got := p.Data[ethHdrLen:]; !bytesEqual(got, want) {
		t.Fatalf("rebuilt packet differs from the seed's dump:\n got %x\nwant %x", got, want)
	}
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

func TestSeedPacketPrintsLikeTheSeed(t *testing.T) {
	got := string(FormatX(nil, seedPacket(t), seedNames))
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	want := []string{
		"01:20:20.000084 IP (tos 0x0, ttl 56, id 48043, offset 0, flags [DF], proto TCP (6), length 261)",
		"    fcs00.8181 > 139.178.82.107.53396: Flags [P.], cksum 0xc307 (correct), seq 666152399:666152608, ack 300437032, win 114, options [nop,nop,TS val 152639084 ecr 1775708429], length 209",
		"\t0x0000:  4500 0105 bbab 4000 3806 b23d 934b 62a1  E.....@.8..=.Kb.",
	}
	for i, w := range want {
		if i >= len(lines) || lines[i] != w {
			t.Fatalf("line %d:\n got %q\nwant %q\nwhole output:\n%s", i, at(lines, i), w, got)
		}
	}
	// Every hex line carries the seed's bytes at the seed's offsets.
	seed := strings.Split(strings.TrimSpace(seedDump), "\n")
	if len(lines) != 2+len(seed) {
		t.Fatalf("%d hex lines, the seed has %d", len(lines)-2, len(seed))
	}
	for i, s := range seed {
		off, groups, _ := strings.Cut(s, ": ")
		hexPart := strings.TrimRight(lines[2+i][len("\t0x0000:  "):len("\t0x0000:  ")+40], " ")
		if !strings.HasPrefix(lines[2+i], "\t"+off+":  ") || hexPart != groups {
			t.Errorf("hex line %d = %q, seed says %q", i, lines[2+i], s)
		}
	}
	// tcpdump pads a short line's hex to 40 columns.
	if last := lines[len(lines)-1]; last != "\t0x0100: "+fmt.Sprintf("%-40s", " 6461 7222 0a")+"  dar\"." {
		t.Errorf("last line = %q", last)
	}
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "<missing>"
}
