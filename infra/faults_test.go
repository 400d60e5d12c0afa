package infra

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeProc is a process of fakeMachine: it exits when killed.
type fakeProc struct {
	spec ProcSpec
	done chan struct{}
	once sync.Once
}

func (p *fakeProc) Name() string                              { return p.spec.Name }
func (p *fakeProc) PID() int                                  { return 1 }
func (p *fakeProc) Tail(int) []string                         { return nil }
func (p *fakeProc) LogPath() string                           { return "" }
func (p *fakeProc) Done() <-chan struct{}                     { return p.done }
func (p *fakeProc) Err() error                                { return nil }
func (p *fakeProc) Stop(context.Context, time.Duration) error { p.exit(); return nil }
func (p *fakeProc) exit()                                     { p.once.Do(func() { close(p.done) }) }
func newFakeProc(name string) *fakeProc {
	return &fakeProc{spec: ProcSpec{Name: name}, done: make(chan struct{})}
}
func (m *fakeMachine) Spec(p *fakeProc) ProcSpec           { return p.spec }
func (m *fakeMachine) Kill(_ context.Context, p *fakeProc) { m.log("kill " + p.Name()); p.exit() }
func (m *fakeMachine) Partition(context.Context) error {
	m.log("partition")
	return m.fail["partition"]
}
func (m *fakeMachine) Heal(context.Context) error  { m.log("heal"); return m.fail["heal"] }
func (m *fakeMachine) start(name string) *fakeProc { p := newFakeProc(name); m.f.Track(p); return p }
func (m *fakeMachine) Start(_ context.Context, s ProcSpec) error {
	m.log("start " + s.Name)
	m.start(s.Name)
	return nil
}

// fakeMachine records what Faults asks of it, and fails what fail names.
type fakeMachine struct {
	f    *Faults[*fakeProc]
	mu   sync.Mutex
	did  []string
	fail map[string]error
}

func (m *fakeMachine) log(s string) { m.mu.Lock(); m.did = append(m.did, s); m.mu.Unlock() }

func (m *fakeMachine) Signal(_ context.Context, p *fakeProc, sig syscall.Signal) error {
	what := map[syscall.Signal]string{syscall.SIGSTOP: "stop", syscall.SIGCONT: "cont"}[sig] + " " + p.Name()
	m.log(what)
	return m.fail[what]
}

func (m *fakeMachine) took() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.did)
	m.did = nil
	slices.Sort(out) // kills run at once, in any order
	return out
}

func newFaults(t *testing.T, fail map[string]error) (*Faults[*fakeProc], *fakeMachine) {
	t.Helper()
	m := &fakeMachine{fail: fail}
	m.f = NewFaults[*fakeProc]("fcs01", m)
	m.start("consul")
	m.start("fortune")
	m.start("gone").exit()
	return m.f, m
}

func names(ps []*fakeProc) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name())
	}
	return out
}

func TestFaultsFailAndRecover(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		mode              FailMode
		state             HostState
		failed, recovered []string
		live              []string // while failed
	}{
		{Crash, StateCrashed, []string{"kill consul", "kill fortune"}, []string{"start consul", "start fortune"}, nil},
		{Partition, StatePartitioned, []string{"partition"}, []string{"heal"}, []string{"consul", "fortune"}},
		{Freeze, StateFrozen, []string{"stop consul", "stop fortune"},
			[]string{"cont consul", "cont fortune"}, []string{"consul", "fortune"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			f, m := newFaults(t, nil)
			if err := f.Fail(ctx, tt.mode); err != nil {
				t.Fatal(err)
			}
			if got := m.took(); !slices.Equal(got, tt.failed) {
				t.Errorf("fail did %q, want %q", got, tt.failed)
			}
			if s := f.State(); s != tt.state {
				t.Errorf("state %s, want %s", s, tt.state)
			}
			if got := names(f.Live()); !slices.Equal(got, tt.live) {
				t.Errorf("live while failed: %q, want %q", got, tt.live)
			}
			if err := f.Fail(ctx, Crash); err == nil || !strings.Contains(err.Error(), "already "+string(tt.state)) {
				t.Errorf("a second failure: %v", err)
			}
			usable := f.Usable() == nil
			if usable != (tt.state == StatePartitioned) {
				t.Errorf("usable while %s: %v", tt.state, usable)
			}
			if err := f.Recover(ctx); err != nil {
				t.Fatal(err)
			}
			if got := m.took(); !slices.Equal(got, tt.recovered) {
				t.Errorf("recover did %q, want %q", got, tt.recovered)
			}
			if s := f.State(); s != StateUp {
				t.Errorf("state after recover %s", s)
			}
			if got := names(f.Live()); !slices.Equal(got, []string{"consul", "fortune"}) {
				t.Errorf("live after recover: %q", got)
			}
			if err := f.Recover(ctx); err != nil || len(m.took()) != 0 {
				t.Errorf("recovering an up host: %v", err)
			}
		})
	}
}

func TestFaultsFreezeThatFailsHalfwayThawsWhatItStopped(t *testing.T) {
	f, m := newFaults(t, map[string]error{"stop fortune": errors.New("no such process")})
	err := f.Fail(context.Background(), Freeze)
	if err == nil || !strings.Contains(err.Error(), "freeze fortune on fcs01") {
		t.Fatalf("err = %v", err)
	}
	want := []string{"cont consul", "stop consul", "stop fortune"}
	if got := m.took(); !slices.Equal(got, want) {
		t.Errorf("did %q, want %q", got, want)
	}
	if s := f.State(); s != StateUp {
		t.Errorf("state %s, want up", s)
	}
}

func TestFaultsPartitionThatFailsLeavesTheHostUp(t *testing.T) {
	f, _ := newFaults(t, map[string]error{"partition": errors.New("netlink: operation not permitted")})
	err := f.Fail(context.Background(), Partition)
	if err == nil || err.Error() != "partition fcs01: netlink: operation not permitted" {
		t.Fatalf("err = %v", err)
	}
	if s := f.State(); s != StateUp {
		t.Errorf("state %s", s)
	}
}

func TestFaultsUnknownMode(t *testing.T) {
	f, _ := newFaults(t, nil)
	if err := f.Fail(context.Background(), "meteor"); err == nil || !strings.Contains(err.Error(), `"meteor"`) {
		t.Errorf("err = %v", err)
	}
}

func TestFaultsPowerCycle(t *testing.T) {
	ctx := context.Background()
	f, m := newFaults(t, nil)
	var conn string
	cut := func(context.Context) error { m.log("power off"); return nil }
	if err := f.FailWith(ctx, StatePoweredOff, cut, func() { conn = "closed" }); err != nil {
		t.Fatal(err)
	}
	if s, live := f.State(), f.Live(); s != StatePoweredOff || len(live) != 0 || conn != "closed" {
		t.Fatalf("after the cut: state %s, live %q, conn %s", s, names(live), conn)
	}
	if err := f.Recover(ctx); err == nil {
		t.Errorf("Recover brought back a powered-off host")
	}
	m.took()
	err := f.RecoverWith(ctx, StatePoweredOff, func(context.Context) (func(bool), error) {
		m.log("power on")
		return func(ended bool) { conn = "new" }, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"power on", "start consul", "start fortune"}
	if got := m.took(); !slices.Equal(got, want) || conn != "new" || f.State() != StateUp {
		t.Errorf("did %q (want %q), conn %s, state %s", got, want, conn, f.State())
	}
}

func TestFaultsALabThatClosesWhileAHostComesBack(t *testing.T) {
	ctx := context.Background()
	f, m := newFaults(t, nil)
	if err := f.FailWith(ctx, StatePoweredOff, func(context.Context) error { return nil }, func() {}); err != nil {
		t.Fatal(err)
	}
	var undone bool
	err := f.RecoverWith(ctx, StatePoweredOff, func(context.Context) (func(bool), error) {
		f.End() // the lab closes while the machine boots
		return func(ended bool) { undone = ended }, nil
	})
	if !errors.Is(err, ErrEnded) || !undone {
		t.Errorf("err = %v, undone = %v", err, undone)
	}
	if got := m.took(); len(got) != 0 {
		t.Errorf("started %q on a closed lab", got)
	}
	if s := f.State(); s != StateDown {
		t.Errorf("state %s", s)
	}
	if err := f.Usable(); err == nil {
		t.Errorf("a closed lab's host is usable")
	}
}

func TestFaultsAHostDownStaysDownWhateverFinishesLater(t *testing.T) {
	ctx := context.Background()
	f, _ := newFaults(t, nil)
	var also bool
	cut := func(context.Context) error { f.End(); return nil } // the lab closes mid-cut
	if err := f.FailWith(ctx, StatePoweredOff, cut, func() { also = true }); err != nil {
		t.Fatal(err)
	}
	if s := f.State(); s != StateDown || also {
		t.Errorf("after a power cut that the lab's close overtook: state %s, also ran: %v", s, also)
	}
	g, m := newFaults(t, map[string]error{})
	m.fail["partition"] = nil
	g.End()
	if err := g.Fail(ctx, Partition); err == nil {
		t.Errorf("a closed lab's host failed again")
	}
}
