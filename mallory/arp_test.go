package mallory

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

var (
	malloryMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x60}
	fccMAC     = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x30}
	fcsIP      = netip.MustParseAddr("198.18.0.20")
	fccIP      = netip.MustParseAddr("198.18.0.30")
	selfIP     = netip.MustParseAddr("198.18.0.60")
)

func TestSpoofTellsTheVictimTheServiceIsAtMallory(t *testing.T) {
	b, err := Spoof(malloryMAC, fcsIP, fccMAC, fccIP).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 60 {
		t.Errorf("frame is %d bytes, want the 60 of a padded Ethernet frame", len(b))
	}
	// The wire bytes, as tcpdump -X would show them.
	want := []byte{
		0x02, 0, 0, 0, 0, 0x30, // to fcc00 alone
		0x02, 0, 0, 0, 0, 0x60, // from mallory
		0x08, 0x06, // ARP
		0, 1, 0x08, 0, 6, 4, 0, 1, // Ethernet, IPv4, request
		0x02, 0, 0, 0, 0, 0x60, 198, 18, 0, 20, // "198.18.0.20 is at mallory"
		0, 0, 0, 0, 0, 0, 198, 18, 0, 30, // asking for fcc00's own address
	}
	if !bytes.Equal(b[:len(want)], want) {
		t.Errorf("frame\n% x\nwant\n% x", b[:len(want)], want)
	}
}

func TestARPFramesSurviveARoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    ARPFrame
	}{
		{"spoof", Spoof(malloryMAC, fcsIP, fccMAC, fccIP)},
		{"restore", Spoof(malloryMAC, fcsIP, fccMAC, fccIP)},
		{"who-has", Who(malloryMAC, selfIP, fcsIP)},
		{"reply", ARPFrame{EthSrc: fccMAC, EthDst: malloryMAC, Op: layers.ARPReply, SenderMAC: fccMAC, SenderIP: fccIP, TargetMAC: malloryMAC, TargetIP: selfIP}},
	} {
		b, err := tc.f.Marshal()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, err := ParseARP(b)
		if err != nil {
			t.Fatalf("%s: parse: %v", tc.name, err)
		}
		if got.String() != tc.f.String() || !bytes.Equal(got.TargetMAC, tc.f.TargetMAC) || got.TargetIP != tc.f.TargetIP {
			t.Errorf("%s: parsed %s, want %s", tc.name, got, tc.f)
		}
	}
}

func TestBadARPIsRefused(t *testing.T) {
	good, _ := Who(malloryMAC, selfIP, fcsIP).Marshal()
	ipv4 := append([]byte(nil), good...)
	ipv4[12], ipv4[13] = 0x08, 0x00
	op := append([]byte(nil), good...)
	op[21] = 9
	hw := append([]byte(nil), good...)
	hw[18] = 8
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"empty", nil},
		{"short Ethernet", good[:10]},
		{"IPv4, not ARP", ipv4},
		{"truncated ARP", good[:20]},
		{"unknown operation", op},
		{"not Ethernet hardware addresses", hw},
	} {
		if f, err := ParseARP(tc.frame); err == nil {
			t.Errorf("%s: parsed as %s, want an error", tc.name, f)
		}
	}
	if _, err := (ARPFrame{SenderIP: netip.MustParseAddr("::1"), TargetIP: fcsIP}).Marshal(); err == nil {
		t.Error("an IPv6 sender was marshalled")
	}
	if _, err := (ARPFrame{EthSrc: net.HardwareAddr{1}, SenderIP: fcsIP, TargetIP: fcsIP}).Marshal(); err == nil {
		t.Error("a one-byte hardware address was marshalled")
	}
}

// FuzzParseARP feeds ParseARP any bytes: it never panics, and whatever it
// accepts marshals back to a frame it parses the same way.
func FuzzParseARP(f *testing.F) {
	for _, fr := range []ARPFrame{Spoof(malloryMAC, fcsIP, fccMAC, fccIP), Who(malloryMAC, selfIP, fcsIP)} {
		b, _ := fr.Marshal()
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParseARP(b)
		if err != nil {
			return
		}
		again, err := got.Marshal()
		if err != nil {
			t.Fatalf("parsed %s but cannot marshal it: %v", got, err)
		}
		back, err := ParseARP(again)
		if err != nil || back.String() != got.String() || back.TargetIP != got.TargetIP || !bytes.Equal(back.TargetMAC, got.TargetMAC) {
			t.Fatalf("round trip: %s, then %s (%v)", got, back, err)
		}
	})
}
