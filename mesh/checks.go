package mesh

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/infra"
)

// serfAlive is serf's member status "alive" as the API reports it.
const serfAlive = 1

// memberStatus names serf's member statuses, as `consul members` does.
func memberStatus(s int) string {
	switch s {
	case 0:
		return "none"
	case serfAlive:
		return "alive"
	case 2:
		return "leaving"
	case 3:
		return "left"
	case 4:
		return "failed"
	}
	return fmt.Sprintf("status %d", s)
}

// CheckLeader proves the servers elected a leader: the raft peers with the
// leader marked, and every server naming the same one.
func (c *Cluster) CheckLeader(ctx context.Context) check.Check {
	ch := check.Check{Name: "leader elected"}
	servers := c.servers()
	if len(servers) == 0 {
		ch.Seen("no consul server is running")
		return ch
	}
	cfg, err := servers[0].api.Operator().RaftGetConfiguration((&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		ch.Seen("raft configuration from %s: %v", servers[0].host.Name(), err)
		return ch
	}
	var leader string
	leaders, voters := 0, 0
	for _, s := range cfg.Servers {
		role := "voter"
		if !s.Voter {
			role = "non-voter"
		} else {
			voters++
		}
		if s.Leader {
			role += ", LEADER"
			leaders++
			leader = s.Address
		}
		ch.Seen("raft peer %-9s %-18s %s", s.Node, s.Address, role)
	}
	// A follower learns of a new leader from its first append, so one that
	// lags names nobody for a moment: each server gets leaderAgreeWithin to
	// name the leader raft has, and the evidence says who needed it.
	agree := true
	for _, a := range servers {
		l, waited, err := c.leaderNamedBy(ctx, a, leader)
		switch {
		case err != nil:
			ch.Seen("%s: %v", a.host.Name(), err)
			agree = false
		case l != leader:
			ch.Seen("%s names %q as leader after %s", a.host.Name(), l, waited.Round(time.Millisecond))
			agree = false
		case waited > 0:
			ch.Seen("%s named the leader %s after %s", a.host.Name(), c.nodeOf(leader), waited.Round(time.Millisecond))
		}
	}
	if agree && leader != "" {
		ch.Seen("every server names the leader %s", c.nodeOf(leader))
	}
	if leaders != 1 {
		ch.Seen("%d leaders among the raft peers, want 1", leaders)
	}
	if voters != len(servers) {
		ch.Seen("%d voters in raft for the %d servers running", voters, len(servers))
	}
	if t := c.Timings(); t.Leader > 0 {
		ch.Seen("elected %s after the servers started", t.Leader.Round(time.Millisecond))
	}
	ch.Pass = leaders == 1 && voters == len(servers) && agree
	return ch
}

// leaderAgreeWithin is how long a server may take to name the leader raft
// reports, as a follower that has not yet heard from it does.
const leaderAgreeWithin = 5 * time.Second

// leaderNamedBy asks a who it names as leader until it names want, for at
// most leaderAgreeWithin: the last answer, and how long it waited for it
// (0 when the first answer was want).
func (c *Cluster) leaderNamedBy(ctx context.Context, a *agent, want string) (string, time.Duration, error) {
	start := time.Now()
	for tries := 0; ; tries++ {
		l, err := a.api.Status().Leader()
		if err == nil && l == want && tries == 0 {
			return l, 0, nil
		}
		waited := time.Since(start)
		if (err == nil && l == want) || want == "" || waited >= leaderAgreeWithin {
			return l, waited, err
		}
		select {
		case <-ctx.Done():
			return l, waited, err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// CheckMembers proves every agent the cluster started is alive in serf, as
// `consul members` shows them.
func (c *Cluster) CheckMembers(ctx context.Context) check.Check {
	agents := c.allAgents()
	ch := check.Check{Name: fmt.Sprintf("%d members alive", len(agents))}
	srv, err := c.serverAPI()
	if err != nil {
		ch.Seen("%v", err)
		return ch
	}
	members, err := srv.Agent().Members(false)
	if err != nil {
		ch.Seen("members: %v", err)
		return ch
	}
	slices.SortFunc(members, func(a, b *api.AgentMember) int { return strings.Compare(a.Name, b.Name) })
	alive := map[string]bool{}
	for _, m := range members {
		kind := "client"
		if m.IsConsulServer() {
			kind = "server"
		}
		status := memberStatus(m.Status)
		ch.Seen("%-9s %-15s %-6s %s", m.Name, m.Addr, kind, status)
		alive[m.Name] = m.Status == serfAlive
	}
	ch.Pass = len(agents) > 0
	for _, a := range agents {
		if !alive[a.host.Name()] {
			ch.Seen("%s is not alive", a.host.Name())
			ch.Pass = false
		}
	}
	if t := c.Timings(); t.ClientsJoined > 0 {
		ch.Seen("all alive %s after the servers started", t.ClientsJoined.Round(time.Millisecond))
	}
	return ch
}

// CheckSidecars proves every sidecar runs and passes its checks, and that
// the path is the one the scene draws: each fcs sidecar takes mTLS on its
// host's 9191 and hands connections to the service on the host's loopback,
// 127.0.0.1:8181, where the service answers; each consumer's sidecar hands
// out fcs on its own 127.0.0.1:9191. A healthy sidecar in front of a
// service it cannot reach, or registered to reach it over the wire, fails.
func (c *Cluster) CheckSidecars(ctx context.Context) check.Check {
	ch := check.Check{Name: "sidecars healthy"}
	srv, err := c.serverAPI()
	if err != nil {
		ch.Seen("%v", err)
		return ch
	}
	hc, _, err := srv.Health().State(api.HealthAny, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		ch.Seen("health: %v", err)
		return ch
	}
	c.mu.Lock()
	var cars []*sidecar
	for _, s := range c.sidecars {
		cars = append(cars, s)
	}
	c.mu.Unlock()
	slices.SortFunc(cars, func(a, b *sidecar) int { return strings.Compare(a.key(), b.key()) })
	ch.Pass = len(cars) > 0
	if len(cars) == 0 {
		ch.Seen("no sidecars: secure the service first")
	}
	for _, s := range cars {
		select {
		case <-s.proc.Done():
			ch.Seen("%s on %s exited: %v", sidecarID(s.service), s.host.Name(), s.proc.Err())
			ch.Pass = false
			continue
		default:
		}
		n := 0
		for _, k := range hc {
			if k.Node != s.host.Name() || k.ServiceID != sidecarID(s.service) {
				continue
			}
			n++
			ch.Seen("%s on %s: %s %s", sidecarID(s.service), s.host.Name(), k.Name, k.Status)
			if k.Status != api.HealthPassing {
				ch.Pass = false
			}
		}
		if n == 0 {
			ch.Seen("%s on %s has no checks in the catalog", sidecarID(s.service), s.host.Name())
			ch.Pass = false
		}
		if !c.sidecarPath(ctx, &ch, s) {
			ch.Pass = false
		}
	}
	if t := c.Timings(); t.SidecarsHealthy > 0 {
		ch.Seen("healthy %s after the servers started", t.SidecarsHealthy.Round(time.Millisecond))
	}
	return ch
}

// sidecarPath proves what s's agent registered for it is the scene's path
// — fcs's sidecar public on 9191 and local to 127.0.0.1:8181, where the
// service answers; a consumer's upstream to fcs on 127.0.0.1:9191 — and
// says so in ch's evidence.
func (c *Cluster) sidecarPath(ctx context.Context, ch *check.Check, s *sidecar) bool {
	id := sidecarID(s.service)
	a, ok := c.agent(s.host.Name())
	if !ok {
		ch.Seen("%s on %s: no agent there", id, s.host.Name())
		return false
	}
	reg, _, err := a.api.Agent().Service(id, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil || reg == nil || reg.Proxy == nil {
		ch.Seen("%s on %s: its registration: %v", id, s.host.Name(), err)
		return false
	}
	loopback := "127.0.0.1"
	if s.service != FortuneService {
		for _, u := range reg.Proxy.Upstreams {
			if u.DestinationName != FortuneService {
				continue
			}
			ch.Seen("%s on %s: upstream %s on %s:%d", id, s.host.Name(), u.DestinationName, u.LocalBindAddress, u.LocalBindPort)
			if u.LocalBindAddress == loopback && u.LocalBindPort == MeshPort {
				return true
			}
			ch.Seen("  the consumer asks its sidecar on %s:%d, not %s:%d", u.LocalBindAddress, u.LocalBindPort, loopback, MeshPort)
			return false
		}
		ch.Seen("%s on %s has no upstream to %s", id, s.host.Name(), FortuneService)
		return false
	}
	p := reg.Proxy
	ch.Seen("%s on %s: mTLS on %s:%d → %s:%d", id, s.host.Name(), reg.Address, reg.Port, p.LocalServiceAddress, p.LocalServicePort)
	ok = true
	if reg.Port != MeshPort {
		ch.Seen("  its public listener is on port %d, not %d", reg.Port, MeshPort)
		ok = false
	}
	if p.LocalServiceAddress != loopback || p.LocalServicePort != FortunePort {
		ch.Seen("  it reaches the service at %s:%d, not on the loopback %s:%d", p.LocalServiceAddress, p.LocalServicePort, loopback, FortunePort)
		ok = false
	}
	local := fmt.Sprintf("%s:%d", loopback, FortunePort)
	out, err := c.Fetch(ctx, s.host, local)
	if err != nil {
		ch.Seen("  %s$ zt-lab fortune get %s: %v: the service does not answer on its loopback", s.host.Name(), local, err)
		return false
	}
	ch.Seen("%s$ zt-lab fortune get %s: %s", s.host.Name(), local, firstLine(out))
	return ok
}

// fcc is the lab's consumer, fcc on the first consumer host.
func (c *Cluster) fcc() (Consumer, bool) {
	for _, k := range c.Consumers() {
		if k.Name == ConsumerService {
			return k, true
		}
	}
	return Consumer{}, false
}

// CheckMeshFortune proves the consumer reads a fortune through the mesh:
// on fcc00, from its sidecar's upstream 127.0.0.1:9191. A sidecar that
// just turned healthy may not have its upstream's first answer yet, so it
// tries for up to 10 s.
func (c *Cluster) CheckMeshFortune(ctx context.Context) check.Check {
	ch := check.Check{Name: "consumer reads a fortune through the mesh"}
	k, ok := c.fcc()
	if !ok {
		ch.Seen("no fcc registered: secure the service first")
		return ch
	}
	ch.Seen("%s$ zt-lab fortune get %s", k.Host.Name(), k.Upstream())
	start := time.Now()
	var got string
	tries := 0
	w := waitSpec{what: "a fortune through the mesh", procs: c.sidecarRefs(), limit: 10 * time.Second}
	err := poll(ctx, w, 200*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		tries++
		out, err := c.Fetch(ctx, k.Host, k.Upstream())
		got = out
		return err == nil, "", err
	})
	if err != nil {
		ch.Seen("%v", err)
		ch.Evidence = append(ch.Evidence, c.authorizeEvidence(ctx, k.Name)...)
		return ch
	}
	for _, l := range strings.Split(strings.TrimRight(got, "\n"), "\n") {
		ch.Seen("  %s", l)
	}
	ch.Seen("path: %s 127.0.0.1:%d → fcc sidecar → mTLS → fcs00:%d → fcs sidecar → 127.0.0.1:%d", k.Host.Name(), k.Port, MeshPort, FortunePort)
	ch.Seen("read in %s (%d tries)", since(start), tries)
	ch.Pass = true
	return ch
}

// authorizeEvidence is what fcs's agents answer for a connection from
// source: the first thing to look at when a fetch through the mesh fails.
func (c *Cluster) authorizeEvidence(ctx context.Context, source string) []string {
	_, td, err := c.Roots(ctx)
	if err != nil {
		return []string{err.Error()}
	}
	var ev []string
	for _, a := range c.agentsOf(FortuneService) {
		got, err := authorize(a, td, c.opts.Datacenter, source, FortuneService)
		if err != nil {
			ev = append(ev, err.Error())
			continue
		}
		ev = append(ev, fmt.Sprintf("%s's agent: %s → %s %s: %s", a.host.Name(), source, FortuneService, verdict(got.Authorized), got.Reason))
	}
	return ev
}

// CheckPlaintextRefused proves the fortune service is out of reach on the
// wire after Rebind: fcc00 → fcs00:8181 is refused, a connection from the
// wire itself is refused, and yet the service answers on fcs00's loopback.
func (c *Cluster) CheckPlaintextRefused(ctx context.Context) check.Check {
	fcs := c.hosts(infra.RoleService)
	fccs := c.hosts(infra.RoleConsumer)
	if len(fcs) == 0 || len(fccs) == 0 {
		return check.Failed("fcc → fcs:8181 refused", "the lab has no fcs or fcc host")
	}
	s, k := fcs[0], fccs[0]
	ch := check.Check{Name: fmt.Sprintf("%s → %s:%d refused", k.Name(), s.Name(), FortunePort)}
	target := fmt.Sprintf("%s:%d", s.Name(), FortunePort)
	ch.Seen("%s$ zt-lab fortune get %s", k.Name(), target)
	out, err := c.Fetch(ctx, k, target)
	fromHost := err != nil && strings.Contains(err.Error(), "refused")
	switch {
	case err == nil:
		ch.Seen("  read a fortune: %s", firstLine(out))
	default:
		ch.Seen("  %s", oneLine(err.Error()))
	}
	addr := netip.AddrPortFrom(s.Addr(), FortunePort).String()
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	conn, derr := c.dial(dctx, "tcp", addr)
	cancel()
	fromWire := errors.Is(derr, syscall.ECONNREFUSED)
	if conn != nil {
		conn.Close()
		ch.Seen("from the wire, %s accepts a connection", addr)
	} else {
		ch.Seen("from the wire, dial %s: %v", addr, derr)
	}
	local := "127.0.0.1:" + fmt.Sprint(FortunePort)
	lout, lerr := c.Fetch(ctx, s, local)
	if lerr != nil {
		ch.Seen("%s$ zt-lab fortune get %s: %v", s.Name(), local, lerr)
	} else {
		ch.Seen("%s$ zt-lab fortune get %s still reads: %s", s.Name(), local, firstLine(lout))
	}
	ch.Pass = fromHost && fromWire && lerr == nil
	return ch
}

// CheckDenied proves the intentions stop a consumer: fcs's agents refuse
// its identity, and a fortune fetched through its sidecar never arrives.
func (c *Cluster) CheckDenied(ctx context.Context, k Consumer) check.Check {
	ch := check.Check{Name: fmt.Sprintf("%s → %s denied", k.Name, FortuneService)}
	ch.Seen("%s$ zt-lab fortune get %s", k.Host.Name(), k.Upstream())
	// Any failure would refuse the fetch; the proof that the mesh refused
	// it is a new denial in the fcs sidecar's own log.
	before := c.authzDenials()
	out, err := c.Fetch(ctx, k.Host, k.Upstream())
	if err == nil {
		ch.Seen("  read a fortune: %s", firstLine(out))
	} else {
		ch.Seen("  %s", oneLine(err.Error()))
	}
	denied := err != nil
	deadline := time.Now().Add(2 * time.Second)
	for denied && c.authzDenials() <= before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if denied && c.authzDenials() <= before {
		denied = false
		ch.Seen("the fcs sidecar logged no authz denial for this attempt: the fetch failed for another reason")
	}
	_, td, rerr := c.Roots(ctx)
	if rerr != nil {
		ch.Seen("roots: %v", rerr)
		return ch
	}
	agents := c.agentsOf(FortuneService)
	if len(agents) == 0 {
		ch.Seen("no agent runs fcs")
		return ch
	}
	for _, a := range agents {
		got, err := authorize(a, td, c.opts.Datacenter, k.Name, FortuneService)
		if err != nil {
			ch.Seen("%v", err)
			denied = false
			continue
		}
		ch.Seen("%s's agent: %s → %s %s: %s", a.host.Name(), k.Name, FortuneService, verdict(got.Authorized), got.Reason)
		if got.Authorized {
			denied = false
		}
	}
	for _, l := range c.sidecarLog(FortuneService, "authz", "unauthorized", "denied") {
		ch.Seen("fcs sidecar log: %s", l)
	}
	ch.Pass = denied
	return ch
}

// authzDenials counts the authorisation denials in the fcs sidecars'
// logs: the proof that an intention, not a fault, refused a connection.
func (c *Cluster) authzDenials() int {
	n := 0
	for _, s := range c.sidecarsOf(FortuneService) {
		for _, l := range s.proc.Tail(-1) {
			if strings.Contains(l, "authz call denied") {
				n++
			}
		}
	}
	return n
}

func (c *Cluster) sidecarsOf(service string) []*sidecar {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*sidecar
	for _, s := range c.sidecars {
		if s.service == service {
			out = append(out, s)
		}
	}
	return out
}

// sidecarLog returns the last lines of a service's sidecars' logs that
// hold any of words.
func (c *Cluster) sidecarLog(service string, words ...string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, s := range c.sidecars {
		if s.service != service {
			continue
		}
		for _, l := range s.proc.Tail(50) {
			low := strings.ToLower(l)
			if slices.ContainsFunc(words, func(w string) bool { return strings.Contains(low, w) }) {
				out = append(out, strings.TrimSpace(l))
			}
		}
	}
	if len(out) > 3 {
		out = out[len(out)-3:]
	}
	return out
}

// CheckIdentities proves every mesh service carries a short-lived leaf
// certificate (valid now, for at most LeafTTL) from the CA's active root,
// naming it by its SPIFFE identity, and that fcs's sidecar shows that
// identity and refuses an outsider with no certificate.
func (c *Cluster) CheckIdentities(ctx context.Context) check.Check {
	ch := check.Check{Name: "every service carries an identity from the active root"}
	roots, td, err := c.Roots(ctx)
	if err != nil {
		ch.Seen("%v", err)
		return ch
	}
	root, ok := active(roots)
	if !ok {
		ch.Seen("the CA has no active root")
		return ch
	}
	ch.Seen("CA root %s (SHA-256 %s), trust domain %s", root.Name, root.Fingerprint, td)
	ch.Pass = true
	for _, s := range c.meshServices() {
		id, err := c.Leaf(ctx, s)
		if err != nil {
			ch.Seen("%v", err)
			ch.Pass = false
			continue
		}
		ch.Evidence = append(ch.Evidence, id.Lines()...)
		if id.Root != root.ID || id.URI != ServiceURI(td, c.opts.Datacenter, s) {
			ch.Seen("  %s: not from the active root, or not its own name", s)
			ch.Pass = false
		}
		if !shortLived(&ch, id, time.Now()) {
			ch.Pass = false
		}
	}
	if fcs := c.hosts(infra.RoleService); len(fcs) > 0 {
		listener := netip.AddrPortFrom(fcs[0].Addr(), MeshPort)
		p, err := c.Probe(ctx, FortuneService, listener)
		switch {
		case err != nil:
			ch.Seen("probe %s: %v", listener, err)
			ch.Pass = false
		case p.Refused == nil:
			ch.Seen("%s gave data to an outsider with no certificate", listener)
			ch.Pass = false
		default:
			ch.Seen("%s presents %s (serial %s) and refuses an outsider with no certificate: %v", listener, p.Identity.URI, p.Identity.Serial, p.Refused)
		}
	}
	return ch
}

// shortLived proves id's leaf is valid at now and lives at most LeafTTL,
// as the identity scene says, and says so in ch's evidence.
func shortLived(ch *check.Check, id Identity, now time.Time) bool {
	life := id.NotAfter.Sub(id.NotBefore)
	switch {
	case now.Before(id.NotBefore):
		ch.Seen("  %s: not valid before %s", id.Service, id.NotBefore.UTC().Format(time.RFC3339))
	case !now.Before(id.NotAfter):
		ch.Seen("  %s: expired at %s", id.Service, id.NotAfter.UTC().Format(time.RFC3339))
	case life > LeafTTL:
		ch.Seen("  %s: lives %s, longer than the %s of a Connect leaf", id.Service, life, hours(LeafTTL))
	default:
		ch.Seen("  %s: lives %s (at most %s), %s left", id.Service, hours(life), hours(LeafTTL), hours(id.NotAfter.Sub(now)))
		return true
	}
	return false
}

// hours says d in hours and minutes, as a certificate's life reads.
func hours(d time.Duration) string {
	d = d.Round(time.Minute)
	if m := d % time.Hour; m != 0 {
		return fmt.Sprintf("%dh%02dm", d/time.Hour, m/time.Minute)
	}
	return fmt.Sprintf("%dh", d/time.Hour)
}

// CheckRotation proves a CA rotation went through without the fortunes
// stopping: a new root, every leaf re-issued from it, fcs's sidecar
// presenting the new leaf, no failed fetch meanwhile, and a fortune now.
func (c *Cluster) CheckRotation(ctx context.Context, rot Rotation) check.Check {
	ch := check.Check{Name: "fortunes flow through a CA rotation, with leaves from the new root"}
	ch.Seen("old root %s", rot.Old.Fingerprint)
	ch.Seen("new root %s, active %s after the request", rot.New.Fingerprint, rot.RootActive.Round(time.Millisecond))
	ok := rot.New.ID != "" && rot.New.ID != rot.Old.ID
	if !ok {
		ch.Seen("the CA's active root did not change")
	}
	for _, s := range slices.Sorted(maps.Keys(rot.Before)) {
		before, after := rot.Before[s], rot.After[s]
		ch.Seen("%s leaf %s → %s", s, before.Serial, after.Serial)
		if after.Root != rot.New.ID || after.Serial == before.Serial {
			ch.Seen("  %s's leaf was not re-issued from the new root", s)
			ok = false
		}
	}
	ch.Seen("every leaf re-issued %s after the request", rot.Reissued.Round(time.Millisecond))
	if rot.Presented.Root == rot.New.ID {
		ch.Seen("fcs's sidecar presents the new leaf %s", rot.Presented.Serial)
	} else {
		ch.Seen("fcs's sidecar presents %q, not from the new root", rot.Presented.Serial)
		ok = false
	}
	ch.Seen("%d fortunes read through the mesh during the rotation, %d failed", rot.Fetched, len(rot.Failures))
	for _, f := range rot.Failures {
		ch.Seen("  failed %s", f)
	}
	if len(rot.Failures) > 0 || rot.Fetched == 0 {
		ok = false
	}
	if k, found := c.fcc(); found {
		out, err := c.Fetch(ctx, k.Host, k.Upstream())
		if err != nil {
			ch.Seen("a fortune now: %v", err)
			ok = false
		} else {
			ch.Seen("a fortune now: %s", firstLine(out))
		}
	}
	ch.Pass = ok
	return ch
}

// Flow is traffic between the lab's hosts that the sniffer can judge.
type Flow struct {
	Name  string
	Proto string     // "tcp" or "udp"
	Src   netip.Addr // the zero Addr: any host
	Dst   netip.Addr // the zero Addr: any host
	Port  uint16     // the destination port
}

// Flows lists the mesh's traffic on the wire, each of which should be
// encrypted: the mesh flows from consumers to fcs's sidecars (mTLS), the
// agents' RPC to the servers (TLS) and the gossip between all (serf's
// AES-GCM, UDP and TCP).
func (c *Cluster) Flows() []Flow {
	var fs []Flow
	for _, k := range c.Consumers() {
		for _, s := range c.hosts(infra.RoleService) {
			fs = append(fs, Flow{
				Name:  fmt.Sprintf("mesh %s %s → %s:%d (mTLS)", k.Name, k.Host.Name(), s.Name(), MeshPort),
				Proto: "tcp", Src: k.Host.Addr(), Dst: s.Addr(), Port: MeshPort,
			})
		}
	}
	for _, s := range c.hosts(infra.RoleConsul) {
		fs = append(fs, Flow{Name: fmt.Sprintf("consul RPC → %s:%d (TLS)", s.Name(), ServerPort), Proto: "tcp", Dst: s.Addr(), Port: ServerPort})
	}
	fs = append(fs,
		Flow{Name: fmt.Sprintf("gossip :%d/udp (encrypted)", SerfPort), Proto: "udp", Port: SerfPort},
		Flow{Name: fmt.Sprintf("gossip :%d/tcp (encrypted)", SerfPort), Proto: "tcp", Port: SerfPort},
	)
	return fs
}

// CheckWire asks the sniffer's hook (Options.Wire) to judge every flow of
// the mesh; without a hook it has nothing to say.
func (c *Cluster) CheckWire(ctx context.Context) []check.Check {
	if c.opts.Wire == nil {
		return nil
	}
	var cs []check.Check
	for _, f := range c.Flows() {
		cs = append(cs, c.opts.Wire(ctx, f))
	}
	return cs
}

// firstLine is the first non-empty line of s.
func firstLine(s string) string {
	for l := range strings.SplitSeq(s, "\n") {
		if strings.TrimSpace(l) != "" {
			return strings.TrimSpace(l)
		}
	}
	return ""
}
