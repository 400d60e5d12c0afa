package mesh

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ztlab/zt-lab/infra"
)

// UpServers starts the servers and waits for a leader and the Connect
// CA's first root: the first half of Up, for a walkthrough that shows the
// election before any client joins.
func (c *Cluster) UpServers(ctx context.Context) error {
	start := time.Now()
	c.mu.Lock()
	c.timings = Timings{Start: start}
	c.mu.Unlock()
	if err := c.startAgents(ctx, c.hosts(infra.RoleConsul), true); err != nil {
		return err
	}
	c.mark(&c.timings.ServersUp)
	leader, err := c.waitLeader(ctx)
	if err != nil {
		return err
	}
	c.mark(&c.timings.Leader)
	c.say("leader elected: %s after %s", leader, since(start))
	// The tokens of every agent the lab has hosts for, before the clients
	// start: a client's auto_encrypt needs its token as it starts.
	if err := c.createAgentTokens(ctx, c.hosts(infra.RoleConsul, infra.RoleService, infra.RoleConsumer)); err != nil {
		return err
	}
	if err := c.createLearnerToken(ctx); err != nil {
		return err
	}
	c.say("ACLs: default deny; a token per agent (its node only) and a read-only one for learners")
	root, err := c.waitCARoot(ctx)
	if err != nil {
		return err
	}
	if err := sameKey(root.RootCertPEM, c.connectCA); err != nil {
		return fmt.Errorf("the Connect CA's first root: %w", err)
	}
	c.mark(&c.timings.ConnectCA)
	return nil
}

// UpClients starts a client agent on every service and consumer host and
// waits until every agent is alive: the second half of Up.
func (c *Cluster) UpClients(ctx context.Context) error {
	if err := c.startAgents(ctx, c.hosts(infra.RoleService, infra.RoleConsumer), false); err != nil {
		return err
	}
	if err := c.waitAlive(ctx); err != nil {
		return err
	}
	c.mark(&c.timings.ClientsJoined)
	c.say("%d agents alive after %s", len(c.allAgents()), since(c.Timings().Start))
	return nil
}

func (c *Cluster) mark(d *time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.timings.Start.IsZero() {
		*d = time.Since(c.timings.Start)
	}
}

// Touch asks every client agent for the catalog, which it must fetch from
// the servers: RPC crosses the wire, for a sniffer to see.
func (c *Cluster) Touch(ctx context.Context) error {
	for _, h := range c.hosts(infra.RoleService, infra.RoleConsumer) {
		a, ok := c.agent(h.Name())
		if !ok {
			continue
		}
		q := (&api.QueryOptions{RequireConsistent: true}).WithContext(ctx)
		if _, _, err := a.api.Catalog().Services(q); err != nil {
			return fmt.Errorf("ask %s's agent for the catalog: %w", h.Name(), err)
		}
	}
	return nil
}
