package scenes

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/mallory"
)

// paperKernel answers the `ip` commands the attack's supervisor runs, from
// one host's neighbour table and mallory's rule, and records them.
type paperKernel struct {
	mu    sync.Mutex
	addr  netip.Addr
	mac   string
	neigh map[string]string // address: MAC
	rule  bool              // mallory's policy rule is in
	stuck bool              // the rule will not go
	ran   []string
}

func (k *paperKernel) run(argv []string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	cmd := strings.Join(argv, " ")
	k.ran = append(k.ran, cmd)
	prio := fmt.Sprint(mallory.RulePriority)
	switch {
	case cmd == "ip -o -4 addr show":
		return fmt.Appendf(nil, "2: eth0    inet %s/24 brd 198.18.0.255 scope global eth0\n", k.addr), nil
	case cmd == "ip -o link show dev eth0":
		return fmt.Appendf(nil, "2: eth0@if7: <UP> mtu 1500\\    link/ether %s brd ff:ff:ff:ff:ff:ff\n", k.mac), nil
	case strings.HasPrefix(cmd, "ip neigh show "):
		a := argv[3]
		if m, ok := k.neigh[a]; ok {
			return fmt.Appendf(nil, "%s dev eth0 lladdr %s REACHABLE\n", a, m), nil
		}
		return nil, nil
	case strings.HasPrefix(cmd, "ip neigh replace "):
		k.neigh[argv[3]] = argv[5]
		return nil, nil
	case cmd == "ip -4 rule del priority "+prio:
		if !k.rule {
			return []byte("RTNETLINK answers: No such file or directory"), fmt.Errorf("exit 2")
		}
		k.rule = k.stuck
		return nil, nil
	case cmd == "ip -4 rule show priority "+prio:
		if k.rule {
			return []byte(prio + ":	from all iif eth0 ipproto tcp dport 8181 lookup 8181\n"), nil
		}
		return nil, nil
	case strings.HasPrefix(cmd, "ip -4 route flush table "):
		return nil, nil
	}
	return nil, fmt.Errorf("paper kernel: %s", cmd)
}

func (k *paperKernel) commands() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for _, c := range k.ran {
		if !strings.Contains(c, " show") {
			out = append(out, c)
		}
	}
	return out
}

// paperProc is mallory's process on paper: it ends when told to.
type paperProc struct {
	done chan struct{}
	err  error
}

func (p *paperProc) Name() string          { return "mallory" }
func (p *paperProc) PID() int              { return 4242 }
func (p *paperProc) Tail(int) []string     { return nil }
func (p *paperProc) LogPath() string       { return "" }
func (p *paperProc) Done() <-chan struct{} { return p.done }
func (p *paperProc) Err() error            { return p.err }
func (p *paperProc) Stop(context.Context, time.Duration) error {
	p.end(nil)
	return nil
}
func (p *paperProc) end(err error) {
	select {
	case <-p.done:
	default:
		p.err = err
		close(p.done)
	}
}

// poisonedLab is a paper lab in the middle of the attack: both victims'
// entries for each other hold mallory's MAC, and mallory's rule is in.
func poisonedLab(stuck bool) (*Env, *attackRun, map[string]*paperKernel) {
	const malloryMAC = "02:00:00:00:00:60"
	l := newCheckLab()
	l.hosts = append(l.hosts, &checkHost{name: infra.AttackerHost, role: infra.RoleAttacker, addr: netip.MustParseAddr("198.18.0.60"), state: infra.StateUp})
	kernels := map[string]*paperKernel{
		ServiceHost:        {mac: "02:00:00:00:00:20", neigh: map[string]string{"198.18.0.30": malloryMAC}},
		ConsumerHost:       {mac: "02:00:00:00:00:30", neigh: map[string]string{"198.18.0.20": malloryMAC}},
		infra.AttackerHost: {mac: malloryMAC, neigh: map[string]string{}, rule: true, stuck: stuck},
	}
	for name, k := range kernels {
		h := l.host(name)
		k.addr = h.addr
		h.run = k.run
	}
	const fortune = "A fortune fcs00 served.\n"
	env := checkEnv(l, "", []string{fortune}, nil)
	a := &attackRun{attacker: l.host(infra.AttackerHost), proc: &paperProc{done: make(chan struct{})}, supervised: make(chan struct{}), clean: fortune}
	env.keep(func(s *walkState) { s.attack = a })
	return env, a, kernels
}

func TestTheLabUndoesTheAttackOfAMalloryThatDied(t *testing.T) {
	tests := []struct {
		name string
		// asked: mallory was stopped by whoever started it; stuck: its
		// rule cannot be deleted.
		asked, stuck bool
		// want are the commands each host must have run, in order.
		want      map[string][]string
		recovered bool
		clean     bool // the view's entries, last read, are the real MACs
	}{
		{
			name: "killed: the lab undoes it",
			want: map[string][]string{
				infra.AttackerHost: {"ip -4 rule del priority 8181", "ip -4 route flush table 8181"},
				ConsumerHost:       {"ip neigh replace 198.18.0.20 lladdr 02:00:00:00:00:20 dev eth0 nud reachable"},
				ServiceHost:        {"ip neigh replace 198.18.0.30 lladdr 02:00:00:00:00:30 dev eth0 nud reachable"},
			},
			recovered: true, clean: true,
		},
		{
			name:  "stopped as asked: mallory undoes it, the lab touches nothing",
			asked: true,
			want:  map[string][]string{infra.AttackerHost: nil, ConsumerHost: nil, ServiceHost: nil},
		},
		{
			name:  "killed, and its rule will not go: not recovered",
			stuck: true, clean: true,
			want: map[string][]string{
				infra.AttackerHost: {"ip -4 rule del priority 8181", "ip -4 route flush table 8181"},
				ConsumerHost:       {"ip neigh replace 198.18.0.20 lladdr 02:00:00:00:00:20 dev eth0 nud reachable"},
				ServiceHost:        {"ip neigh replace 198.18.0.30 lladdr 02:00:00:00:00:30 dev eth0 nud reachable"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, a, kernels := poisonedLab(tt.stuck)
			go env.superviseMallory(a, env.Lab())
			// The supervisor reads the caches at once: the view shows the
			// poisoning before mallory ends.
			deadline := time.After(30 * time.Second)
			for v := env.attackView(); v == nil || !v.Poisoned(); v = env.attackView() {
				select {
				case <-deadline:
					t.Fatalf("the view never showed the poisoned caches: %+v", v)
				case <-time.After(time.Millisecond):
				}
			}
			if tt.asked {
				a.stopping.Store(true)
			}
			a.proc.(*paperProc).end(fmt.Errorf("signal: killed"))
			select {
			case <-a.supervised:
			case <-deadline:
				t.Fatal("the supervisor never saw mallory end")
			}
			for host, want := range tt.want {
				if got := kernels[host].commands(); strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s ran %q, want %q", host, got, want)
				}
			}
			v := env.attackView()
			if v.InPath {
				t.Errorf("the view says mallory is still in the path")
			}
			if v.Recovered() != tt.recovered || v.Died.IsZero() == !tt.asked {
				t.Errorf("view: died %v, restored %v; want recovered %v (asked %v)", v.Died, v.Restored, tt.recovered, tt.asked)
			}
			if v.Poisoned() == tt.clean {
				t.Errorf("view entries %+v, want clean %v", v.Entries, tt.clean)
			}
			if tt.asked {
				return // mallory's own correcting frames decide, and it sent none here
			}
			c := env.checkCachesClean(context.Background(), "caches clean")
			if c.Pass != tt.recovered || !strings.Contains(evidenceOf(c), "died unasked") {
				t.Errorf("check after the kill: pass %v, want %v:\n%s", c.Pass, tt.recovered, evidenceOf(c))
			}
		})
	}
}
