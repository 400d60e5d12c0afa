package scenes

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/infra"
)

// sceneLab deploys the five hosts of the seeds on one wire.
func sceneLab() Scene {
	return Scene{
		ID: "lab", Title: "The lab", Panel: PanelTopology,
		Needs: StageNone, Reaches: StageHosts,
		Steps: []Step{{
			Title: "Deploy five hosts",
			Shell: "zt-lab up    # the seeds: terraform apply, five c3.small.x86 hosts",
			Do: func(ctx context.Context, env *Env) error {
				start := time.Now()
				if err := env.Reset(ctx); err != nil {
					return err
				}
				for _, h := range env.Lab().Hosts() {
					env.Logf("%-9s %-15s up", h.Name(), h.Addr())
				}
				env.Logf("five hosts in %d ms", time.Since(start).Milliseconds())
				return nil
			},
			Verify: checkHostsUp,
		}},
	}
}

// checkHostsUp proves every host of the seeds is up, on the wire, with
// an address of its own.
func checkHostsUp(ctx context.Context, env *Env) check.Check {
	const name = "five hosts up on one wire"
	l := env.Lab()
	if l == nil {
		return check.Failf(name, "no lab")
	}
	var ev []string
	seen := map[netip.Addr]string{}
	for _, want := range []string{"consul00", "consul01", "consul02", ServiceHost, ConsumerHost} {
		h, ok := l.Host(want)
		if !ok {
			return check.Failf(name, "the lab has no %s", want)
		}
		if h.State() != infra.StateUp {
			return check.Failf(name, "%s is %s", want, h.State())
		}
		if other, dup := seen[h.Addr()]; dup {
			return check.Failf(name, "%s and %s share %s", want, other, h.Addr())
		}
		seen[h.Addr()] = want
		ev = append(ev, fmt.Sprintf("%s %s up", want, h.Addr()))
	}
	return check.Check{Name: name, Pass: true, Evidence: ev}
}
