package scenes

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ztlab/zt-lab/infra"
)

// faultHost is a lab host that is only a name and a failure state.
type faultHost struct {
	mu    sync.Mutex
	name  string
	state infra.HostState
}

func (h *faultHost) Name() string     { return h.name }
func (h *faultHost) Role() infra.Role { return infra.RoleService }
func (h *faultHost) Addr() netip.Addr { return netip.MustParseAddr("198.18.0.13") }
func (h *faultHost) State() infra.HostState {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state
}
func (h *faultHost) Start(context.Context, infra.ProcSpec) (infra.Proc, error) {
	return nil, errors.New("fault host")
}
func (h *faultHost) Run(context.Context, ...string) ([]byte, error) {
	return nil, errors.New("fault host")
}
func (h *faultHost) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("fault host")
}
func (h *faultHost) Procs() []infra.Proc { return nil }
func (h *faultHost) DataDir() string     { return "/nonexistent" }
func (h *faultHost) WriteFile(context.Context, string, []byte, os.FileMode) (string, error) {
	return "", errors.New("fault host")
}

func (h *faultHost) Fail(_ context.Context, mode infra.FailMode) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state != infra.StateUp {
		return errors.New(h.name + " is already " + string(h.state))
	}
	h.state = map[infra.FailMode]infra.HostState{infra.Crash: infra.StateCrashed, infra.Partition: infra.StatePartitioned, infra.Freeze: infra.StateFrozen}[mode]
	return nil
}

func (h *faultHost) Recover(context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.state = infra.StateUp
	return nil
}

// faultLab is one host, fcs00.
type faultLab struct{ fcs *faultHost }

func (l *faultLab) ID() string          { return "faults" }
func (l *faultLab) Hosts() []infra.Host { return []infra.Host{l.fcs} }
func (l *faultLab) Host(name string) (infra.Host, bool) {
	if name == l.fcs.name {
		return l.fcs, true
	}
	return nil, false
}
func (l *faultLab) AddHost(context.Context, infra.HostSpec) (infra.Host, error) {
	return nil, errors.New("fault lab")
}
func (l *faultLab) Wire() infra.WireTap         { return infra.WireTap{} }
func (l *faultLab) Close(context.Context) error { return nil }

// faultEngine is a walkthrough of one scene whose step partitions fcs00
// and recovers it, on a lab of that one host, built already.
func faultEngine(t *testing.T) (*Engine, *faultLab) {
	t.Helper()
	lab := &faultLab{fcs: &faultHost{name: "fcs00", state: infra.StateUp}}
	env := &Env{Build: func(context.Context) (infra.Lab, error) { return lab, nil }}
	e := New(env, []Scene{{ID: "faults", Title: "Faults", Steps: []Step{
		{Title: "warm up"},
		{Title: "partition fcs00 and recover it", Do: func(ctx context.Context, env *Env) error {
			if err := env.Fail(ctx, "fcs00", infra.Partition); err != nil {
				return err
			}
			return env.Recover(ctx, "fcs00")
		}},
	}}})
	if err := env.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e, lab
}

// faults collects the fault events from the stream until it is quiet.
func faultEvents(ch <-chan Event) []Event {
	var out []Event
	for {
		select {
		case ev := <-ch:
			if ev.Kind == FaultInjected || ev.Kind == FaultRecovered {
				out = append(out, ev)
			}
		default:
			return out
		}
	}
}

func TestEveryFaultIsAnEvent(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		do   func(e *Engine) error
		want []Event // Kind, Scene, Step, Fault and Err only
	}{
		{
			name: "a step's fault belongs to its step",
			do:   func(e *Engine) error { return e.RunScene(ctx, 0) },
			want: []Event{
				{Kind: FaultInjected, Scene: 0, Step: 1, Fault: &Fault{Host: "fcs00", Mode: infra.Partition}},
				{Kind: FaultRecovered, Scene: 0, Step: 1, Fault: &Fault{Host: "fcs00", Mode: infra.Partition}},
			},
		},
		{
			name: "a fault by hand belongs to no step",
			do: func(e *Engine) error {
				if err := e.Fail(ctx, "fcs00", infra.Freeze); err != nil {
					return err
				}
				return e.Recover(ctx, "fcs00")
			},
			want: []Event{
				{Kind: FaultInjected, Scene: -1, Step: -1, Fault: &Fault{Host: "fcs00", Mode: infra.Freeze, ByHand: true}},
				{Kind: FaultRecovered, Scene: -1, Step: -1, Fault: &Fault{Host: "fcs00", Mode: infra.Freeze, ByHand: true}},
			},
		},
		{
			name: "a fault that cannot be made says why",
			do: func(e *Engine) error {
				if err := e.Fail(ctx, "fcs00", infra.Crash); err != nil {
					return err
				}
				err1 := e.Fail(ctx, "fcs00", infra.Crash)
				err2 := e.Fail(ctx, "fcs09", infra.Crash)
				if err1 == nil || err2 == nil {
					return errors.New("failing a failed host, or no host, did not fail")
				}
				return nil
			},
			want: []Event{
				{Kind: FaultInjected, Scene: -1, Step: -1, Fault: &Fault{Host: "fcs00", Mode: infra.Crash, ByHand: true}},
				{Kind: FaultInjected, Scene: -1, Step: -1, Fault: &Fault{Host: "fcs00", Mode: infra.Crash, ByHand: true}, Err: "fcs00 is already crashed"},
				{Kind: FaultInjected, Scene: -1, Step: -1, Fault: &Fault{Host: "fcs09", Mode: infra.Crash, ByHand: true}, Err: "the lab has no host fcs09"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, lab := faultEngine(t)
			ch := e.Subscribe()
			if err := tt.do(e); err != nil {
				t.Fatal(err)
			}
			got := faultEvents(ch)
			if len(got) != len(tt.want) {
				t.Fatalf("%d fault events, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Kind != w.Kind || g.Scene != w.Scene || g.Step != w.Step || *g.Fault != *w.Fault || g.Err != w.Err {
					t.Errorf("event %d: %s %d.%d %+v %q, want %s %d.%d %+v %q", i, g.Kind, g.Scene, g.Step, *g.Fault, g.Err,
						w.Kind, w.Scene, w.Step, *w.Fault, w.Err)
				}
				if g.At.IsZero() {
					t.Errorf("event %d has no time", i)
				}
			}
			if tt.name != "a fault that cannot be made says why" && lab.fcs.State() != infra.StateUp {
				t.Errorf("fcs00 is %s after recovering, want up", lab.fcs.State())
			}
		})
	}
}

// The headless log has a line for each fault, between the step's lines.
func TestTheHeadlessLogShowsEveryFault(t *testing.T) {
	e, _ := faultEngine(t)
	var out bytes.Buffer
	if err := Headless(context.Background(), e, &out, nil); err != nil {
		t.Fatal(err)
	}
	log := out.String()
	step := strings.Index(log, "-- partition fcs00 and recover it")
	fault := strings.Index(log, "   [FAULT] fcs00: partition")
	back := strings.Index(log, "   [RECOVER] fcs00: back from partition")
	if step < 0 || fault < step || back < fault {
		t.Errorf("the log lacks the step, its fault and its recovery, in that order:\n%s", log)
	}
}

func TestFaultLineSaysWhoAndWhatFailed(t *testing.T) {
	tests := []struct {
		ev   Event
		want string
	}{
		{Event{Kind: FaultInjected, Fault: &Fault{Host: "fcs01", Mode: infra.Crash}}, "[FAULT] fcs01: crash"},
		{Event{Kind: FaultInjected, Fault: &Fault{Host: "fcs01", Mode: infra.Crash}, Took: 18400 * time.Microsecond}, "[FAULT] fcs01: crash (took 18ms)"},
		{Event{Kind: FaultInjected, Fault: &Fault{Host: "fcs00", Mode: infra.PowerOff, ByHand: true}, Err: "no power"}, "[FAULT] fcs00: poweroff, by hand failed: no power"},
		{Event{Kind: FaultRecovered, Fault: &Fault{Host: "fcs02", Mode: infra.Freeze}}, "[RECOVER] fcs02: back from freeze"},
		{Event{Kind: FaultRecovered, Fault: &Fault{Host: "fcs02"}}, "[RECOVER] fcs02"},
		{Event{Kind: Output, Text: "not a fault"}, ""},
	}
	for _, tt := range tests {
		if got := FaultLine(tt.ev); got != tt.want {
			t.Errorf("FaultLine(%+v) = %q, want %q", tt.ev, got, tt.want)
		}
	}
}
