package remote

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"
)

// The names and ranges the controller works out for its hosts, on any
// system it runs on; what acts on a host (the agent, its capture and
// firewall) is Linux's.

// Table names: "zt_lab_" and the lab id when it is made of letters, digits
// and underscores only and short enough; otherwise as much of it as fits,
// sanitized, and a hash of the whole id so that two ids never share a name.
const (
	tableNamePrefix = "zt_lab_"
	// tableNameMax fits the 32 bytes (NUL included) that kernels before
	// 4.16 allow; later ones allow 256.
	tableNameMax = 31
	tableHashLen = 8 // hex digits of the id's hash
)

// TableName returns the nftables table that holds the partition of the lab
// labID on a host: "zt_lab_" followed by the id, sanitized to letters,
// digits and underscores and bounded to 31 characters. An id that had to be
// changed to fit ends with a hash of the original, so distinct ids give
// distinct names.
func TableName(labID string) string {
	clean := sanitizeName(labID)
	if clean == labID && len(tableNamePrefix)+len(clean) <= tableNameMax {
		return tableNamePrefix + clean
	}
	sum := sha256.Sum256([]byte(labID))
	hash := hex.EncodeToString(sum[:])[:tableHashLen]
	keep := tableNameMax - len(tableNamePrefix) - len("_") - tableHashLen
	if len(clean) > keep {
		clean = clean[:keep]
	}
	return tableNamePrefix + clean + "_" + hash
}

// sanitizeName replaces every rune that is not an ASCII letter, digit or
// underscore with an underscore.
func sanitizeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
}

// LabNet is the smallest IPv4 range that holds every address given: what a
// remote capture keeps. IPv6 addresses are left out; no addresses give an
// invalid prefix.
func LabNet(addrs ...netip.Addr) netip.Prefix {
	var first netip.Addr
	for _, a := range addrs {
		if a = a.Unmap(); a.Is4() {
			first = a
			break
		}
	}
	if !first.IsValid() {
		return netip.Prefix{}
	}
	for bits := 32; bits >= 0; bits-- {
		p := netip.PrefixFrom(first, bits).Masked()
		all := true
		for _, a := range addrs {
			if a = a.Unmap(); a.Is4() && !p.Contains(a) {
				all = false
				break
			}
		}
		if all {
			return p
		}
	}
	return netip.Prefix{} // unreachable: /0 holds every address
}
