//go:build linux

package remote

import (
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// A partition lives in one nftables table of the inet family, so that one
// table holds both IP versions and deleting it undoes everything. The table
// holds a set of peer addresses per IP version and two base chains that
// drop what comes from (input) or goes to (output) an address in them.
const (
	peers4Set   = "peers4"
	peers6Set   = "peers6"
	inputChain  = "input"
	outputChain = "output"
)

// partitionPriority runs the partition's chains before the usual filter
// chains (priority 0). A drop is final at any priority, but dropping first
// keeps the host's own rules from seeing the packet: a `reject` there would
// answer the peer with an ICMP error instead of the silence of a cut wire.
var partitionPriority = nftables.ChainPriorityRef(*nftables.ChainPriorityFilter - 10)

// Partition drops every IPv4 and IPv6 packet from or to any of peers, with
// the nftables table named table (family inet): a set of peers per IP
// version, and an input and an output filter chain at a priority before the
// usual filter chains. Calling it again replaces the peer set (the lab
// grew). The table is replaced in one netlink batch, so a Partition applies
// fully or not at all. It touches nothing outside its table. peers must not
// hold the controller's address: its SSH connection would be cut too.
func Partition(table string, peers []netip.Addr) error {
	if table == "" {
		return errors.New("partition: no table name")
	}
	v4, v6, err := peerElements(peers)
	if err != nil {
		return fmt.Errorf("partition: table inet %s: %w", table, err)
	}
	c, err := nftables.New()
	if err != nil {
		return nftError(fmt.Sprintf("partition: open netlink for table inet %s", table), err)
	}
	if err := queuePartition(c, table, v4, v6); err != nil {
		return nftError(fmt.Sprintf("partition: table inet %s", table), err)
	}
	if err := c.Flush(); err != nil {
		return nftError(fmt.Sprintf("partition: replace table inet %s (sets %s, %s; chains %s, %s)",
			table, peers4Set, peers6Set, inputChain, outputChain), err)
	}
	return nil
}

// queuePartition queues on c the replacement of table by one that drops
// what comes from or goes to the addresses of v4 and v6.
func queuePartition(c *nftables.Conn, table string, v4, v6 []nftables.SetElement) error {
	t := &nftables.Table{Name: table, Family: nftables.TableFamilyINet}
	replaceTable(c, t)
	s4 := &nftables.Set{Table: t, Name: peers4Set, KeyType: nftables.TypeIPAddr}
	if err := c.AddSet(s4, v4); err != nil {
		return fmt.Errorf("set %s: %w", s4.Name, err)
	}
	s6 := &nftables.Set{Table: t, Name: peers6Set, KeyType: nftables.TypeIP6Addr}
	if err := c.AddSet(s6, v6); err != nil {
		return fmt.Errorf("set %s: %w", s6.Name, err)
	}
	in := addChain(c, t, inputChain, nftables.ChainHookInput)
	out := addChain(c, t, outputChain, nftables.ChainHookOutput)
	addDrop(c, in, ip4Saddr, s4)
	addDrop(c, in, ip6Saddr, s6)
	addDrop(c, out, ip4Daddr, s4)
	addDrop(c, out, ip6Daddr, s6)
	return nil
}

// Heal deletes the table a Partition made, and with it every rule of the
// partition. No table is not an error.
func Heal(table string) error {
	if table == "" {
		return errors.New("heal: no table name")
	}
	c, err := nftables.New()
	if err != nil {
		return nftError(fmt.Sprintf("heal: open netlink for table inet %s", table), err)
	}
	t := &nftables.Table{Name: table, Family: nftables.TableFamilyINet}
	// Adding first makes the delete succeed when there is no table; the
	// kernel applies the batch as one transaction.
	c.AddTable(t)
	c.DelTable(t)
	if err := c.Flush(); err != nil {
		return nftError(fmt.Sprintf("heal: delete table inet %s", table), err)
	}
	return nil
}

// replaceTable queues a new, empty t in place of any table of that name:
// the add makes the delete valid when there is no table yet.
func replaceTable(c *nftables.Conn, t *nftables.Table) {
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
}

// addChain queues a filter base chain of t on hook that accepts what its
// rules do not drop.
func addChain(c *nftables.Conn, t *nftables.Table, name string, hook *nftables.ChainHook) *nftables.Chain {
	accept := nftables.ChainPolicyAccept
	return c.AddChain(&nftables.Chain{
		Name:     name,
		Table:    t,
		Type:     nftables.ChainTypeFilter,
		Hooknum:  hook,
		Priority: partitionPriority,
		Policy:   &accept,
	})
}

// addrField is an address in the network header of one IP version.
type addrField struct {
	nfproto byte   // unix.NFPROTO_IPV4 or unix.NFPROTO_IPV6
	offset  uint32 // in the network header
	len     uint32 // bytes
}

var (
	ip4Saddr = addrField{unix.NFPROTO_IPV4, 12, 4}
	ip4Daddr = addrField{unix.NFPROTO_IPV4, 16, 4}
	ip6Saddr = addrField{unix.NFPROTO_IPV6, 8, 16}
	ip6Daddr = addrField{unix.NFPROTO_IPV6, 24, 16}
)

// addDrop queues the rule `ip saddr @set drop` (or daddr, or ip6) in chain.
// The inet family sees both IP versions, so the rule checks the version
// before it reads the address.
func addDrop(c *nftables.Conn, chain *nftables.Chain, f addrField, set *nftables.Set) {
	c.AddRule(&nftables.Rule{
		Table: chain.Table,
		Chain: chain,
		Exprs: []expr.Any{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{f.nfproto}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: f.offset, Len: f.len},
			&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID},
			&expr.Verdict{Kind: expr.VerdictDrop},
		},
	})
}

// peerElements splits peers into the elements of the IPv4 and the IPv6
// set, once each. An IPv4-mapped IPv6 address is its IPv4 address: that
// is what the packets carry.
func peerElements(peers []netip.Addr) (v4, v6 []nftables.SetElement, err error) {
	seen := make(map[netip.Addr]bool, len(peers))
	for i, p := range peers {
		if !p.IsValid() {
			return nil, nil, fmt.Errorf("peer %d is not an address", i)
		}
		p = p.Unmap().WithZone("")
		if seen[p] {
			continue
		}
		seen[p] = true
		if p.Is4() {
			v4 = append(v4, nftables.SetElement{Key: p.AsSlice()})
		} else {
			v6 = append(v6, nftables.SetElement{Key: p.AsSlice()})
		}
	}
	return v4, v6, nil
}

// nftError wraps err with what failed and, when the kernel refused,
// what the supervisor lacks.
func nftError(what string, err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%s: %w (zt-lab's supervisor needs root or CAP_NET_ADMIN on the host)", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
