package scenes

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/sniffer"
)

// Stages of the walkthrough, in the order the scenes reach them.
const (
	StageNone       Stage = iota // no lab
	StageHosts                   // five hosts on the wire
	StageFortune                 // the plaintext fortune service on fcs00:8181
	StageServers                 // three Consul servers, a leader
	StageAgents                  // client agents on fcs00 and fcc00
	StageSidecars                // the fortune service behind sidecars
	StageRebound                 // the service on loopback only
	StageIntentions              // deny by default, fcc -> fcs allowed
	StageRotated                 // a new CA root
	StageScaled                  // more fortune hosts, failures survived
)

// Host names of the seeds.
const (
	ServiceHost  = "fcs00"
	ConsumerHost = "fcc00"
	FortunePort  = 8181
)

// Walkthrough is the built-in walkthrough, without its narration (see
// LoadContent).
func Walkthrough() []Scene {
	s := []Scene{
		sceneLab(),
		sceneFortune(),
		sceneMITM(),
	}
	s = append(s, meshScenes()...)
	return append(s, sceneResilience(), sceneSummary())
}

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

func sceneFortune() Scene {
	return Scene{
		ID: "fortune", Title: "The Fortune Cookie Service", Panel: PanelConsumer,
		Needs: StageHosts, Reaches: StageFortune,
		Steps: []Step{
			{
				Title: "Start the fortune service on fcs00:8181",
				Shell: "socat -v tcp-l:8181,bind=0,fork exec:/usr/games/fortune",
				Do: func(ctx context.Context, env *Env) error {
					return env.StartFortune(ctx, ServiceHost, "0.0.0.0")
				},
				Verify: func(ctx context.Context, env *Env) check.Check {
					return env.checkListening(ctx, ServiceHost, "0.0.0.0")
				},
			},
			{
				Title: "fcc00 asks fcs00 for a fortune",
				Shell: "nc fcs00 8181",
				Do: func(ctx context.Context, env *Env) error {
					_, err := env.Consume(ctx, ConsumerHost, fmt.Sprintf("%s:%d", ServiceHost, FortunePort))
					return err
				},
				Verify: checkConsumerGotServed,
			},
		},
	}
}

// checkConsumerGotServed proves the consumer's last fortune is one the
// service sent.
func checkConsumerGotServed(ctx context.Context, env *Env) check.Check {
	const name = "consumer received a fortune"
	got := env.state().lastFortune
	if got == "" {
		return check.Failf(name, "the consumer printed nothing")
	}
	// The service reports what it sent a moment after sending it.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := waitUntil(ctx, 10*time.Millisecond, func() bool { return slices.Contains(env.Served(), got) }); err != nil {
		return check.Failf(name, "the consumer printed %q, which the service never served", firstLine(got))
	}
	return check.Check{Name: name, Pass: true, Evidence: append([]string{"fcc00 printed what fcs00 served:"}, indent(got)...)}
}

func sceneMITM() Scene {
	return Scene{
		ID: "mitm", Title: "Man in the middle", Panel: PanelSniffer,
		Needs: StageFortune, Reaches: StageFortune,
		Steps: []Step{{
			Title: "Sniff the wire while fcc00 fetches fortunes",
			Shell: "tcpdump -i wire0 -X port 8181",
			Do: func(ctx context.Context, env *Env) error {
				if err := env.StartSniffer(); err != nil {
					return err
				}
				for range 3 {
					if _, err := env.Consume(ctx, ConsumerHost, fmt.Sprintf("%s:%d", ServiceHost, FortunePort)); err != nil {
						return err
					}
				}
				return nil
			},
			Verify: func(ctx context.Context, env *Env) check.Check {
				return env.checkWire(ctx, "the sniffer read the fortune in the clear", ConsumerHost, ServiceHost, FortunePort, sniffer.Plaintext)
			},
		}},
	}
}

func sceneSummary() Scene {
	return Scene{
		ID: "summary", Title: "Summary", Panel: PanelReport,
		AnyStage: true,
		Steps: []Step{{
			Title: "Report card",
			Shell: "zt-lab run --json report.json",
		}},
	}
}

// checkWire proves what the sniffer saw of the flows from one host to a
// port of another: every such flow has verdict want, and a PLAINTEXT
// verdict shows the exact fortune the consumer printed, an ENCRYPTED one
// no byte of any fortune served. Frames reach the analyzer a moment after
// the consumer is done, so it measures again until the claim holds or two
// seconds pass, and reports the last measurement.
func (e *Env) checkWire(ctx context.Context, name, from, to string, port uint16, want sniffer.Kind) check.Check {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if want == sniffer.Plaintext {
		// A positive claim: one sighting of the fortune proves it.
		var c check.Check
		_ = waitUntil(ctx, 20*time.Millisecond, func() bool {
			c = e.measureWire(name, from, to, port, want)
			return c.Pass
		})
		return c
	}
	// A negative claim is measured once, on all the evidence: when the
	// service has reported the consumer's fortune and every flow to the
	// port has closed.
	got := e.state().lastFortune
	_ = waitUntil(ctx, 20*time.Millisecond, func() bool {
		if got != "" && !slices.Contains(e.Served(), got) {
			return false
		}
		return e.flowsClosed(to, port)
	})
	return e.measureWire(name, from, to, port, want)
}

// flowsClosed reports whether every captured flow to host:port has seen
// its FIN or RST.
func (e *Env) flowsClosed(to string, port uint16) bool {
	a := e.Analyzer()
	h, err := e.Host(to)
	if a == nil || err != nil {
		return false
	}
	n := 0
	for _, f := range a.Flows() {
		if f.Key.Server.Addr() == h.Addr() && f.Key.Server.Port() == port {
			n++
			if !f.Closed {
				return false
			}
		}
	}
	return n > 0
}

func (e *Env) measureWire(name, from, to string, port uint16, want sniffer.Kind) check.Check {
	a := e.Analyzer()
	if a == nil {
		return check.Failf(name, "no capture ran")
	}
	client, err1 := e.Host(from)
	server, err2 := e.Host(to)
	if err1 != nil || err2 != nil {
		return check.Failf(name, "hosts: %v %v", err1, err2)
	}
	got := e.state().lastFortune
	var flows []sniffer.FlowSummary
	for _, f := range a.Flows() {
		if f.Key.Client.Addr() == client.Addr() && f.Key.Server.Addr() == server.Addr() && f.Key.Server.Port() == port {
			flows = append(flows, f)
		}
	}
	if len(flows) == 0 {
		return check.Failf(name, "no flow %s > %s:%d was captured", from, to, port)
	}
	var ev []string
	pass, found := true, false
	for _, f := range flows {
		v := f.Verdict
		ev = append(ev, fmt.Sprintf("%s: %s", f.Direction(a.Names(), 0), v))
		if v.Kind != want {
			pass = false
			continue
		}
		switch want {
		case sniffer.Plaintext:
			found = found || (v.Fortune != "" && v.Fortune == strings.TrimSpace(got))
		case sniffer.Encrypted:
			if v.KnownBytes != 0 {
				pass = false
				ev = append(ev, fmt.Sprintf("%d bytes of served fortunes on the wire", v.KnownBytes))
			}
		}
	}
	switch {
	case want == sniffer.Plaintext && !found:
		pass = false
		ev = append(ev, fmt.Sprintf("the fortune fcc00 printed (%q) was not found whole on the wire", firstLine(got)))
	case want == sniffer.Plaintext:
		ev = append(ev, "the stolen fortune, read off the wire:")
		ev = append(ev, indent(got)...)
	default:
		// Nothing of a fortune anywhere on the wire, not only on this port.
		known, scanned := 0, 0
		for _, f := range a.Flows() {
			known += f.Verdict.KnownBytes
			scanned += f.Verdict.ScannedBytes
			if f.Verdict.KnownBytes > 0 {
				ev = append(ev, fmt.Sprintf("%s carries %d bytes of served fortunes", f.Direction(a.Names(), 0), f.Verdict.KnownBytes))
			}
		}
		if known > 0 {
			pass = false
		} else if pass {
			ev = append(ev, fmt.Sprintf("0 bytes of %d served fortunes in %d payload bytes on the whole wire", len(e.Served()), scanned))
		}
	}
	return check.Check{Name: name, Pass: pass, Evidence: ev}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

func indent(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		out = append(out, "  "+l)
	}
	return out
}
