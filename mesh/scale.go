package mesh

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ztlab/zt-lab/infra"
)

// AddInstance puts the fortune service on another host into the mesh, as
// the seeds' "more instances": a client agent joins, the secure service
// is registered with its sidecar, and it is healthy when AddInstance
// returns. The fortune service itself must already listen on the host's
// loopback.
func (c *Cluster) AddInstance(ctx context.Context, h infra.Host) error {
	if err := c.Join(ctx, h); err != nil {
		return err
	}
	s, err := c.deploy(ctx, h, SecureRegistration(h.Addr(), c.opts.CheckInterval), netip.AddrPortFrom(h.Addr(), MeshPort))
	if err != nil {
		return err
	}
	return c.waitHealthy(ctx, []*sidecar{s})
}

// liveAgent is an agent whose host is up: failure scenes take hosts away,
// and the question must go to one that can answer.
func (c *Cluster) liveAgent(prefer ...string) (*agent, error) {
	for _, name := range prefer {
		if a, ok := c.agent(name); ok && a.host.State() == infra.StateUp {
			return a, nil
		}
	}
	for _, a := range c.servers() {
		if a.host.State() == infra.StateUp {
			return a, nil
		}
	}
	return nil, errors.New("no consul agent is up to ask")
}

// Healthy lists the hosts with a passing instance of service as consumer
// sees them, sorted: what the consumer's own sidecar would pick from (its
// agent's cached, streaming view of the instances whose sidecars and nodes
// pass, read with the consumer service's token), or, on a host with no
// consumer, its agent's view of the service's instances. With index > 0 it
// is a blocking query that returns when the answer changes or wait passes.
func (c *Cluster) Healthy(ctx context.Context, consumer, service string, index uint64, wait time.Duration) ([]string, uint64, error) {
	a, err := c.liveAgent(consumer)
	if err != nil {
		return nil, 0, err
	}
	q := (&api.QueryOptions{WaitIndex: index, WaitTime: wait}).WithContext(ctx)
	lookup := a.api.Health().Service
	for _, k := range c.Consumers() {
		if k.Host.Name() == a.host.Name() {
			q.UseCache, q.AllowStale, q.Token = true, true, c.ServiceTokenSecret(k.Name)
			lookup = a.api.Health().Connect
			break
		}
	}
	entries, meta, err := lookup(service, "", true, q)
	if err != nil {
		return nil, 0, fmt.Errorf("healthy instances of %s: %w", service, err)
	}
	var nodes []string
	for _, e := range entries {
		nodes = append(nodes, e.Node.Node)
	}
	slices.Sort(nodes)
	return nodes, meta.LastIndex, nil
}

// WaitHealthy waits until the healthy instances of service, as consumer
// sees them, satisfy ok, watching with blocking queries, and returns them
// and how long it took.
func (c *Cluster) WaitHealthy(ctx context.Context, consumer, service string, ok func([]string) bool) ([]string, time.Duration, error) {
	start := time.Now()
	var index uint64
	var last error
	var nodes []string // the last answer, for the error
	for {
		seen, next, err := c.Healthy(ctx, consumer, service, index, 2*time.Second)
		if err == nil {
			nodes = seen
			if ok(nodes) {
				return nodes, time.Since(start), nil
			}
		}
		if err != nil && ctx.Err() == nil {
			last = err
		}
		if ctx.Err() != nil {
			if last != nil {
				return nodes, time.Since(start), fmt.Errorf("healthy instances of %s are %v (last error: %v): %w", service, nodes, last, ctx.Err())
			}
			return nodes, time.Since(start), fmt.Errorf("healthy instances of %s are %v: %w", service, nodes, ctx.Err())
		}
		if err != nil || next < index {
			next = 0 // start over, after a moment
			time.Sleep(50 * time.Millisecond)
		}
		index = next
	}
}

// Leader asks the servers that are up who leads, and returns its host name.
func (c *Cluster) Leader(ctx context.Context) (string, error) {
	var errs []error
	for _, a := range c.servers() {
		if a.host.State() != infra.StateUp {
			continue
		}
		addr, err := a.api.Status().LeaderWithQueryOptions((&api.QueryOptions{}).WithContext(ctx))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ap, perr := netip.ParseAddrPort(addr)
		for _, s := range c.servers() {
			if perr == nil && ap.Addr() == s.host.Addr() {
				return s.host.Name(), nil
			}
		}
		errs = append(errs, fmt.Errorf("%s knows no leader yet", a.host.Name()))
	}
	return "", fmt.Errorf("no leader: %w", errors.Join(errs...))
}

// RaftTimeouts reads the heartbeat and election timeouts raft runs with,
// from a server that is up. A follower notices a crashed leader one to two
// heartbeat timeouts after its last heartbeat; the lab's consul halves
// Consul's 1 s floor (tools/consul/fastraft.sh), a stock one does not.
func (c *Cluster) RaftTimeouts(ctx context.Context) (heartbeat, election time.Duration, err error) {
	var errs []error
	for _, a := range c.servers() {
		if a.host.State() != infra.StateUp {
			continue
		}
		self, err := a.api.Agent().Self()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return raftTimeouts(self)
	}
	return 0, 0, fmt.Errorf("no server answers: %w", errors.Join(errs...))
}

// raftTimeouts reads them from /v1/agent/self, whose DebugConfig gives
// durations as strings ("500ms").
func raftTimeouts(self map[string]map[string]any) (heartbeat, election time.Duration, err error) {
	get := func(key string) (time.Duration, error) {
		s, ok := self["DebugConfig"][key].(string)
		if !ok {
			return 0, fmt.Errorf("/v1/agent/self has no DebugConfig.%s", key)
		}
		return time.ParseDuration(s)
	}
	if heartbeat, err = get("ConsulRaftHeartbeatTimeout"); err != nil {
		return 0, 0, err
	}
	if election, err = get("ConsulRaftElectionTimeout"); err != nil {
		return 0, 0, err
	}
	return heartbeat, election, nil
}

// Rejoin has the agent on host join the servers again, as `consul join`
// would: after a partition heals, serf on its own retries failed members
// only every 30 s.
func (c *Cluster) Rejoin(ctx context.Context, h infra.Host) error {
	a, ok := c.agent(h.Name())
	if !ok {
		return nil
	}
	var errs []error
	for _, s := range c.servers() {
		if s.host.Name() == h.Name() || s.host.State() != infra.StateUp {
			continue
		}
		if err := a.api.Agent().Join(s.host.Addr().String(), false); err != nil {
			errs = append(errs, err)
			continue
		}
		return nil
	}
	return fmt.Errorf("%s could not rejoin: %w", h.Name(), errors.Join(errs...))
}

// WaitRejoined waits until host's agent is alive in serf as a server that is
// up (not host itself) sees it: a recovered node has rejoined.
func (c *Cluster) WaitRejoined(ctx context.Context, host string) error {
	for {
		for _, a := range c.servers() {
			if a.host.Name() == host || a.host.State() != infra.StateUp {
				continue
			}
			members, err := a.api.Agent().Members(false)
			if err != nil {
				continue
			}
			for _, m := range members {
				if m.Name == host && m.Status == 1 { // serf: alive
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s is not alive again: %w", host, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
