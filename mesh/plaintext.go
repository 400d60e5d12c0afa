package mesh

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/infra"
)

// CheckPlaintextRegistered proves the seeds' first registration: on every
// fortune host, that host's own agent holds fcs at the host's address,
// port 8181, as a plain service, and the catalog lists it there; and
// nothing of the mesh fronts it yet: no sidecar proxy for fcs and no
// Connect-native instance, on the agent or anywhere in the catalog.
func (c *Cluster) CheckPlaintextRegistered(ctx context.Context) check.Check {
	ch := check.Check{Name: "fcs registered in plaintext, with no sidecar"}
	hosts := c.hosts(infra.RoleService)
	if len(hosts) == 0 {
		ch.Seen("the lab has no fortune host")
		return ch
	}
	srv, err := c.serverAPI()
	if err != nil {
		ch.Seen("%v", err)
		return ch
	}
	q := (&api.QueryOptions{}).WithContext(ctx)
	listed, _, err := srv.Catalog().Service(FortuneService, "", q)
	if err != nil {
		ch.Seen("catalog of %s: %v", FortuneService, err)
		return ch
	}
	ok := true
	for _, h := range hosts {
		ok = c.plaintextOnAgent(ctx, h, &ch) && ok
		want := fmt.Sprintf("%s:%d", h.Addr(), FortunePort)
		i := slices.IndexFunc(listed, func(s *api.CatalogService) bool {
			return s.Node == h.Name() && s.ServiceID == PlaintextID
		})
		if i < 0 {
			ch.Seen("catalog: no %s on %s (%d instances listed)", PlaintextID, h.Name(), len(listed))
			ok = false
			continue
		}
		s := listed[i]
		at := fmt.Sprintf("%s:%d", s.ServiceAddress, s.ServicePort)
		ch.Seen("catalog: %s on %s at %s, tags %v", s.ServiceName, s.Node, at, s.ServiceTags)
		if at != want {
			ch.Seen("catalog: %s on %s is at %s, not %s", s.ServiceName, s.Node, at, want)
			ok = false
		}
		if s.ServiceProxy != nil && s.ServiceProxy.DestinationServiceName != "" {
			ch.Seen("catalog: %s on %s is a proxy for %s", s.ServiceName, s.Node, s.ServiceProxy.DestinationServiceName)
			ok = false
		}
	}
	// What the mesh would route to: sidecars of fcs and native instances.
	meshed, _, err := srv.Catalog().Connect(FortuneService, "", q)
	if err != nil {
		ch.Seen("catalog of Connect-capable %s: %v", FortuneService, err)
		return ch
	}
	if len(meshed) > 0 {
		for _, s := range meshed {
			ch.Seen("catalog: Connect-capable %s (%s) on %s: the service is already in the mesh", s.ServiceName, s.ServiceID, s.Node)
		}
		ok = false
	} else {
		ch.Seen("catalog: 0 Connect-capable instances of %s: no sidecar, not native", FortuneService)
	}
	ch.Pass = ok
	return ch
}

// plaintextOnAgent looks at what h's own agent holds: fcs as a plain
// service at h's address and 8181, and no sidecar proxy for it.
func (c *Cluster) plaintextOnAgent(ctx context.Context, h infra.Host, ch *check.Check) bool {
	a, found := c.agent(h.Name())
	if !found {
		ch.Seen("%s: no consul agent there", h.Name())
		return false
	}
	services, err := a.api.Agent().ServicesWithFilterOpts("", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		ch.Seen("%s's agent: services: %v", h.Name(), err)
		return false
	}
	ok := true
	s, found := services[PlaintextID]
	switch {
	case !found || s.Service != FortuneService:
		ch.Seen("%s's agent does not hold %s (it holds %s)", h.Name(), PlaintextID, serviceIDs(services))
		ok = false
	case s.Address != h.Addr().String() || s.Port != FortunePort:
		ch.Seen("%s's agent holds %s at %s:%d, not %s:%d", h.Name(), PlaintextID, s.Address, s.Port, h.Addr(), FortunePort)
		ok = false
	case s.Kind != api.ServiceKindTypical:
		ch.Seen("%s's agent holds %s as a %s, not a plain service", h.Name(), PlaintextID, s.Kind)
		ok = false
	case s.Connect != nil && (s.Connect.Native || s.Connect.SidecarService != nil):
		ch.Seen("%s's agent holds %s with Connect (native %v, sidecar %v)", h.Name(), PlaintextID, s.Connect.Native, s.Connect.SidecarService != nil)
		ok = false
	default:
		ch.Seen("%s's agent: %s (%s) at %s:%d, plain, no Connect", h.Name(), s.ID, s.Service, s.Address, s.Port)
	}
	for _, o := range services {
		if o.Kind == api.ServiceKindConnectProxy && o.Proxy != nil && o.Proxy.DestinationServiceName == FortuneService {
			ch.Seen("%s's agent holds %s, a sidecar for %s", h.Name(), o.ID, FortuneService)
			ok = false
		}
	}
	return ok
}

func serviceIDs(services map[string]*api.AgentService) string {
	var ids []string
	for id := range services {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}
