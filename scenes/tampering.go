package scenes

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/mallory"
	"github.com/ztlab/zt-lab/sniffer"
)

// tamperFetches is how many fortunes fcc00 fetches through mallory.
const tamperFetches = 5

// sceneTampering brings in mallory, an active man in the middle: it
// poisons the ARP caches of fcc00 and fcs00, takes the consumer's
// connections and hands it a rewritten fortune. The attacker is a real
// process on its own host; its relay terminates both TCP connections (see
// package mallory), so no sequence number needs fixing up.
func sceneTampering() Scene {
	return Scene{
		ID: "tampering", Title: "Tampering", Panel: PanelConsumer,
		Needs: StageFortune, Reaches: StageFortune,
		Steps: []Step{
			{
				Title: "mallory poisons the ARP caches of fcc00 and fcs00",
				Shell: "arpspoof -i eth0 -t fcc00 -r fcs00   # on mallory",
				Do: func(ctx context.Context, env *Env) error {
					return env.startMallory(ctx, mallory.ModeRewrite, FortunePort)
				},
				Verify: func(ctx context.Context, env *Env) check.Check {
					return env.checkPoisoned(ctx, "fcc00's ARP cache maps fcs00 to mallory's MAC")
				},
			},
			{
				Title: "fcc00 fetches fortunes, through mallory",
				Shell: "nc fcs00 8181",
				Do:    func(ctx context.Context, env *Env) error { return env.fetchThroughMallory(ctx) },
				Verify: func(_ context.Context, env *Env) check.Check {
					return env.checkTampered()
				},
			},
			{
				Title: "The sniffer sees both versions, one on each leg",
				Shell: "tcpdump -i wire0 -X port 8181",
				Verify: func(ctx context.Context, env *Env) check.Check {
					return env.checkTwoLegs(ctx)
				},
			},
			{
				Title: "mallory stops and puts the caches right",
				Shell: "kill %arpspoof",
				Do:    func(ctx context.Context, env *Env) error { return env.stopMallory(ctx) },
				Verify: func(ctx context.Context, env *Env) check.Check {
					return env.checkCachesClean(ctx, "mallory gone: ARP caches clean, fortunes untampered")
				},
			},
		},
	}
}

// attackRun is mallory's attack and what it said, line by line, as it
// said it.
type attackRun struct {
	skip     string // why this lab has no attacker; the checks skip
	attacker infra.Host
	proc     infra.Proc

	// stopping is set before whoever started mallory stops it: an end
	// that was asked for, which mallory un-poisons itself.
	stopping atomic.Bool
	// supervised is closed once superviseMallory has seen mallory end
	// (and undone its attack if it died).
	supervised chan struct{}

	mu         sync.Mutex
	poisonedAt time.Time         // its first poisoned frame
	macs       map[string]string // the hosts' MACs on the wire, by name
	entries    []NeighbourEntry  // the victims' caches, last read
	relayed    int               // connections flipped or answered as the service
	ended      bool              // mallory has ended and was seen to
	diedAt     time.Time         // it ended unasked
	restoredAt time.Time         // the lab then undid its attack
	tampered   []tamperedSeen    // every fortune it rewrote
	lines      []string          // everything else it said, newest last
	restored   int               // correct frames it sent on stop
	fetched    int               // fortunes fcc00 fetched meanwhile
	printed    []string          // what fcc00 printed, each fetch
	clean      string            // the fetch after it stopped
	tap        *attackerTap      // the capture on the attacker, where the lab's own sees one host
}

// attackerTap is a capture on the attacker's own interface, where both
// legs of what it relays pass.
type attackerTap struct {
	where    string
	capture  *sniffer.Capture
	analyzer *sniffer.Analyzer
	done     chan struct{}
}

// wireAt is a lab whose hosts sit on a switched segment, each seeing its
// own frames only: it can capture on any one host (infra/ssh).
type wireAt interface {
	WireAt(host string) (infra.WireTap, bool)
}

// tapAttacker captures on the attacker's interface when the lab's own tap
// is one host's (a remote capture on fcs00 never sees the leg between
// fcc00 and mallory); on a bridge that carries every frame, it does
// nothing.
func (e *Env) tapAttacker(a *attackRun) error {
	l := e.Lab()
	wa, ok := l.(wireAt)
	if !ok || l.Wire().Open == nil || a.legTap() != nil {
		return nil
	}
	w, ok := wa.WireAt(a.attacker.Name())
	if !ok {
		return nil
	}
	c, err := openWire(w)
	if err != nil {
		return fmt.Errorf("capture on %s: %w", a.attacker.Name(), err)
	}
	an := sniffer.NewAnalyzer(sniffer.Names(w.Names))
	for _, f := range e.Served() {
		an.AddKnown(f)
	}
	t := &attackerTap{where: c.Interface() + " (mallory's own interface: both legs pass it)", capture: c, analyzer: an, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		for p := range c.Packets() {
			an.Feed(p)
		}
	}()
	a.mu.Lock()
	a.tap = t
	a.mu.Unlock()
	e.Logf("capturing on %s too: on this lab's segment only mallory's port carries both legs", c.Interface())
	return nil
}

func (a *attackRun) legTap() *attackerTap {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tap
}

// closeTap ends the capture on the attacker, keeping what it analysed.
func (a *attackRun) closeTap() {
	if t := a.legTap(); t != nil {
		_ = t.capture.Close()
		<-t.done
	}
}

// tamperedSeen is one "tampered" line of mallory's, and when it came.
type tamperedSeen struct {
	original, altered string
	at                time.Time
}

func (a *attackRun) onLine(line string) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case strings.HasPrefix(line, "poisoned ") && a.poisonedAt.IsZero():
		a.poisonedAt = now
	case strings.HasPrefix(line, "restored "):
		a.restored++
	case strings.HasPrefix(line, "flipped "), strings.HasPrefix(line, "impersonation "):
		a.relayed++
	}
	if _, o, alt, ok := mallory.ParseTampered(line); ok {
		a.tampered = append(a.tampered, tamperedSeen{o, alt, now})
	} else if len(a.lines) < maxLines {
		a.lines = append(a.lines, line)
	}
}

func (a *attackRun) snapshot() (poisoned time.Time, tampered []tamperedSeen, restored int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.poisonedAt, slices.Clone(a.tampered), a.restored
}

// attack is the scene's run of mallory, or a skip that says why there is
// none; nil before the first step.
func (e *Env) attack() *attackRun { return e.state().attack }

// attackFor is the attack a check of name reads, or the check itself when
// there is none to read: failed if mallory never started, skipped (with
// the reason) in a lab that can have no attacker.
func (e *Env) attackFor(name string) (*attackRun, *check.Check) {
	a := e.attack()
	switch {
	case a == nil:
		c := check.Failf(name, "mallory never started")
		return nil, &c
	case a.skip != "":
		c := check.Skipf(name, "%s", a.skip)
		return nil, &c
	}
	return a, nil
}

// startMallory adds the attacker host when the lab can have one and starts
// `zt-lab mallory` on it, returning once it intercepts and has sent its
// first poisoned frames.
func (e *Env) startMallory(ctx context.Context, mode string, port int) error {
	l := e.Lab()
	if l == nil {
		return fmt.Errorf("no lab yet")
	}
	run := &attackRun{}
	al, ok := l.(infra.AttackerLab)
	spec, why := infra.HostSpec{}, "no attacker host in this lab"
	if ok {
		var can bool
		if spec, why, can = al.Attacker(); !can {
			ok = false
		}
	}
	if !ok {
		run.skip = why
		e.keep(func(s *walkState) { s.attack = run })
		e.Logf("skipped: %s", why)
		return nil
	}
	h, found := l.Host(spec.Name)
	if !found {
		var err error
		if h, err = l.AddHost(ctx, spec); err != nil {
			return fmt.Errorf("add the attacker %s: %w", spec.Name, err)
		}
		e.LabChanged()
	}
	// A mallory before this one (the scene's previous step, or its last
	// run) ends as asked: its supervisor leaves the caches to it.
	if old := e.attack(); old != nil {
		old.stopping.Store(true)
	}
	for _, p := range h.Procs() {
		if p.Name() == "mallory" {
			_ = p.Stop(ctx, 3*time.Second)
		}
	}
	run.attacker = h
	run.supervised = make(chan struct{})
	victim, err1 := e.Host(ConsumerHost)
	service, err2 := e.Host(ServiceHost)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("the attack needs %s and %s: %v %v", ConsumerHost, ServiceHost, err1, err2)
	}
	argv := []string{e.Self, "mallory", "--victim", victim.Addr().String(), "--service", service.Addr().String(), "--port", fmt.Sprint(port), "--mode", mode}
	e.Logf("%s: zt-lab mallory --victim %s --service %s --port %d --mode %s", h.Name(), ConsumerHost, ServiceHost, port, mode)
	p, err := h.Start(ctx, infra.ProcSpec{Name: "mallory", Argv: argv, OnLine: func(l string) {
		run.onLine(l)
		e.Logf("%s: %s", h.Name(), l)
	}})
	if err != nil {
		return err
	}
	run.proc = p
	e.keep(func(s *walkState) { s.attack = run })
	go e.superviseMallory(run, l)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = waitUntil(wctx, 10*time.Millisecond, func() bool {
		select {
		case <-p.Done():
			return true
		default:
		}
		at, _, _ := run.snapshot()
		return !at.IsZero()
	})
	select {
	case <-p.Done():
		return fmt.Errorf("mallory exited: %s", strings.Join(p.Tail(5), " | "))
	default:
	}
	if err != nil {
		return fmt.Errorf("mallory did not start poisoning: %s", strings.Join(p.Tail(5), " | "))
	}
	return nil
}

// fetchThroughMallory sniffs the wire and has fcc00 fetch fortunes while
// mallory sits in the middle.
func (e *Env) fetchThroughMallory(ctx context.Context) error {
	a := e.attack()
	if a == nil {
		return fmt.Errorf("mallory never started: run the scene's first step")
	}
	if a.skip != "" {
		return nil
	}
	if err := e.StartSniffer(); err != nil {
		return err
	}
	if err := e.tapAttacker(a); err != nil {
		return err
	}
	for range tamperFetches {
		got, err := e.Consume(ctx, ConsumerHost, fmt.Sprintf("%s:%d", ServiceHost, FortunePort))
		if err != nil {
			return err
		}
		a.mu.Lock()
		a.fetched++
		a.printed = append(a.printed, got)
		a.mu.Unlock()
	}
	return nil
}

// stopMallory ends the attacker (SIGTERM: it un-poisons before it exits)
// and has fcc00 fetch once more.
func (e *Env) stopMallory(ctx context.Context) error {
	return e.stopMalloryThen(ctx, fmt.Sprintf("%s:%d", ServiceHost, FortunePort))
}

// stopMalloryThen is stopMallory with fcc00's fetch made from addr.
func (e *Env) stopMalloryThen(ctx context.Context, addr string) error {
	a := e.attack()
	if a == nil {
		return fmt.Errorf("mallory never started: run the scene's first step")
	}
	if a.skip != "" {
		return nil
	}
	a.stopping.Store(true)
	a.closeTap()
	if err := a.proc.Stop(ctx, 5*time.Second); err != nil {
		return fmt.Errorf("stop mallory: %w", err)
	}
	select {
	case <-a.supervised:
	case <-ctx.Done():
		return ctx.Err()
	}
	got, err := e.Consume(ctx, ConsumerHost, addr)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.clean = got
	a.mu.Unlock()
	return nil
}

// hostMAC is the hardware address of h's interface on the lab's wire, as
// h's own kernel reports it (`ip -o link`), and that interface's name.
func hostMAC(ctx context.Context, h infra.Host) (mac, dev string, err error) {
	out, err := h.Run(ctx, "ip", "-o", "-4", "addr", "show")
	if err != nil {
		return "", "", fmt.Errorf("read %s's addresses: %v", h.Name(), err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) >= 4 && f[2] == "inet" {
			if p, perr := netip.ParsePrefix(f[3]); perr == nil && p.Addr() == h.Addr() {
				dev = f[1]
			}
		}
	}
	if dev == "" {
		return "", "", fmt.Errorf("%s has no interface with %s", h.Name(), h.Addr())
	}
	out, err = h.Run(ctx, "ip", "-o", "link", "show", "dev", dev)
	if err != nil {
		return "", dev, fmt.Errorf("read %s's %s: %v", h.Name(), dev, err)
	}
	f := strings.Fields(string(out))
	if i := slices.Index(f, "link/ether"); i >= 0 && i+1 < len(f) {
		return f[i+1], dev, nil
	}
	return "", dev, fmt.Errorf("%s's %s has no Ethernet address: %s", h.Name(), dev, strings.TrimSpace(string(out)))
}

// neighbour is the hardware address h's ARP cache holds for addr, and the
// line `ip neigh` prints for it ("" when it holds none).
func neighbour(ctx context.Context, h infra.Host, addr netip.Addr) (mac, line string, err error) {
	out, err := h.Run(ctx, "ip", "neigh", "show", addr.String())
	if err != nil {
		return "", "", fmt.Errorf("read %s's ARP cache: %v", h.Name(), err)
	}
	line = strings.TrimSpace(string(out))
	f := strings.Fields(line)
	if i := slices.Index(f, "lladdr"); i >= 0 && i+1 < len(f) {
		mac = f[i+1]
	}
	return mac, line, nil
}

// cacheClaim is one ARP entry a check expects: on host, addr is at want.
type cacheClaim struct {
	host, of string // the host whose cache is read, the host it names
	want     string // whose MAC the entry must hold: a host name
}

// checkCaches reads the entries of claims from the hosts' own kernels,
// measuring again for up to two seconds (a frame takes a moment to land),
// and reports the last reading.
func (e *Env) checkCaches(ctx context.Context, name string, a *attackRun, claims []cacheClaim) check.Check {
	macs := map[string]string{}
	var c check.Check
	for _, n := range []string{ConsumerHost, ServiceHost, a.attacker.Name()} {
		h, err := e.Host(n)
		if err != nil {
			return check.Failf(name, "%v", err)
		}
		mac, dev, err := hostMAC(ctx, h)
		if err != nil {
			return check.Failf(name, "%v", err)
		}
		macs[n] = mac
		c.Seen("%s's %s is %s (ip link on %s)", n, dev, mac, n)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var seen []string
	var pass bool
	_ = waitUntil(wctx, 50*time.Millisecond, func() bool {
		seen, pass = nil, true
		for _, cl := range claims {
			h, err1 := e.Host(cl.host)
			of, err2 := e.Host(cl.of)
			if err1 != nil || err2 != nil {
				seen, pass = append(seen, fmt.Sprintf("hosts: %v %v", err1, err2)), false
				return false
			}
			mac, line, err := neighbour(ctx, h, of.Addr())
			if err != nil {
				seen, pass = append(seen, err.Error()), false
				return false
			}
			mark := "= " + cl.want + "'s MAC"
			if mac != macs[cl.want] {
				mark, pass = fmt.Sprintf("≠ %s's MAC %s", cl.want, macs[cl.want]), false
			}
			if line == "" {
				line = "(no entry)"
			}
			seen = append(seen, fmt.Sprintf("%s$ ip neigh show %s: %s  %s", cl.host, of.Addr(), line, mark))
		}
		return pass
	})
	c.Name, c.Pass = name, pass
	c.Evidence = append(c.Evidence, seen...)
	return c
}

// checkPoisoned proves from fcc00's and fcs00's own ARP caches that each
// now sends the other's frames to mallory.
func (e *Env) checkPoisoned(ctx context.Context, name string) check.Check {
	a, stop := e.attackFor(name)
	if stop != nil {
		return *stop
	}
	m := a.attacker.Name()
	return e.checkCaches(ctx, name, a, []cacheClaim{
		{ConsumerHost, ServiceHost, m},
		{ServiceHost, ConsumerHost, m},
	})
}

// checkTampered proves the consumer printed fortunes the service never
// served: what fcs00 sent (its own log) beside what fcc00 printed (its own
// output), the difference marked line by line.
func (e *Env) checkTampered() check.Check {
	const name = "the consumer printed a fortune that fcs00 never served"
	a, stop := e.attackFor(name)
	if stop != nil {
		return *stop
	}
	poisoned, tampered, _ := a.snapshot()
	a.mu.Lock()
	printed, fetched := slices.Clone(a.printed), a.fetched
	a.mu.Unlock()
	served := e.Served()
	altered := 0
	var first *tamperedSeen
	for _, p := range printed {
		if slices.Contains(served, p) {
			continue
		}
		altered++
		for i := range tampered {
			t := &tampered[i]
			if t.altered == p && slices.Contains(served, t.original) && first == nil {
				first = t
			}
		}
	}
	if first == nil {
		return check.Failf(name, "of %d fortunes fcc00 printed, %d were not served by fcs00, and none is one mallory reported rewriting from a fortune fcs00 served (%d reported)", fetched, altered, len(tampered))
	}
	c := check.Check{Name: name, Pass: altered == fetched && fetched > 0}
	c.Seen("%d of %d fortunes fetched were tampered; the first %d ms after the poisoning", altered, fetched, tampered[0].at.Sub(poisoned).Milliseconds())
	c.Evidence = append(c.Evidence, "fcs00 served (its own log), and what fcc00 printed:")
	c.Evidence = append(c.Evidence, lineDiff(first.original, first.altered)...)
	return c
}

// lineDiff marks the lines of before that after lost ("- ") and the lines
// after gained ("+ "), with the lines both share unmarked.
func lineDiff(before, after string) []string {
	b := strings.Split(strings.TrimRight(before, "\n"), "\n")
	a := strings.Split(strings.TrimRight(after, "\n"), "\n")
	var out []string
	for _, l := range b {
		if !slices.Contains(a, l) {
			out = append(out, "  - "+l)
		}
	}
	for _, l := range a {
		if slices.Contains(b, l) {
			out = append(out, "    "+l)
		} else {
			out = append(out, "  + "+l)
		}
	}
	return out
}

// checkTwoLegs proves from the wire that the fortune changed in mallory's
// hands: on the leg mallory → fcs00 the sniffer reads what fcs00 sent, on
// the leg fcc00 → fcs00's address (to mallory's MAC) the rewritten text.
func (e *Env) checkTwoLegs(ctx context.Context) check.Check {
	const name = "the sniffer sees the served and the tampered fortune on the two legs"
	a, stop := e.attackFor(name)
	if stop != nil {
		return *stop
	}
	an, where := e.Analyzer(), "the lab's wire"
	if t := a.legTap(); t != nil {
		an, where = t.analyzer, t.where
	}
	if an == nil {
		return check.Failf(name, "no capture ran")
	}
	fcc, err1 := e.Host(ConsumerHost)
	fcs, err2 := e.Host(ServiceHost)
	if err1 != nil || err2 != nil {
		return check.Failf(name, "hosts: %v %v", err1, err2)
	}
	_, tampered, _ := a.snapshot()
	var c check.Check
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_ = waitUntil(wctx, 20*time.Millisecond, func() bool {
		c = check.Check{Name: name}
		var toVictim, fromService map[string]sniffer.FlowSummary = map[string]sniffer.FlowSummary{}, map[string]sniffer.FlowSummary{}
		for _, f := range an.Flows() {
			if f.Key.Server.Addr() != fcs.Addr() || f.Key.Server.Port() != FortunePort {
				continue
			}
			_, fromServer, ok := an.Follow(f.Key)
			if !ok {
				continue
			}
			switch f.Key.Client.Addr() {
			case fcc.Addr():
				toVictim[string(fromServer)] = f
			case a.attacker.Addr():
				fromService[string(fromServer)] = f
			}
		}
		for _, t := range tampered {
			fv, ok1 := toVictim[t.altered]
			fs, ok2 := fromService[t.original]
			if ok1 && ok2 {
				names := an.Names()
				c.Pass = true
				c.Seen("captured on %s", where)
				c.Seen("%s (fcs00 → mallory) carries what fcs00 served:", fs.Direction(names, 1))
				c.Evidence = append(c.Evidence, indent(t.original)...)
				c.Seen("%s (mallory, as fcs00 → fcc00) carries the tampered text:", fv.Direction(names, 1))
				c.Evidence = append(c.Evidence, indent(t.altered)...)
				return true
			}
		}
		c.Seen("of %d fortunes mallory rewrote, none was captured whole on both legs (%d flows to fcc00, %d from fcs00 to mallory), captured on %s", len(tampered), len(toVictim), len(fromService), where)
		return false
	})
	return c
}

// checkCachesClean proves mallory left no trace: both caches hold the real
// hosts' MACs again, and fcc00 got a fortune fcs00 served.
func (e *Env) checkCachesClean(ctx context.Context, name string) check.Check {
	a, stop := e.attackFor(name)
	if stop != nil {
		return *stop
	}
	c := e.checkCaches(ctx, name, a, []cacheClaim{
		{ConsumerHost, ServiceHost, ServiceHost},
		{ServiceHost, ConsumerHost, ConsumerHost},
	})
	_, tampered, restored := a.snapshot()
	a.mu.Lock()
	clean, fetched := a.clean, a.fetched
	a.mu.Unlock()
	a.mu.Lock()
	died, undone := a.diedAt, a.restoredAt
	a.mu.Unlock()
	switch {
	case !died.IsZero() && !undone.IsZero():
		c.Seen("mallory died unasked; the lab undid its attack %d ms later (its rule gone, ip neigh replace with the real MACs)", undone.Sub(died).Milliseconds())
	case !died.IsZero():
		c.Pass = false
		c.Seen("mallory died unasked, and the lab could not undo its attack")
	default:
		c.Seen("mallory sent %d correcting ARP frames as it stopped", restored)
		if restored == 0 {
			c.Pass = false
		}
	}
	if clean == "" || !slices.Contains(e.Served(), clean) {
		c.Pass = false
		c.Seen("after mallory stopped fcc00 printed %q, which fcs00 never served", firstLine(clean))
	} else {
		c.Seen("after mallory stopped, fcc00 printed what fcs00 served: %q", firstLine(clean))
	}
	c.Seen("while mallory was in the path: %d of %d fortunes tampered", len(tampered), fetched)
	return c
}
