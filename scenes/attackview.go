package scenes

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/mallory"
)

// AttackView is the man in the middle as a screen shows it: the victims'
// ARP entries for each other as their own kernels last reported them, and
// what passed through mallory. The screen only reads it; the readings are
// made by the Env while mallory runs, and once more when it ends.
type AttackView struct {
	Attacker string // the attacker host's name
	MAC      string // its hardware address on the wire
	// InPath says mallory runs and takes the victims' connections.
	InPath bool
	// Entries are fcc00's entry for fcs00 and fcs00's for fcc00.
	Entries []NeighbourEntry
	// Relayed counts the connections mallory took (rewritten, flipped or
	// answered as the service); Tampered those whose fortune it rewrote.
	Relayed, Tampered int
	// Died is when mallory ended without being asked (killed); Restored,
	// when the lab had then undone its attack. Zero when it did not die.
	Died, Restored time.Time
}

// NeighbourEntry is one ARP entry read from a host's own kernel: on Host,
// the address of Of is at MAC, which belongs to Owner ("" when it is no
// host's the lab knows; Poisoned when it is the attacker's).
type NeighbourEntry struct {
	Host, Of string
	MAC      string
	Owner    string
	Poisoned bool
	Line     string // what `ip neigh show` printed; "" for no entry
}

// Poisoned says whether any entry maps a victim to the attacker.
func (v AttackView) Poisoned() bool {
	return slices.ContainsFunc(v.Entries, func(n NeighbourEntry) bool { return n.Poisoned })
}

// Recovered reports whether the lab undid an attack whose attacker died.
func (v AttackView) Recovered() bool { return !v.Died.IsZero() && !v.Restored.IsZero() }

// attackView is the current attack as a screen shows it; nil when there is
// none to show (no attack yet, or a lab without an attacker).
func (e *Env) attackView() *AttackView {
	a := e.attack()
	if a == nil || a.skip != "" || a.attacker == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	v := AttackView{
		Attacker: a.attacker.Name(), MAC: a.macs[a.attacker.Name()],
		InPath:  a.proc != nil && !a.ended,
		Entries: slices.Clone(a.entries), Tampered: len(a.tampered), Relayed: len(a.tampered) + a.relayed,
		Died: a.diedAt, Restored: a.restoredAt,
	}
	return &v
}

// victimPairs are the two ARP entries the attack poisons: on the first
// host, the second's address.
var victimPairs = [][2]string{{ConsumerHost, ServiceHost}, {ServiceHost, ConsumerHost}}

// readEntries reads the victims' entries for each other from their own
// kernels, and the hosts' MACs once, and tells the screens when a reading
// changed.
func (e *Env) readEntries(ctx context.Context, a *attackRun) {
	a.mu.Lock()
	need := a.macs == nil
	a.mu.Unlock()
	if need {
		macs := map[string]string{}
		for _, n := range []string{ConsumerHost, ServiceHost, a.attacker.Name()} {
			h, err := e.Host(n)
			if err != nil {
				return
			}
			mac, _, err := hostMAC(ctx, h)
			if err != nil {
				return
			}
			macs[n] = mac
		}
		a.mu.Lock()
		a.macs = macs
		a.mu.Unlock()
	}
	a.mu.Lock()
	macs := a.macs
	a.mu.Unlock()
	var entries []NeighbourEntry
	for _, p := range victimPairs {
		h, err1 := e.Host(p[0])
		of, err2 := e.Host(p[1])
		if err1 != nil || err2 != nil {
			return
		}
		mac, line, err := neighbour(ctx, h, of.Addr())
		if err != nil {
			return
		}
		n := NeighbourEntry{Host: p[0], Of: p[1], MAC: mac, Line: line}
		for name, m := range macs {
			if m == mac && mac != "" {
				n.Owner = name
			}
		}
		n.Poisoned = n.Owner == a.attacker.Name()
		entries = append(entries, n)
	}
	a.mu.Lock()
	changed := !slices.Equal(a.entries, entries)
	a.entries = entries
	a.mu.Unlock()
	if changed {
		e.LabChanged()
	}
}

// watchEvery is how often the victims' caches are read while mallory runs.
const watchEvery = 500 * time.Millisecond

// superviseMallory watches the attack that startMallory started on lab:
// it reads the victims' caches while mallory runs, for the screens, and
// when mallory ends without being asked (killed, crashed) it undoes the
// attack itself, since mallory no longer can: it takes mallory's rule and
// table out of the attacker's kernel and gives each victim the other's
// real MAC. Either way it reads the caches a last time.
func (e *Env) superviseMallory(a *attackRun, lab infra.Lab) {
	defer close(a.supervised)
	read := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.readEntries(ctx, a)
	}
	read()
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for done := false; !done; {
		select {
		case <-a.proc.Done():
			done = true
		case <-t.C:
			if e.Lab() != lab {
				return // the lab ended under it
			}
			read()
		}
	}
	died := time.Now()
	a.closeTap()
	current := func() bool { return e.Lab() == lab && e.attack() == a }
	var restored time.Time
	if !a.stopping.Load() && current() {
		a.mu.Lock()
		a.diedAt = died
		a.mu.Unlock()
		e.Logf("%s: mallory died (%v): the lab undoes its attack", a.attacker.Name(), a.proc.Err())
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := e.undoAttack(ctx, a)
		cancel()
		if err != nil {
			e.Logf("%s: undoing mallory's attack: %v", a.attacker.Name(), err)
		} else {
			restored = time.Now()
			e.Logf("%s: mallory's attack undone %d ms after it died", a.attacker.Name(), restored.Sub(died).Milliseconds())
		}
	}
	if current() {
		read()
	}
	// The view says the attack is over only with the caches read after it.
	a.mu.Lock()
	a.ended, a.restoredAt = true, restored
	a.mu.Unlock()
	e.LabChanged()
}

// undoAttack does what a mallory that stops does for itself: its
// interception out of its kernel, and the truth in both victims' caches
// (`ip neigh replace`, an ordinary entry the kernel confirms and ages as
// any other, so that a later attack can poison it again).
func (e *Env) undoAttack(ctx context.Context, a *attackRun) error {
	var errs []string
	// The rule goes first: until it does, a SYN to fcs00 that reaches
	// mallory is taken as its own and, with no listener left, dropped
	// (fcc00 sends it again a second later); once it is gone mallory
	// forwards what it gets, and the caches can follow.
	for _, argv := range mallory.Undo() {
		// Nothing to delete is not a failure: mallory may have died
		// before it intercepted.
		_, _ = a.attacker.Run(ctx, argv...)
	}
	if out, err := a.attacker.Run(ctx, "ip", "-4", "rule", "show", "priority", fmt.Sprint(mallory.RulePriority)); err != nil || strings.TrimSpace(string(out)) != "" {
		errs = append(errs, fmt.Sprintf("%s still intercepts: %v %s", a.attacker.Name(), err, strings.TrimSpace(string(out))))
	}
	for _, p := range victimPairs {
		h, err1 := e.Host(p[0])
		of, err2 := e.Host(p[1])
		if err1 != nil || err2 != nil {
			errs = append(errs, fmt.Sprint(err1, err2))
			continue
		}
		_, dev, err := hostMAC(ctx, h)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		mac, _, err := hostMAC(ctx, of)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		argv := []string{"ip", "neigh", "replace", of.Addr().String(), "lladdr", mac, "dev", dev, "nud", "reachable"}
		if out, err := h.Run(ctx, argv...); err != nil {
			errs = append(errs, fmt.Sprintf("%s$ %s: %v %s", h.Name(), strings.Join(argv, " "), err, strings.TrimSpace(string(out))))
			continue
		}
		e.Logf("%s$ %s", h.Name(), strings.Join(argv, " "))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
