package infra

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
)

// Role is what a host is for in the walkthrough.
type Role string

const (
	RoleConsul   Role = "consul" // a Consul server
	RoleService  Role = "fcs"    // runs the Fortune Cookie Service
	RoleConsumer Role = "fcc"    // runs the Fortune Cookie Consumer
	RoleOther    Role = "other"  // anything else: a rogue service, a spare
	// RoleAttacker is mallory, the man in the middle on the wire: no
	// agent, no certificate.
	RoleAttacker Role = "attacker"
)

// AttackerHost is the attacker's name in every lab.
const AttackerHost = "mallory"

// DefaultSubnet is the lab's address range: 198.18.0.0/15 is reserved for
// benchmarking (RFC 2544), so it collides with no real network.
var DefaultSubnet = netip.MustParsePrefix("198.18.0.0/24")

// MinSubnetBits is the longest prefix a lab accepts: the address plan below
// needs 64 addresses.
const MinSubnetBits = 26

// HostSpec names a host and its role.
type HostSpec struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
}

// Topology is the set of hosts a lab starts with, and its address range.
type Topology struct {
	Subnet netip.Prefix `json:"subnet"`
	Hosts  []HostSpec   `json:"hosts"`
}

// DefaultTopology is the seeds' five hosts: three Consul servers, the
// fortune service and its consumer.
func DefaultTopology() Topology {
	return Topology{
		Subnet: DefaultSubnet,
		Hosts: []HostSpec{
			{"consul00", RoleConsul},
			{"consul01", RoleConsul},
			{"consul02", RoleConsul},
			{"fcs00", RoleService},
			{"fcc00", RoleConsumer},
		},
	}
}

// PrivateRanges are the ranges a lab may use without --allow-public-subnet:
// private (RFC 1918), shared (RFC 6598), benchmarking (RFC 2544) and
// documentation (RFC 5737) addresses, none of which a real host on the
// internet has.
var PrivateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
}

// IsPrivateRange reports whether p lies wholly inside one of PrivateRanges.
func IsPrivateRange(p netip.Prefix) bool {
	for _, r := range PrivateRanges {
		if r.Bits() <= p.Bits() && r.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// PublicSubnetError is a range that real hosts on the internet use: inside
// the sandbox it works, but a lab shell's `curl` to one of those hosts
// would reach a lab host instead.
type PublicSubnetError struct{ Subnet netip.Prefix }

func (e PublicSubnetError) Error() string {
	return fmt.Sprintf("address range %s is public: in the lab's shells it would hide the real hosts of that range; use a private or test range such as %s or 10.0.0.0/24, or pass --allow-public-subnet", e.Subnet, DefaultSubnet)
}

// PublicSubnetWarning is what to say when a public range is used anyway.
func PublicSubnetWarning(p netip.Prefix) string {
	return fmt.Sprintf("warning: address range %s is public: in the lab's shells its real hosts are out of reach", p)
}

// ParseSubnet checks a user's address range as ParseAnySubnet does, and
// refuses a public one (PublicSubnetError).
func ParseSubnet(s string) (netip.Prefix, error) {
	p, err := ParseAnySubnet(s)
	if err != nil {
		return p, err
	}
	if !IsPrivateRange(p) {
		return netip.Prefix{}, PublicSubnetError{p}
	}
	return p, nil
}

// ParseAnySubnet checks a user's address range: IPv4, a network address,
// room for the lab, and not a range that would shadow something the machine
// uses (loopback, link-local, multicast). A public range passes.
func ParseAnySubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid address range %q: want an IPv4 CIDR like %s", s, DefaultSubnet)
	}
	a := p.Addr()
	switch {
	case !a.Is4():
		return netip.Prefix{}, fmt.Errorf("invalid address range %q: only IPv4 is supported, e.g. %s", s, DefaultSubnet)
	case p.Bits() > MinSubnetBits:
		return netip.Prefix{}, fmt.Errorf("invalid address range %q: too small, the lab needs at least a /%d", s, MinSubnetBits)
	case p.Bits() < 8:
		return netip.Prefix{}, fmt.Errorf("invalid address range %q: too large, use a /8 to /%d", s, MinSubnetBits)
	case p.Masked() != p:
		return netip.Prefix{}, fmt.Errorf("invalid address range %q: host bits are set, did you mean %s?", s, p.Masked())
	case a.IsLoopback(), a.IsMulticast(), a.IsLinkLocalUnicast(), a.IsUnspecified(), a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return netip.Prefix{}, fmt.Errorf("invalid address range %q: not a unicast range, use e.g. %s", s, DefaultSubnet)
	}
	return p, nil
}

var hostName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,9}$`)

// namePattern splits "fcs01" into role word and index.
var namePattern = regexp.MustCompile(`^([a-z-]*?)(\d+)$`)

// Validate checks names and that every host gets an address.
func (t Topology) Validate() error {
	seen := map[string]bool{}
	used := map[netip.Addr]string{}
	for _, h := range t.Hosts {
		if !hostName.MatchString(h.Name) {
			return fmt.Errorf("invalid host name %q: use 1-10 lower-case letters, digits or '-', starting with a letter", h.Name)
		}
		if seen[h.Name] {
			return fmt.Errorf("host %q is listed twice", h.Name)
		}
		seen[h.Name] = true
		a, err := t.Addr(h)
		if err != nil {
			return err
		}
		if other, ok := used[a]; ok {
			return fmt.Errorf("hosts %q and %q would share address %s", other, h.Name, a)
		}
		used[a] = h.Name
	}
	return nil
}

// WireAddr is the wire's own address: the first in the range.
func (t Topology) WireAddr() netip.Addr { return offset(t.Subnet, 1) }

// Addr is a host's address. The plan keeps addresses readable in a packet
// dump: consulNN is .10+NN, fcsNN .20+NN, fccNN .30+NN, any other host
// .40+NN, the attacker .60+NN, where NN is the number the name ends
// with.
func (t Topology) Addr(h HostSpec) (netip.Addr, error) {
	base := map[Role]int{RoleConsul: 10, RoleService: 20, RoleConsumer: 30, RoleOther: 40, RoleAttacker: 60}[h.Role]
	if base == 0 {
		return netip.Addr{}, fmt.Errorf("host %q has unknown role %q", h.Name, h.Role)
	}
	n := 0
	if m := namePattern.FindStringSubmatch(h.Name); m != nil {
		n, _ = strconv.Atoi(m[2])
	}
	limit := 10
	switch h.Role {
	case RoleOther:
		limit = 20
	case RoleAttacker:
		limit = 3 // .60-.62 fit the smallest range, a /26
	}
	if n >= limit {
		return netip.Addr{}, fmt.Errorf("host %q: number %d is too high for role %s (at most %d)", h.Name, n, h.Role, limit-1)
	}
	return offset(t.Subnet, base+n), nil
}

// RoleOf guesses a host's role from its name, for hosts added by name only.
func RoleOf(name string) Role {
	m := namePattern.FindStringSubmatch(name)
	word := name
	if m != nil {
		word = m[1]
	}
	switch word {
	case "consul":
		return RoleConsul
	case "fcs":
		return RoleService
	case "fcc":
		return RoleConsumer
	case AttackerHost:
		return RoleAttacker
	}
	return RoleOther
}

func offset(p netip.Prefix, n int) netip.Addr {
	b := p.Masked().Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
