package mallory

import (
	"fmt"
	"net/netip"
	"time"
)

// Attack is the man in the middle between a victim (the consumer) and a
// service: both hosts' ARP caches poisoned, the victim's connections to
// the service's port taken and relayed with the fortune rewritten, and
// everything else forwarded unchanged.
type Attack struct {
	// Iface is mallory's interface on the wire; empty: the one that holds
	// an address in the victim's subnet.
	Iface   string
	Victim  netip.Addr // the consumer, fcc00
	Service netip.Addr // the fortune service, fcs00
	Port    uint16     // the service's port, 8181
	// Mode is what mallory does with the connections it takes: ModeRewrite
	// (the default), ModeFlip or ModeImpersonate.
	Mode string
	// Every is how often the caches are poisoned again, as arpspoof does:
	// a host that probes its entry would otherwise learn the truth.
	Every time.Duration
	// Logf receives every line the attacker has to say; see the line
	// formats in the package's commands.
	Logf func(format string, args ...any)
}

// Route numbers of the interception: the policy rule's priority and the
// table holding the service's address as local.
const (
	interceptTable    = 8181
	interceptPriority = 8181
)

// RulePriority is the priority of the policy rule mallory adds: `ip rule
// show priority RulePriority` on its host is empty once it is gone.
const RulePriority = interceptPriority

// Undo is what takes mallory's interception out of its host's kernel when
// mallory itself cannot (it was killed): the commands, as `ip` takes them,
// that delete its policy rule and empty its table. Run on the attacker's
// host, each is harmless when there is nothing to delete.
func Undo() [][]string {
	return [][]string{
		{"ip", "-4", "rule", "del", "priority", fmt.Sprint(interceptPriority)},
		{"ip", "-4", "route", "flush", "table", fmt.Sprint(interceptTable)},
	}
}
