//go:build linux

package serve

import (
	"net/netip"
	"testing"
)

func TestSubnetsGiveEachLabItsOwnAndReuseTheFreedOne(t *testing.T) {
	var s Subnets
	var got []netip.Prefix
	for range 3 {
		p, err := s.Take()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	for i, want := range []string{"198.18.0.0/24", "198.18.1.0/24", "198.18.2.0/24"} {
		if got[i].String() != want {
			t.Errorf("lab %d: got %v, want %s", i, got[i], want)
		}
	}
	s.Free(got[1])
	if p, _ := s.Take(); p != got[1] {
		t.Errorf("after the second lab ended, the next got %v, want its %v", p, got[1])
	}
}

func TestSubnetsCoverTheWholeRangeAndNoMore(t *testing.T) {
	var s Subnets
	seen := map[netip.Prefix]bool{}
	var last netip.Prefix
	for range MaxSubnets {
		p, err := s.Take()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] || !labRange.Contains(p.Addr()) {
			t.Fatalf("%v: taken twice or outside %v", p, labRange)
		}
		seen[p] = true
		last = p
	}
	if last.String() != "198.19.255.0/24" {
		t.Errorf("the last subnet is %v, want 198.19.255.0/24", last)
	}
	if _, err := s.Take(); err == nil {
		t.Error("a subnet was given out beyond the range")
	}
}
