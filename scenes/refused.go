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
	"github.com/ztlab/zt-lab/mallory"
	"github.com/ztlab/zt-lab/mesh"
)

// refusedFetches is how many fortunes fcc00 asks its sidecar for while
// mallory is in the path.
const refusedFetches = 3

// sceneRefused sends mallory against the mesh: the same ARP poisoning,
// now in front of fcs00's sidecar. A byte it changes fails the TLS
// record's authentication; its own certificate is not trusted; without a
// leaf from the lab's CA fcs00's sidecar will not let it in.
func sceneRefused() Scene {
	return Scene{
		ID: "refused", Title: "Tampering, refused", Panel: PanelConsumer,
		Needs: StageIntentions, Reaches: StageIntentions,
		Steps: []Step{
			{
				Title: "mallory poisons ARP again, and changes a byte of every TLS record",
				Shell: "arpspoof -i eth0 -t fcc00 -r fcs00   # on mallory, relaying 9191 with bytes flipped",
				Do: func(ctx context.Context, env *Env) error {
					return env.startMallory(ctx, mallory.ModeFlip, mesh.MeshPort)
				},
				Verify: func(ctx context.Context, env *Env) check.Check {
					return env.checkPoisoned(ctx, "fcc00's ARP cache maps fcs00 to mallory's MAC, in front of the mesh")
				},
			},
			{
				Title:  "fcc00 asks its sidecar for fortunes, mallory in the path",
				Shell:  "nc 127.0.0.1 9191",
				Do:     func(ctx context.Context, env *Env) error { return env.fetchPastMallory(ctx) },
				Verify: func(ctx context.Context, env *Env) check.Check { return env.checkNoneTampered(ctx) },
			},
			{
				Title: "mallory answers as fcs00, with a certificate of its own",
				Shell: "openssl s_server -accept 9191 -cert mallory.pem   # on mallory, as fcs00",
				Do: func(ctx context.Context, env *Env) error {
					if err := env.startMallory(ctx, mallory.ModeImpersonate, mesh.MeshPort); err != nil {
						return err
					}
					return env.fetchPastMallory(ctx)
				},
				Verify: func(_ context.Context, env *Env) check.Check { return env.checkImpersonationRefused() },
			},
			{
				Title: "mallory knocks on fcs00's sidecar without a leaf from the lab's CA",
				Shell: "openssl s_client -connect fcs00:9191 -cert mallory.pem   # on mallory",
				Verify: func(ctx context.Context, env *Env) check.Check {
					return env.checkProbeRefused(ctx)
				},
			},
			{
				Title: "mallory tries to change the rules instead",
				Shell: "curl consul00:8500/v1/connect/intentions   # on mallory, to every agent",
				Do:    func(ctx context.Context, env *Env) error { return env.malloryTriesTheRules(ctx) },
				Verify: func(_ context.Context, env *Env) check.Check {
					return env.checkMalloryCannotChangeTheRules()
				},
			},
			{
				Title: "mallory stops: fortunes flow again, no restart",
				Shell: "kill %arpspoof; nc 127.0.0.1 9191",
				Do:    func(ctx context.Context, env *Env) error { return env.stopMalloryThen(ctx, MeshAddr) },
				Verify: func(ctx context.Context, env *Env) check.Check {
					return env.checkCachesClean(ctx, "mallory gone: ARP caches clean, mesh fortunes flow")
				},
			},
		},
	}
}

// malloryCannotChangeTheRules names the check of mallory's attempts.
const malloryCannotChangeTheRules = "mallory cannot reach an agent's API to change the rules"

// malloryTriesTheRules has mallory, from its own host, try every agent's
// HTTP API over the wire: with no agent and no token, that is all a
// stranger on the wire has.
func (e *Env) malloryTriesTheRules(ctx context.Context) error {
	a := e.attack()
	if a == nil || a.skip != "" {
		return nil // the check says why
	}
	s, err := e.Cluster().TryFromTheWire(ctx, a.attacker)
	if err != nil {
		return err
	}
	for _, at := range s.Attempts {
		e.Logf("%s", at.Line())
	}
	e.keep(func(w *walkState) { w.malloryRules = &s })
	return nil
}

func (e *Env) checkMalloryCannotChangeTheRules() check.Check {
	_, stop := e.attackFor(malloryCannotChangeTheRules)
	if stop != nil {
		return *stop
	}
	s := e.state().malloryRules
	if s == nil {
		return check.Failf(malloryCannotChangeTheRules, "mallory tried nothing")
	}
	return mesh.CheckStrangersAs(malloryCannotChangeTheRules, *s)
}

// fetchPastMallory has fcc00 ask its sidecar for fortunes while mallory
// sits in the path; a fetch that fails is what the scene expects, and is
// counted, not an error.
func (e *Env) fetchPastMallory(ctx context.Context) error {
	a := e.attack()
	if a == nil {
		return fmt.Errorf("mallory never started: run the scene's first step")
	}
	if a.skip != "" {
		return nil
	}
	for range refusedFetches {
		got, err := e.Consume(ctx, ConsumerHost, MeshAddr)
		a.mu.Lock()
		a.fetched++
		if err == nil {
			a.printed = append(a.printed, got)
		}
		a.mu.Unlock()
	}
	return nil
}

// sidecarErrors are the TLS complaints in the logs of host's sidecars.
func sidecarErrors(h infra.Host) []string {
	var out []string
	for _, p := range h.Procs() {
		if !strings.Contains(p.Name(), "sidecar") {
			continue
		}
		for _, l := range p.Tail(200) {
			low := strings.ToLower(l)
			if strings.Contains(low, "tls") || strings.Contains(low, "certificate") || strings.Contains(low, "record mac") {
				out = append(out, fmt.Sprintf("%s %s log: %s", h.Name(), p.Name(), strings.TrimSpace(l)))
			}
		}
	}
	if len(out) > 3 {
		out = out[len(out)-3:]
	}
	return out
}

// badRecordMAC is what Go's TLS says of a record whose authentication
// tag does not match: the sidecar's own word that a byte was changed.
const badRecordMAC = "bad record MAC"

// tlsRejections are the lines of the sidecars' logs on hosts that hold
// what (case-insensitive), stamped at or after since: the sidecars'
// verdicts on this attack, not on an earlier one.
func tlsRejections(hosts []infra.Host, what string, since time.Time) []string {
	var out []string
	what = strings.ToLower(what)
	for _, h := range hosts {
		for _, p := range h.Procs() {
			if !strings.Contains(p.Name(), "sidecar") {
				continue
			}
			for _, l := range p.Tail(-1) {
				if !strings.Contains(strings.ToLower(l), what) {
					continue
				}
				if at, ok := mesh.LogTime(l); ok && !at.Before(since) {
					out = append(out, fmt.Sprintf("%s %s log: %s", h.Name(), p.Name(), strings.TrimSpace(l)))
				}
			}
		}
	}
	return out
}

// malloryLines are the lines of mallory's that start with prefix.
func (a *attackRun) malloryLines(prefix string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, l := range a.lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// checkNoneTampered proves the mesh accepted none of mallory's changes:
// mallory did change bytes (its own word), a sidecar's TLS rejected them
// as a bad record MAC (its own log, since mallory started: a connection
// that failed for any other reason proves nothing of the tag), and every
// fortune fcc00 printed is one fcs00 served.
func (e *Env) checkNoneTampered(ctx context.Context) check.Check {
	const name = "0 tampered fortunes accepted by the consumer"
	a, stop := e.attackFor(name)
	if stop != nil {
		return *stop
	}
	var hosts []infra.Host
	for _, n := range []string{ConsumerHost, ServiceHost} {
		if h, err := e.Host(n); err == nil {
			hosts = append(hosts, h)
		}
	}
	poisoned, _, _ := a.snapshot()
	// The sidecar logs the failed handshake as it drops the connection: its
	// line may reach the lab a moment after the fetch has failed.
	var macs []string
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_ = waitUntil(wctx, 20*time.Millisecond, func() bool {
		macs = tlsRejections(hosts, badRecordMAC, poisoned)
		return len(macs) > 0
	})
	cancel()
	a.mu.Lock()
	printed, fetched := slices.Clone(a.printed), a.fetched
	a.mu.Unlock()
	served := e.Served()
	accepted := 0
	for _, p := range printed {
		if !slices.Contains(served, p) {
			accepted++
		}
	}
	flips := a.malloryLines("flipped ")
	records := 0
	for _, l := range flips {
		var n int
		if f := strings.Fields(l); len(f) == 3 {
			fmt.Sscan(f[2], &n)
		}
		records += n
	}
	c := check.Check{Name: name, Pass: accepted == 0 && records > 0 && len(macs) > 0}
	c.Seen("%d fetches, %d fortunes printed, %d of them tampered; %d fetches lost while mallory was in the path", fetched, len(printed), accepted, fetched-len(printed))
	c.Seen("mallory changed a byte in %d TLS records on %d connections", records, len(flips))
	if records == 0 {
		c.Seen("mallory changed nothing: the fetches never passed through it")
	}
	if len(macs) == 0 {
		c.Seen("no sidecar logged %q since mallory started: nothing shows TLS rejected a changed record", badRecordMAC)
		if h, err := e.Host(ConsumerHost); err == nil {
			c.Evidence = append(c.Evidence, sidecarErrors(h)...)
		}
	} else {
		c.Seen("%d sidecar log lines reject a record with %q, e.g.:", len(macs), badRecordMAC)
		c.Evidence = append(c.Evidence, macs[max(0, len(macs)-2):]...)
	}
	return c
}

// checkImpersonationRefused proves fcc00's sidecar did not accept
// mallory's certificate: mallory's own log of each handshake, and no
// fortune of mallory's printed.
func (e *Env) checkImpersonationRefused() check.Check {
	const name = "mallory's impersonation of fcs00 refused"
	a, stop := e.attackFor(name)
	if stop != nil {
		return *stop
	}
	refused, accepted := a.malloryLines("impersonation "), 0
	for _, l := range refused {
		if strings.HasSuffix(l, " accepted") {
			accepted++
		}
	}
	a.mu.Lock()
	printed := slices.Clone(a.printed)
	a.mu.Unlock()
	own := 0
	for _, p := range printed {
		if strings.Contains(p, mallory.Signature) {
			own++
		}
	}
	c := check.Check{Name: name, Pass: len(refused) > 0 && accepted == 0 && own == 0}
	if len(refused) == 0 {
		c.Seen("no connection reached mallory's impersonation")
	}
	for _, l := range refused[max(0, len(refused)-2):] {
		c.Seen("mallory: %s", l)
	}
	c.Seen("%d of mallory's fortunes printed by fcc00", own)
	if h, err := e.Host(ConsumerHost); err == nil {
		c.Evidence = append(c.Evidence, sidecarErrors(h)...)
	}
	return c
}

// checkProbeRefused has mallory connect to fcs00's sidecar itself, with a
// certificate of its own: the sidecar must refuse it.
func (e *Env) checkProbeRefused(ctx context.Context) check.Check {
	const name = "fcs00's sidecar refuses mallory without a lab leaf"
	a, stop := e.attackFor(name)
	if stop != nil {
		return *stop
	}
	fcs, err := e.Host(ServiceHost)
	if err != nil {
		return check.Failf(name, "%v", err)
	}
	addr := netip.AddrPortFrom(fcs.Addr(), mesh.MeshPort).String()
	out, err := a.attacker.Run(ctx, e.Self, "mallory", "--probe", addr)
	line := strings.TrimSpace(string(out))
	if err != nil {
		return check.Failf(name, "mallory$ zt-lab mallory --probe %s: %v: %s", addr, err, line)
	}
	c := check.Check{Name: name, Pass: strings.HasPrefix(line, "probe "+addr+" refused")}
	c.Seen("mallory$ zt-lab mallory --probe %s: %s", addr, line)
	return c
}
