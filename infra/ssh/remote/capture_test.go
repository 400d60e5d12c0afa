//go:build linux

package remote

import (
	"net/netip"
	"strings"
	"testing"
)

func TestLabNetHoldsEveryLabAddressAndNoMore(t *testing.T) {
	a := netip.MustParseAddr
	for _, tc := range []struct {
		name  string
		addrs []netip.Addr
		want  string
	}{
		{"one host", []netip.Addr{a("10.0.0.5")}, "10.0.0.5/32"},
		{"a /24 of hosts", []netip.Addr{a("192.168.7.10"), a("192.168.7.11"), a("192.168.7.200")}, "192.168.7.0/24"},
		{"neighbours", []netip.Addr{a("198.18.0.20"), a("198.18.0.21")}, "198.18.0.20/31"},
		{"two private blocks", []netip.Addr{a("10.67.1.5"), a("10.67.130.9")}, "10.67.0.0/16"},
		{"IPv6 is left out", []netip.Addr{a("fd00::1"), a("10.0.0.1"), a("10.0.0.2")}, "10.0.0.0/30"},
		{"a mapped address", []netip.Addr{a("::ffff:10.0.0.1"), a("10.0.0.3")}, "10.0.0.0/30"},
		{"no IPv4 at all", []netip.Addr{a("fd00::1")}, "invalid Prefix"},
		{"nothing", nil, "invalid Prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := LabNet(tc.addrs...).String(); got != tc.want {
				t.Errorf("LabNet(%v) = %s, want %s", tc.addrs, got, tc.want)
			}
		})
	}
}

func TestCaptureRefusesARangeWithoutItsAddress(t *testing.T) {
	err := Capture(t.Context(), netip.MustParseAddr("10.0.0.5"), netip.MustParsePrefix("192.168.0.0/24"), 22, nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "does not hold the lab address 10.0.0.5") {
		t.Errorf("Capture with a range that misses its address: %v", err)
	}
}
