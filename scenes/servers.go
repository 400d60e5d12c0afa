package scenes

import (
	"context"
	"errors"
	"fmt"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/mesh"
)

// sceneServers starts the three Consul servers and proves a leader, and
// that there are three of them in raft.
func sceneServers() Scene {
	return Scene{
		ID: "servers", Title: "The service mesh servers", Panel: PanelCluster,
		Needs: StageFortune, Reaches: StageServers,
		Steps: []Step{{
			Title: "Start three Consul servers and elect a leader",
			Shell: "consul agent -server -bootstrap-expect=3 -retry-join=consul00 -retry-join=consul01 -retry-join=consul02 -encrypt=$(consul keygen)",
			Do: func(ctx context.Context, env *Env) error {
				c, err := env.newCluster()
				if err != nil {
					return err
				}
				return c.UpServers(ctx)
			},
			Verify: meshCheck((*mesh.Cluster).CheckLeader),
		}, {
			Title: "Count the raft peers: three servers, each a voter",
			Shell: "consul operator raft list-peers",
			Verify: meshCheck(func(c *mesh.Cluster, ctx context.Context) check.Check {
				return c.CheckRaftPeers(ctx, 3)
			}),
		}},
	}
}

// newCluster prepares the mesh on the lab's hosts.
func (e *Env) newCluster() (*mesh.Cluster, error) {
	if e.Consul == "" {
		return nil, errors.New("no consul binary: run `make consul`, or pass --consul")
	}
	bin, err := mesh.FindConsul(context.Background(), e.Consul)
	if err != nil {
		return nil, err
	}
	root := &Env{world: e.world} // no step's view: the step run last
	c, err := mesh.New(e.Lab(), bin, mesh.Options{
		Self:        e.Self,
		FortuneArgs: []string{"--seed", fmt.Sprint(e.Seed)},
		// The cluster outlives this step: its lines belong to the step
		// that is driving it when they come.
		Progress: func(line string) { root.Logf("%s", line) },
	})
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.cluster = c
	e.mu.Unlock()
	return c, nil
}
