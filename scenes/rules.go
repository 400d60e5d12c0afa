package scenes

import (
	"context"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/mesh"
)

// rulesStep is the access-control scene's last step: the rogue, from its
// own host, tries to rewrite the intentions that keep it out — over the
// wire to other agents' APIs, and through its own agent with the tokens
// its host holds — and the rules stay as they were.
func rulesStep() Step {
	return Step{
		Title: "The rogue tries to change the rules",
		Shell: "curl fcs00:8500/v1/agent/self ; consul intention create -allow rogue fcs ; consul intention delete '*' '*'   # on rogue00, with its own token",
		Do: func(ctx context.Context, env *Env) error {
			k := env.state().rogue
			if k == nil {
				return nil // Verify says no rogue tried
			}
			s, err := env.Cluster().TryAsStranger(ctx, *k)
			if err != nil {
				return err
			}
			for _, a := range s.Attempts {
				env.Logf("%s", a.Line())
			}
			env.keep(func(w *walkState) { w.strangers = &s })
			return nil
		},
		Verify: func(ctx context.Context, env *Env) check.Check {
			s := env.state().strangers
			if s == nil {
				return check.Failf("the rogue cannot change the rules", "no rogue tried")
			}
			return mesh.CheckStrangers(*s)
		},
	}
}
