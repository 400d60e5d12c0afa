package tui

import (
	"context"

	"github.com/ztlab/zt-lab/mesh"
	"github.com/ztlab/zt-lab/scenes"
)

// meshFromEnv is what the Env's Consul cluster says of itself, for the
// cluster and certificate panels; an empty view before the mesh starts.
func meshFromEnv(env *scenes.Env) func(context.Context) (mesh.View, error) {
	return func(ctx context.Context) (mesh.View, error) {
		c := env.Cluster()
		if c == nil {
			return mesh.View{}, nil
		}
		return c.View(ctx)
	}
}
