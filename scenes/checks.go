package scenes

import (
	"context"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/mesh"
)

// meshCheck adapts one of the mesh's checks to a step's Verify.
func meshCheck(f func(*mesh.Cluster, context.Context) check.Check) func(context.Context, *Env) check.Check {
	return func(ctx context.Context, env *Env) check.Check {
		c := env.Cluster()
		if c == nil {
			return check.Failf("mesh", "no mesh is running")
		}
		return f(c, ctx)
	}
}

// named gives a check another name: the same proof, told for this step.
func named(name string, f func(context.Context, *Env) check.Check) func(context.Context, *Env) check.Check {
	return func(ctx context.Context, env *Env) check.Check {
		c := f(ctx, env)
		c.Name = name
		return c
	}
}
