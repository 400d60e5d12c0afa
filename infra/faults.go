package infra

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"
)

// Machine does to the machine under a host what failing and recovering it
// takes; Faults decides what and when.
type Machine[P Proc] interface {
	// Spec is what started p: a crash records it, to start it again.
	Spec(p P) ProcSpec
	// Kill ends p at once and returns when it has.
	Kill(ctx context.Context, p P)
	Signal(ctx context.Context, p P, sig syscall.Signal) error
	// Partition cuts the host off the wire; Heal joins it again.
	Partition(ctx context.Context) error
	Heal(ctx context.Context) error
	// Start starts spec again on recover, and must Track it.
	Start(ctx context.Context, spec ProcSpec) error
}

// Faults is a host's state, the processes started on it, and what a crash
// killed, to start again on recover: the failure state machine every
// provider's host shares. Fail and Recover take turns.
//
// Mu guards the state and the processes; a host may keep fields of its own
// under it, to change them with the state at once (see FailWith).
type Faults[P Proc] struct {
	Mu sync.Mutex

	name    string
	m       Machine[P]
	op      sync.Mutex
	state   HostState
	procs   []P
	crashed []ProcSpec
}

// NewFaults is the failure state of the host name, up, with nothing started.
func NewFaults[P Proc](name string, m Machine[P]) *Faults[P] {
	return &Faults[P]{name: name, m: m, state: StateUp}
}

func (f *Faults[P]) State() HostState {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return f.state
}

// Live lists the processes started on the host that have not exited.
func (f *Faults[P]) Live() []P {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return slices.DeleteFunc(slices.Clone(f.procs), exited)
}

// Usable is nil when processes may start on the host: it is up, or
// partitioned (its processes run, cut off from the wire).
func (f *Faults[P]) Usable() error {
	switch s := f.State(); s {
	case StateUp, StatePartitioned:
		return nil
	default:
		return fmt.Errorf("host %s is %s: recover it first (zt-lab recover %s)", f.name, s, f.name)
	}
}

// Track records a process started on the host.
func (f *Faults[P]) Track(p P) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.procs = append(slices.DeleteFunc(f.procs, exited), p)
}

// End marks the host down for good, as its lab closes, and hands back
// the processes to end.
func (f *Faults[P]) End() []P {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	procs := f.procs
	f.procs, f.crashed, f.state = nil, nil, StateDown
	return procs
}

// Fail fails an up host in mode: a crash kills every process and records
// it, a partition cuts the host off the wire, a freeze stops every process.
func (f *Faults[P]) Fail(ctx context.Context, mode FailMode) error {
	f.op.Lock()
	defer f.op.Unlock()
	if s := f.State(); s != StateUp {
		return fmt.Errorf("host %s is already %s: recover it first", f.name, s)
	}
	procs := f.Live()
	switch mode {
	case Crash:
		specs := make([]ProcSpec, 0, len(procs))
		for _, p := range procs {
			specs = append(specs, f.m.Spec(p))
		}
		f.set(StateCrashed, func() { f.procs, f.crashed = nil, specs })
		var wg sync.WaitGroup
		for _, p := range procs {
			wg.Go(func() { f.m.Kill(ctx, p) })
		}
		wg.Wait()
	case Partition:
		if err := f.m.Partition(ctx); err != nil {
			return fmt.Errorf("partition %s: %w", f.name, err)
		}
		f.set(StatePartitioned, nil)
	case Freeze:
		for i, p := range procs {
			if err := f.m.Signal(ctx, p, SigStop); err != nil {
				for _, q := range procs[:i] {
					_ = f.m.Signal(ctx, q, SigCont)
				}
				return fmt.Errorf("freeze %s on %s: %w", p.Name(), f.name, err)
			}
		}
		f.set(StateFrozen, nil)
	default:
		return fmt.Errorf("unknown failure mode %q", mode)
	}
	return nil
}

// Recover undoes Fail: a crashed host starts again what the crash killed,
// a partitioned one joins the wire again, a frozen one runs.
func (f *Faults[P]) Recover(ctx context.Context) error {
	f.op.Lock()
	defer f.op.Unlock()
	switch s := f.State(); s {
	case StateUp:
		return nil
	case StateCrashed:
		return f.restart(ctx, func(bool) {}, "recover")
	case StatePartitioned:
		if err := f.m.Heal(ctx); err != nil {
			return fmt.Errorf("heal %s: %w", f.name, err)
		}
		f.set(StateUp, nil)
	case StateFrozen:
		for _, p := range f.Live() {
			_ = f.m.Signal(ctx, p, SigCont)
		}
		f.set(StateUp, nil)
	default:
		return fmt.Errorf("host %s is %s and cannot recover", f.name, s)
	}
	return nil
}

// FailWith is a failure the provider carries out whole, as a power cut:
// what runs is recorded, cut runs, and the host reads as state, with also
// run under Mu at the same moment (not at all if the lab closed
// meanwhile). Every process reads as ended.
func (f *Faults[P]) FailWith(ctx context.Context, state HostState, cut func(context.Context) error, also func()) error {
	f.op.Lock()
	defer f.op.Unlock()
	if s := f.State(); s != StateUp {
		return fmt.Errorf("host %s is already %s: recover it first", f.name, s)
	}
	var specs []ProcSpec
	for _, p := range f.Live() {
		specs = append(specs, f.m.Spec(p))
	}
	if err := cut(ctx); err != nil {
		return err
	}
	f.set(state, func() {
		f.procs, f.crashed = nil, specs
		also()
	})
	return nil
}

// ErrEnded is the lab closing while a host came back.
var ErrEnded = errors.New("the lab has ended")

// RecoverWith brings a host back from FailWith's state: back readies the
// machine and returns attach; attach(false) runs under Mu as the host comes
// up, and what ran starts again. If the lab closed meanwhile, attach(true)
// runs instead, outside Mu, to undo what back did.
func (f *Faults[P]) RecoverWith(ctx context.Context, from HostState, back func(context.Context) (attach func(ended bool), err error)) error {
	f.op.Lock()
	defer f.op.Unlock()
	if s := f.State(); s != from {
		return fmt.Errorf("host %s is %s, not %s", f.name, s, from)
	}
	attach, err := back(ctx)
	if err != nil {
		return err
	}
	return f.restart(ctx, attach, "restart")
}

// restart sets the host up, with attach(false) under Mu, and starts again
// what a failure recorded; a host whose lab closed meanwhile stays down,
// and attach(true) runs.
func (f *Faults[P]) restart(ctx context.Context, attach func(ended bool), what string) error {
	f.Mu.Lock()
	if f.state == StateDown {
		f.Mu.Unlock()
		attach(true)
		return fmt.Errorf("%s %s: %w", what, f.name, ErrEnded)
	}
	specs := f.crashed
	f.crashed, f.state = nil, StateUp
	attach(false)
	f.Mu.Unlock()
	var errs []error
	for _, s := range specs {
		if err := f.m.Start(ctx, s); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s %s: %w", what, f.name, err)
	}
	return nil
}

// set changes the state, with also under Mu, unless the lab closed
// meanwhile: a host that is down stays down.
func (f *Faults[P]) set(s HostState, also func()) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	if f.state == StateDown {
		return
	}
	f.state = s
	if also != nil {
		also()
	}
}

func exited[P Proc](p P) bool {
	select {
	case <-p.Done():
		return true
	default:
		return false
	}
}
