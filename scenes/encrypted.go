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
// encrypted: every flow on 8301 and 8300 the sniffer saw. "Every flow is
// encrypted" is a negative claim, so it is measured once, on all the
// evidence, as checkWire does — never retried until a lucky measurement
// passes. Consul's flows do not close as a fetch's do (gossip is UDP, RPC
// rides pooled connections), so "all the evidence" is: flows on both ports
// seen, and every one of them closed or judged (a verdict other than
// UNKNOWN: a PLAINTEXT one settles it as well as an ENCRYPTED one), or
// three seconds passed.
func checkConsulWire(ctx context.Context, env *Env) check.Check {
	const name = "Consul gossip and RPC on the wire are encrypted"
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_ = waitUntil(ctx, 50*time.Millisecond, func() bool {
		a := env.Analyzer()
		return a != nil && consulWireSettled(a.Flows())
	})
	return measureConsulWire(env, name)
}

// isConsulWire reports whether a flow is Consul's own: RPC to a server on
// 8300 or gossip on 8301.
func isConsulWire(f sniffer.FlowSummary) bool {
	p := f.Key.Server.Port()
	return p == mesh.ServerPort || p == mesh.SerfPort
}

// carriesNothing reports whether a flow has carried no payload either way
// — a connection being opened as the capture is read, or one to a host
// that does not answer: nothing on it to be read or to be judged.
func carriesNothing(f sniffer.FlowSummary) bool {
	return f.Payload[0] == 0 && f.Payload[1] == 0
}

// consulWireSettled reports whether the flows hold all the evidence
// checkConsulWire waits for: flows on both of Consul's ports, each closed
// or with a verdict reached.
func consulWireSettled(flows []sniffer.FlowSummary) bool {
	seen := map[uint16]bool{}
	for _, f := range flows {
		if !isConsulWire(f) {
			continue
		}
		if carriesNothing(f) {
			continue
		}
		seen[f.Key.Server.Port()] = true
		if !f.Closed && f.Verdict.Kind == sniffer.Unknown {
			return false
		}
	}
	return seen[mesh.ServerPort] && seen[mesh.SerfPort]
}

func measureConsulWire(env *Env, name string) check.Check {
	a := env.Analyzer()
	if a == nil {
		return check.Failf(name, "no capture ran")
	}
	return judgeConsulWire(name, a.Flows(), a.Names())
}

// judgeConsulWire is checkConsulWire's verdict on what the sniffer
// measured: every flow on 8300 and 8301 ENCRYPTED with no fortune byte,
// and flows on both ports.
func judgeConsulWire(name string, flows []sniffer.FlowSummary, names sniffer.Names) check.Check {
	seen := map[uint16]int{}
	empty := 0
	c := check.Check{Name: name, Pass: true}
	for _, f := range flows {
		if f.Key.Server.Port() == mesh.HTTPPort { // the agents' APIs listen on loopback only
			c.Pass = false
			c.Evidence = append(c.Evidence, fmt.Sprintf("an agent's HTTP API on the wire: %s %s: %s", f.Key.Proto, f.Direction(names, 0), f.Verdict))
			continue
		}
		if !isConsulWire(f) {
			continue
		}
		if carriesNothing(f) {
			empty++
			continue
		}
		port := f.Key.Server.Port()
		seen[port]++
		if f.Verdict.Kind != sniffer.Encrypted || f.Verdict.KnownBytes != 0 {
			c.Pass = false
			c.Evidence = append(c.Evidence, fmt.Sprintf("%s %s: %s", f.Key.Proto, f.Direction(names, 0), f.Verdict))
		}
	}
	for _, port := range []uint16{mesh.SerfPort, mesh.ServerPort} {
		if seen[port] == 0 {
			c.Pass = false
			c.Evidence = append(c.Evidence, fmt.Sprintf("no flow on port %d seen", port))
		}
	}
	if c.Pass {
		c.Evidence = append(c.Evidence,
			fmt.Sprintf("%d gossip flows on %d: ENCRYPTED", seen[mesh.SerfPort], mesh.SerfPort),
			fmt.Sprintf("%d RPC flows on %d: ENCRYPTED (TLS)", seen[mesh.ServerPort], mesh.ServerPort),
			fmt.Sprintf("0 flows to an agent's HTTP API (%d): zt-lab asks each agent on its own host", mesh.HTTPPort))
		if empty > 0 {
			c.Evidence = append(c.Evidence, fmt.Sprintf("%d flow(s) had carried no payload yet: nothing on them to judge", empty))
		}
		for _, f := range flows {
			if isConsulWire(f) {
				c.Evidence = append(c.Evidence, fmt.Sprintf("e.g. %s %s: %s", f.Key.Proto, f.Direction(names, 0), f.Verdict))
				break
			}
		}
	}
	return c
}
