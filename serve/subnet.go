//go:build linux

package serve

import (
	"errors"
	"net/netip"
	"slices"
	"sync"
)

// labRange is where the attendees' labs take their subnets: the
// benchmarking range 198.18.0.0/15, cut in /24s, one per lab.
var labRange = netip.MustParsePrefix("198.18.0.0/15")

// MaxSubnets is how many labs can have a subnet of their own at once.
const MaxSubnets = 1 << (24 - 15)

// Subnets hands each running lab a /24 of labRange of its own: the
// lowest free one, so the nth lab of a room gets 198.18.n.0/24 and a
// subnet is reused once its lab has ended.
type Subnets struct {
	mu    sync.Mutex
	inUse []bool
}

// errNoSubnet says every /24 of labRange is taken.
var errNoSubnet = errors.New("every /24 of 198.18.0.0/15 is some lab's")

// Take gives out the lowest free subnet.
func (s *Subnets) Take() (netip.Prefix, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := slices.Index(s.inUse, false)
	if n < 0 {
		if len(s.inUse) >= MaxSubnets {
			return netip.Prefix{}, errNoSubnet
		}
		n = len(s.inUse)
		s.inUse = append(s.inUse, false)
	}
	s.inUse[n] = true
	return subnetN(n), nil
}

// Free gives p back.
func (s *Subnets) Free(p netip.Prefix) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := range s.inUse {
		if subnetN(n) == p {
			s.inUse[n] = false
		}
	}
}

// subnetN is the nth /24 of labRange.
func subnetN(n int) netip.Prefix {
	b := labRange.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(n) << 8
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 24)
}
