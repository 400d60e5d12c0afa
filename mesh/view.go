package mesh

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/consul/api"
)

// View is what the cluster looks like now, for a screen: members, raft
// peers and leader, the CA's roots, the services' leaves, the intentions.
type View struct {
	Leader     string // host name of the raft leader; empty when none
	Members    []Member
	Peers      []string // raft voters, by host name
	Roots      []Root
	Leaves     []Identity
	Intentions []string // as `consul intention list` says them: "fcc => fcs (allow)"
	// Secured says the fortune service is registered behind a sidecar.
	Secured bool
}

// Member is an agent as `consul members` shows it.
type Member struct {
	Name, Addr, Role, Status string
}

// View reads the cluster's state from a server. What cannot be read yet
// (no Connect CA, no sidecars) is left empty, not an error.
func (c *Cluster) View(ctx context.Context) (View, error) {
	var v View
	srv, err := c.serverAPI()
	if err != nil {
		return v, err
	}
	q := (&api.QueryOptions{}).WithContext(ctx)
	members, err := srv.Agent().Members(false)
	if err != nil {
		return v, fmt.Errorf("members: %w", err)
	}
	status := map[int]string{0: "none", 1: "alive", 2: "leaving", 3: "left", 4: "failed"}
	for _, m := range members {
		role := "client"
		if m.Tags["role"] == "consul" {
			role = "server"
		}
		v.Members = append(v.Members, Member{Name: m.Name, Addr: m.Addr, Role: role, Status: status[m.Status]})
	}
	sort.Slice(v.Members, func(i, j int) bool { return v.Members[i].Name < v.Members[j].Name })
	if cfg, err := srv.Operator().RaftGetConfiguration(q); err == nil {
		for _, s := range cfg.Servers {
			v.Peers = append(v.Peers, s.Node)
			if s.Leader {
				v.Leader = s.Node
			}
		}
	}
	if roots, _, err := c.Roots(ctx); err == nil {
		v.Roots = roots
	}
	for _, svc := range []string{FortuneService, ConsumerService} {
		if len(c.agentsOf(svc)) == 0 {
			continue
		}
		if id, err := c.Leaf(ctx, svc); err == nil {
			v.Leaves = append(v.Leaves, id)
		}
	}
	v.Secured = len(c.Consumers()) > 0
	entries, _, err := srv.ConfigEntries().List(api.ServiceIntentions, q)
	if err == nil {
		for _, e := range entries {
			si, ok := e.(*api.ServiceIntentionsConfigEntry)
			if !ok {
				continue
			}
			for _, s := range si.Sources {
				v.Intentions = append(v.Intentions, fmt.Sprintf("%s => %s (%s)", s.Name, si.Name, s.Action))
			}
		}
		sort.Strings(v.Intentions)
	}
	return v, nil
}
