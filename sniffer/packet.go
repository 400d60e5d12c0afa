package sniffer

import (
	"net/netip"
	"strconv"
	"time"
)

// Packet is one captured Ethernet frame.
type Packet struct {
	// Seq numbers the frames of one capture from 1, in the order read.
	Seq uint64
	// Time is when the kernel received the frame.
	Time time.Time
	// Data is the frame as captured, from the Ethernet header on. It is
	// never overwritten by the capture: a consumer may keep it.
	Data []byte
	// Length is the frame's length on the wire; more than len(Data) when
	// the capture was cut short by the snap length.
	Length int
}

// Names maps lab addresses to host names, for views that print names
// instead of addresses (tcpdump prints "fcs00.8181").
type Names map[netip.Addr]string

// host returns the name of a, or its address.
func (n Names) host(a netip.Addr) string {
	if name, ok := n[a]; ok {
		return name
	}
	return a.String()
}

// appendHost appends the name of a, or its address, without allocating
// when a has a name.
func (n Names) appendHost(dst []byte, a netip.Addr) []byte {
	if name, ok := n[a]; ok {
		return append(dst, name...)
	}
	return a.AppendTo(dst)
}

// Proto is a transport protocol a filter or a flow is about.
type Proto uint8

// Transport protocols, with their IP protocol numbers.
const (
	AnyProto Proto = 0
	TCP      Proto = 6
	UDP      Proto = 17
)

func (p Proto) String() string {
	switch p {
	case AnyProto:
		return "any"
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	}
	return "proto-" + strconv.Itoa(int(p))
}

// ParseProto turns a user's word ("tcp", "udp", "" or "any") into a Proto.
func ParseProto(s string) (Proto, error) {
	switch s {
	case "", "any":
		return AnyProto, nil
	case "tcp":
		return TCP, nil
	case "udp":
		return UDP, nil
	}
	return 0, &protoError{s}
}

type protoError struct{ s string }

func (e *protoError) Error() string { return `unknown protocol "` + e.s + `": use tcp, udp or any` }
