package scenes

import (
	"context"
	"fmt"
	"time"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/mesh"
	"github.com/ztlab/zt-lab/sniffer"
)

// sceneEncrypted proves with the sniffer that the mesh carries only
// ciphertext, Consul's own traffic included.
func sceneEncrypted() Scene {
	return Scene{
		ID: "encrypted", Title: "Validating encryption", Panel: PanelSniffer,
		Needs: StageSidecars, Reaches: StageSidecars,
		Steps: []Step{
			{
				Title: "Sniff the wire while fcc00 fetches through the mesh",
				Shell: "tcpdump -i wire0 -X port 9191",
				Do: func(ctx context.Context, env *Env) error {
					if err := env.StartSniffer(); err != nil {
						return err
					}
					for range 3 {
						if _, err := env.Consume(ctx, ConsumerHost, MeshAddr); err != nil {
							return err
						}
					}
					return nil
				},
				Verify: func(ctx context.Context, env *Env) check.Check {
					return env.checkWire(ctx, "no fortune bytes on the wire through the mesh", ConsumerHost, ServiceHost, mesh.MeshPort, sniffer.Encrypted)
				},
			},
			{
				Title: "Consul's own gossip and RPC are encrypted too",
				Shell: "tcpdump -i wire0 -X 'port 8300 or port 8301'",
				Do: func(ctx context.Context, env *Env) error {
					// Ask the agents something that needs the servers,
					// so RPC crosses the wire while the sniffer watches.
					return env.Cluster().Touch(ctx)
				},
				Verify: checkConsulWire,
			},
		},
	}
}

// checkConsulWire proves Consul's gossip and RPC on the wire are
// encrypted: every flow on 8301 and 8300 the sniffer saw.
func checkConsulWire(ctx context.Context, env *Env) check.Check {
	const name = "Consul gossip and RPC on the wire are encrypted"
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var c check.Check
	_ = waitUntil(ctx, 50*time.Millisecond, func() bool {
		c = measureConsulWire(env, name)
		return c.Pass
	})
	return c
}

func measureConsulWire(env *Env, name string) check.Check {
	a := env.Analyzer()
	if a == nil {
		return check.Failf(name, "no capture ran")
	}
	seen := map[uint16]int{}
	c := check.Check{Name: name, Pass: true}
	for _, f := range a.Flows() {
		port := f.Key.Server.Port()
		if port != mesh.ServerPort && port != mesh.SerfPort {
			continue
		}
		seen[port]++
		if f.Verdict.Kind != sniffer.Encrypted || f.Verdict.KnownBytes != 0 {
			c.Pass = false
			c.Evidence = append(c.Evidence, fmt.Sprintf("%s %s: %s", f.Key.Proto, f.Direction(a.Names(), 0), f.Verdict))
		}
	}
	for _, port := range []uint16{mesh.SerfPort, mesh.ServerPort} {
		if seen[port] == 0 {
			c.Pass = false
			c.Evidence = append(c.Evidence, fmt.Sprintf("no flow on port %d seen yet", port))
		}
	}
	if c.Pass {
		c.Evidence = append(c.Evidence,
			fmt.Sprintf("%d gossip flows on %d: ENCRYPTED", seen[mesh.SerfPort], mesh.SerfPort),
			fmt.Sprintf("%d RPC flows on %d: ENCRYPTED (TLS)", seen[mesh.ServerPort], mesh.ServerPort))
		for _, f := range a.Flows() {
			if p := f.Key.Server.Port(); p == mesh.ServerPort || p == mesh.SerfPort {
				c.Evidence = append(c.Evidence, fmt.Sprintf("e.g. %s %s: %s", f.Key.Proto, f.Direction(a.Names(), 0), f.Verdict))
				break
			}
		}
	}
	return c
}
