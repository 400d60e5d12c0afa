package sniffer

import (
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// decoder turns a frame into its layers without allocating: the layers
// live in the decoder and are overwritten by the next frame. One decoder
// serves one goroutine.
type decoder struct {
	eth    layers.Ethernet
	arp    layers.ARP
	ip4    layers.IPv4
	ip6    layers.IPv6
	tcp    layers.TCP
	udp    layers.UDP
	parser *gopacket.DecodingLayerParser
	types  []gopacket.LayerType

	// What the last frame held.
	hasEth, hasARP, hasIP4, hasIP6, hasTCP, hasUDP bool
	// err is the decoding error of the last frame, if any (a truncated
	// or malformed layer); the layers before it are still valid.
	err error
}

func newDecoder() *decoder {
	d := &decoder{types: make([]gopacket.LayerType, 0, 8)}
	var c gopacket.DecodingLayerContainer = gopacket.DecodingLayerSparse(nil)
	// No decoder for the payload layer: TCP and UDP already hold it.
	for _, l := range []gopacket.DecodingLayer{&d.eth, &d.arp, &d.ip4, &d.ip6, &d.tcp, &d.udp} {
		c = c.Put(l)
	}
	d.parser = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet)
	d.parser.SetDecodingLayerContainer(c)
	// ICMP, fragments, IPv6 extension headers: decode what comes before.
	d.parser.IgnoreUnsupported = true
	return d
}

// decode decodes frame; the decoder's fields describe it until the next
// call.
func (d *decoder) decode(frame []byte) {
	d.err = d.parser.DecodeLayers(frame, &d.types)
	d.hasEth, d.hasARP, d.hasIP4, d.hasIP6, d.hasTCP, d.hasUDP = false, false, false, false, false, false
	for _, t := range d.types {
		switch t {
		case layers.LayerTypeEthernet:
			d.hasEth = true
		case layers.LayerTypeARP:
			d.hasARP = true
		case layers.LayerTypeIPv4:
			d.hasIP4 = true
		case layers.LayerTypeIPv6:
			d.hasIP6 = true
		case layers.LayerTypeTCP:
			d.hasTCP = true
		case layers.LayerTypeUDP:
			d.hasUDP = true
		}
	}
}

// addrs returns the network source and destination of the last frame.
func (d *decoder) addrs() (src, dst netip.Addr, ok bool) {
	switch {
	case d.hasIP4 && len(d.ip4.SrcIP) == 4 && len(d.ip4.DstIP) == 4:
		return netip.AddrFrom4([4]byte(d.ip4.SrcIP)), netip.AddrFrom4([4]byte(d.ip4.DstIP)), true
	case d.hasIP6 && len(d.ip6.SrcIP) == 16 && len(d.ip6.DstIP) == 16:
		return netip.AddrFrom16([16]byte(d.ip6.SrcIP)), netip.AddrFrom16([16]byte(d.ip6.DstIP)), true
	}
	return netip.Addr{}, netip.Addr{}, false
}
