package mesh

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/infra"
)

// CheckRaftPeers proves the servers scene's count: every server's own
// raft configuration lists exactly want peers, all of them voters, and
// they are the lab's consul hosts at their RPC addresses; and every server
// was started expecting want (bootstrap_expect, from /v1/agent/self).
// A lab of one server, or a server that never joined raft, fails it even
// though a leader is elected.
func (c *Cluster) CheckRaftPeers(ctx context.Context, want int) check.Check {
	ch := check.Check{Name: fmt.Sprintf("%d servers, all raft voters", want)}
	hosts := c.hosts(infra.RoleConsul)
	expected := map[string]netip.AddrPort{}
	for _, h := range hosts {
		expected[h.Name()] = netip.AddrPortFrom(h.Addr(), ServerPort)
	}
	if len(hosts) != want {
		ch.Seen("the lab has %d consul hosts, want %d", len(hosts), want)
		return ch
	}
	ok := true
	for _, h := range hosts {
		a, found := c.agent(h.Name())
		if !found || !a.server {
			ch.Seen("%s: no consul server there", h.Name())
			ok = false
			continue
		}
		ok = raftPeersOf(ctx, a, want, expected, &ch) && ok
		ok = bootstrapExpectOf(a, want, &ch) && ok
	}
	ch.Pass = ok
	return ch
}

// raftPeersOf checks the raft configuration a's server holds.
func raftPeersOf(ctx context.Context, a *agent, want int, expected map[string]netip.AddrPort, ch *check.Check) bool {
	name := a.host.Name()
	cfg, err := a.api.Operator().RaftGetConfiguration((&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		ch.Seen("%s: raft configuration: %v", name, err)
		return false
	}
	ok := len(cfg.Servers) == want
	var voters []string
	for _, s := range cfg.Servers {
		at, known := expected[s.Node]
		switch {
		case !known:
			ch.Seen("%s: raft peer %s (%s) is not a consul host of the lab", name, s.Node, s.Address)
			ok = false
		case s.Address != at.String():
			ch.Seen("%s: raft peer %s at %s, want %s", name, s.Node, s.Address, at)
			ok = false
		case !s.Voter:
			ch.Seen("%s: raft peer %s is not a voter", name, s.Node)
			ok = false
		default:
			voters = append(voters, s.Node)
		}
	}
	slices.Sort(voters)
	ch.Seen("%s: %d raft peers, %d voters: %s", name, len(cfg.Servers), len(voters), strings.Join(voters, ", "))
	if len(cfg.Servers) != want {
		ch.Seen("%s: %d raft peers, want %d", name, len(cfg.Servers), want)
	}
	return ok && len(voters) == want
}

// bootstrapExpectOf checks what a's server was started expecting.
func bootstrapExpectOf(a *agent, want int, ch *check.Check) bool {
	name := a.host.Name()
	self, err := a.api.Agent().Self()
	if err != nil {
		ch.Seen("%s: /v1/agent/self: %v", name, err)
		return false
	}
	n, found := self["DebugConfig"]["BootstrapExpect"].(float64)
	if !found {
		ch.Seen("%s: /v1/agent/self has no DebugConfig.BootstrapExpect", name)
		return false
	}
	if int(n) != want {
		ch.Seen("%s: bootstrap_expect %d, want %d", name, int(n), want)
		return false
	}
	ch.Seen("%s: bootstrap_expect %d", name, int(n))
	return true
}
