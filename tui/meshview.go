package tui

import (
	"context"
	"errors"

	"github.com/ztlab/zt-lab/mesh"
	"github.com/ztlab/zt-lab/scenes"
)

// errNoCluster says the mesh has not been started (or the lab was reset).
var errNoCluster = errors.New("no Consul cluster yet: the mesh starts with the service mesh servers")

// meshFromEnv reads the cluster and certificate panels from the Env's
// mesh: the leader and members as the checks that prove them report them,
// the CA roots, and the leaf certificates of the fortune service and its
// consumer.
//
// mesh has no typed reads of members and raft peers yet; until it does,
// the panel shows the evidence of CheckLeader and CheckMembers (the lines
// `consul operator raft list-peers` and `consul members` would print).
func meshFromEnv(env *scenes.Env) func(context.Context) (MeshView, error) {
	return func(ctx context.Context) (MeshView, error) {
		c := env.Cluster()
		if c == nil {
			return MeshView{}, errNoCluster
		}
		var v MeshView
		v.Status = append(v.Status, c.CheckLeader(ctx).Evidence...)
		v.Status = append(v.Status, "")
		v.Status = append(v.Status, c.CheckMembers(ctx).Evidence...)
		if roots, _, err := c.Roots(ctx); err == nil {
			for _, r := range roots {
				v.Roots = append(v.Roots, Root{ID: r.ID, Name: r.Name, Active: r.Active, Fingerprint: r.Fingerprint, NotAfter: r.NotAfter})
			}
		}
		for _, svc := range []string{mesh.FortuneService, mesh.ConsumerService} {
			id, err := c.Leaf(ctx, svc)
			if err != nil {
				continue
			}
			v.Certs = append(v.Certs, Cert{Service: id.Service, URI: id.URI, Serial: id.Serial,
				NotBefore: id.NotBefore, NotAfter: id.NotAfter, Root: id.Root})
		}
		return v, nil
	}
}
