package scenes

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/ztlab/zt-lab/infra"
)

// Fault is one failure injected into a host of the lab, or one recovery:
// what a FaultInjected or FaultRecovered event reports, beside the event's
// time, how long it took, and its error.
type Fault struct {
	Host string `json:"host"`
	// Mode is how the host was made to fail; for a recovery, how it had
	// failed (empty when it had not).
	Mode infra.FailMode `json:"mode,omitempty"`
	// ByHand says a person did it (the screen's x), not a step.
	ByHand bool `json:"by_hand,omitempty"`
}

// Fail makes host fail in mode, as the doing of the step this view was
// handed to (on the engine's own Env, the step run last): every fault
// of the walkthrough goes through here (or Engine.Fail), so that each is
// one FaultInjected event the timeline, the headless log and the report
// card see.
func (e *Env) Fail(ctx context.Context, host string, mode infra.FailMode) error {
	scene, step := e.position()
	return e.fault(ctx, scene, step, Fault{Host: host, Mode: mode})
}

// Recover undoes host's failure, as Fail's step's doing, and reports it
// as a FaultRecovered event.
func (e *Env) Recover(ctx context.Context, host string) error {
	scene, step := e.position()
	return e.fault(ctx, scene, step, Fault{Host: host})
}

// Fail makes host fail in mode by hand, beside whatever step runs: the
// screen's x. The event belongs to no step.
func (e *Engine) Fail(ctx context.Context, host string, mode infra.FailMode) error {
	return e.env.fault(ctx, -1, -1, Fault{Host: host, Mode: mode, ByHand: true})
}

// Recover undoes host's failure by hand.
func (e *Engine) Recover(ctx context.Context, host string) error {
	return e.env.fault(ctx, -1, -1, Fault{Host: host, ByHand: true})
}

// fault injects f (a recovery when f.Mode is empty) and emits its event,
// failed or not.
func (e *Env) fault(ctx context.Context, scene, step int, f Fault) error {
	kind := FaultInjected
	if f.Mode == "" {
		kind = FaultRecovered
	}
	start := time.Now()
	h, err := e.Host(f.Host)
	if err == nil {
		if kind == FaultInjected {
			err = h.Fail(ctx, f.Mode)
		} else {
			f.Mode = failedMode(h.State())
			err = h.Recover(ctx)
			// A host back from a crash has its processes started again
			// all at once; the mesh puts its sidecars back in service.
			if c := e.Cluster(); err == nil && f.Mode == infra.Crash && c != nil {
				err = c.Recovered(ctx, h)
			}
		}
	}
	if e.world != nil && e.emit != nil {
		ev := Event{Kind: kind, Scene: scene, Step: step, Fault: &f, At: start, Took: time.Since(start)}
		if err != nil {
			ev.Err = err.Error()
		}
		e.emit(ev)
	}
	return err
}

// failedMode is the failure that leaves a host in state s; empty for a
// host that has not failed.
func failedMode(s infra.HostState) infra.FailMode {
	switch s {
	case infra.StateCrashed:
		return infra.Crash
	case infra.StatePartitioned:
		return infra.Partition
	case infra.StateFrozen:
		return infra.Freeze
	case infra.StatePoweredOff:
		return infra.PowerOff
	}
	return ""
}

// HostView is a host as a screen shows it: what it is and how it is, and
// no way to change it.
type HostView struct {
	Name  string
	Role  infra.Role
	Addr  netip.Addr
	State infra.HostState
	// Modes are the ways it can fail.
	Modes []infra.FailMode
}

// LabView is the lab as a screen shows it.
type LabView struct {
	ID    string
	Hosts []HostView
	// Attack is the man in the middle, while it runs and after; nil
	// when there is none.
	Attack *AttackView
}

// ViewOf reads l's hosts as a screen shows them.
func ViewOf(l infra.Lab) LabView {
	v := LabView{ID: l.ID()}
	for _, h := range l.Hosts() {
		v.Hosts = append(v.Hosts, HostView{Name: h.Name(), Role: h.Role(), Addr: h.Addr(), State: h.State(), Modes: infra.HostFailModes(h)})
	}
	return v
}

// LabView is the running lab as a screen shows it; false before the first
// scene.
func (e *Env) LabView() (LabView, bool) {
	l := e.Lab()
	if l == nil {
		return LabView{}, false
	}
	v := ViewOf(l)
	v.Attack = e.attackView()
	return v, true
}

// FaultLine says a FaultInjected or FaultRecovered event in one line, as
// the headless log prints it: "[FAULT] fcs00: partition (took 12ms)"; a
// fault done within a millisecond says no time.
func FaultLine(ev Event) string {
	f := ev.Fault
	if f == nil {
		return ""
	}
	var b strings.Builder
	if ev.Kind == FaultRecovered {
		b.WriteString("[RECOVER] " + f.Host)
		if f.Mode != "" {
			b.WriteString(": back from " + string(f.Mode))
		}
	} else {
		b.WriteString("[FAULT] " + f.Host + ": " + string(f.Mode))
	}
	if f.ByHand {
		b.WriteString(", by hand")
	}
	if took := ev.Took.Round(time.Millisecond); took > 0 {
		fmt.Fprintf(&b, " (took %s)", took)
	}
	if ev.Err != "" {
		b.WriteString(" failed: " + ev.Err)
	}
	return b.String()
}
