package infra

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseSubnetKeepsTheLabOffPublicAddresses(t *testing.T) {
	for _, tc := range []struct {
		in     string
		public bool // refused by ParseSubnet only
		want   string
	}{
		{in: "198.18.0.0/24"},
		{in: "198.19.255.0/24"},
		{in: "10.0.0.0/8"},
		{in: "172.16.0.0/12"},
		{in: "172.31.5.0/24"},
		{in: "192.168.7.0/24"},
		{in: "100.64.0.0/10"},
		{in: "192.0.2.0/24"},
		{in: "198.51.100.0/24"},
		{in: "203.0.113.0/24"},
		{in: "8.8.8.0/24", public: true, want: "address range 8.8.8.0/24 is public"},
		{in: "172.32.0.0/24", public: true, want: "is public"},
		{in: "198.16.0.0/14", public: true, want: "is public"},
		{in: "100.128.0.0/16", public: true, want: "is public"},
		{in: "1.0.0.0/8", public: true, want: "--allow-public-subnet"},
		{in: "127.0.0.0/24", want: "not a unicast range"},
		{in: "10.0.0.0/27", want: "too small"},
		{in: "10.0.0.1/24", want: "host bits are set"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			p, err := ParseSubnet(tc.in)
			switch {
			case tc.want == "":
				if err != nil || p.String() != tc.in {
					t.Errorf("ParseSubnet(%q) = %v, %v; want it accepted", tc.in, p, err)
				}
			case err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n"):
				t.Errorf("ParseSubnet(%q) = %v, %v; want one line with %q", tc.in, p, err, tc.want)
			}
			var pub PublicSubnetError
			if errors.As(err, &pub) != tc.public {
				t.Errorf("ParseSubnet(%q): %v; a public range: %v", tc.in, err, tc.public)
			}
			any, err := ParseAnySubnet(tc.in)
			if (tc.want == "" || tc.public) && (err != nil || any.String() != tc.in) {
				t.Errorf("ParseAnySubnet(%q) = %v, %v; want it accepted", tc.in, any, err)
			}
		})
	}
}

func FuzzParseSubnet(f *testing.F) {
	for _, s := range []string{"198.18.0.0/24", "8.8.8.0/24", "10.0.0.0/8", "fd00::/64", "banana", "0.0.0.0/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseSubnet(s)
		if err != nil {
			return
		}
		if !IsPrivateRange(p) || p.Masked() != p || !p.Addr().Is4() || p.Bits() > MinSubnetBits {
			t.Fatalf("ParseSubnet(%q) accepted %v", s, p)
		}
		topo := DefaultTopology()
		topo.Subnet = p
		if err := topo.Validate(); err != nil {
			t.Fatalf("the default lab does not fit %v: %v", p, err)
		}
		if a := topo.WireAddr(); !netip.PrefixFrom(a, p.Bits()).Masked().Addr().IsValid() || !p.Contains(a) {
			t.Fatalf("wire address %v is not in %v", a, p)
		}
	})
}
