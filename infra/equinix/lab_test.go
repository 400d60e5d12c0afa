package equinix

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/infra/equinix/metaltest"
)

// fakeRunner stands in for the SSH provider.
type fakeRunner struct {
	mu     sync.Mutex
	calls  []string
	starts []infra.ProcSpec
}

func (r *fakeRunner) log(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *fakeRunner) Start(_ context.Context, host string, p infra.ProcSpec) (infra.Proc, error) {
	r.log("start " + host + " " + p.Name)
	r.mu.Lock()
	r.starts = append(r.starts, p)
	r.mu.Unlock()
	return &fakeProc{name: p.Name, done: make(chan struct{})}, nil
}

func (r *fakeRunner) Run(_ context.Context, host string, argv []string) ([]byte, error) {
	r.log("run " + host + " " + strings.Join(argv, " "))
	return []byte("ok"), nil
}

func (r *fakeRunner) WriteFile(_ context.Context, host, path string, data []byte, perm os.FileMode) error {
	r.log("write " + host + " " + path)
	return nil
}

// fakeFailer is a runner that partitions and freezes hosts itself.
type fakeFailer struct{ fakeRunner }

func (r *fakeFailer) Fail(_ context.Context, host string, mode infra.FailMode) error {
	r.log("fail " + host + " " + string(mode))
	return nil
}

func (r *fakeFailer) Recover(_ context.Context, host string) error {
	r.log("recover " + host)
	return nil
}

type fakeProc struct {
	name string
	done chan struct{}
}

func (p *fakeProc) Name() string          { return p.name }
func (p *fakeProc) PID() int              { return 42 }
func (p *fakeProc) Tail(int) []string     { return nil }
func (p *fakeProc) LogPath() string       { return "" }
func (p *fakeProc) Done() <-chan struct{} { return p.done }
func (p *fakeProc) Err() error            { return nil }
func (p *fakeProc) Stop(context.Context, time.Duration) error {
	close(p.done)
	return nil
}

func upLab(t *testing.T, s *metaltest.Server) *Lab {
	t.Helper()
	p := newProvider(t, s)
	lab, err := p.UpLab(context.Background(), p.Config().Topology(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lab.Close(context.Background()) })
	return lab
}

func deviceState(s *metaltest.Server, id string) string {
	for _, d := range s.Devices() {
		if d.ID == id {
			return d.State
		}
	}
	return "gone"
}

func TestAHostWithoutARunnerSaysItIsNotConnected(t *testing.T) {
	lab := upLab(t, metaltest.New(t))
	h, _ := lab.Host("fcc00")
	ctx := context.Background()
	_, runErr := h.Run(ctx, "nc", "fcs00", "8181")
	_, startErr := h.Start(ctx, infra.ProcSpec{Name: "fortune", Argv: []string{"zt-lab", "fortune", "serve"}})
	_, writeErr := h.WriteFile(ctx, "consul.json", []byte("{}"), 0o600)
	for _, err := range []error{runErr, startErr, writeErr} {
		if !errors.Is(err, ErrNotConnected) || !strings.Contains(err.Error(), "fcc00") || !strings.Contains(err.Error(), "SSH") {
			t.Errorf("error %v, want fcc00 not connected, pointing at the SSH provider", err)
		}
	}
}

func TestAHostRunsThroughItsRunner(t *testing.T) {
	lab := upLab(t, metaltest.New(t))
	r := &fakeRunner{}
	lab.Connect(r)
	h, _ := lab.Host("fcs00")
	ctx := context.Background()
	if out, err := h.Run(ctx, "hostname"); err != nil || string(out) != "ok" {
		t.Errorf("run: %q %v", out, err)
	}
	p, err := h.Start(ctx, infra.ProcSpec{Name: "fortune", Argv: []string{"zt-lab", "fortune", "serve"}})
	if err != nil {
		t.Fatal(err)
	}
	path, err := h.WriteFile(ctx, "consul/agent.json", []byte("{}"), 0o600)
	if err != nil || path != "/var/lib/zt-lab/"+lab.ID()+"/consul/agent.json" {
		t.Errorf("write: %s %v", path, err)
	}
	if _, err := h.WriteFile(ctx, "../../../etc/passwd", nil, 0o644); err == nil {
		t.Error("a file outside the lab's directory was written")
	}
	want := []string{"run fcs00 hostname", "start fcs00 fortune", "write fcs00 " + path}
	if !slices.Equal(r.calls, want) {
		t.Errorf("runner calls %v, want %v", r.calls, want)
	}
	if len(h.Procs()) != 1 {
		t.Errorf("procs %v", h.Procs())
	}
	p.Stop(ctx, 0)
	if len(h.Procs()) != 0 {
		t.Errorf("a stopped process is still listed")
	}
}

func TestACrashPowersTheDeviceOffAndRecoverPowersItOn(t *testing.T) {
	s := metaltest.New(t)
	lab := upLab(t, s)
	r := &fakeRunner{}
	lab.Connect(r)
	h, _ := lab.Host("fcs00")
	mh := h.(*Host)
	ctx := context.Background()
	if _, err := h.Start(ctx, infra.ProcSpec{Name: "fortune", Argv: []string{"zt-lab", "fortune", "serve"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.Fail(ctx, infra.Crash); err != nil {
		t.Fatal(err)
	}
	if st := deviceState(s, mh.DeviceID()); st != "inactive" || h.State() != infra.StateCrashed {
		t.Errorf("after crash: device %s, host %s; want inactive, crashed", st, h.State())
	}
	if _, err := h.Run(ctx, "true"); err == nil || !strings.Contains(err.Error(), "recover") {
		t.Errorf("run on a crashed host: %v", err)
	}
	if err := h.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if st := deviceState(s, mh.DeviceID()); st != "active" || h.State() != infra.StateUp {
		t.Errorf("after recover: device %s, host %s; want active, up", st, h.State())
	}
	if len(r.starts) != 2 || r.starts[1].Name != "fortune" {
		t.Errorf("the fortune service was not started again: %v", r.starts)
	}
	var actions []int
	for _, c := range s.Calls(metaltest.DeviceAction) {
		actions = append(actions, c.Status)
	}
	if !slices.Equal(actions, []int{202, 202}) {
		t.Errorf("device actions %v, want power off and on", actions)
	}
}

func TestFailureModesMetalCannotDoSaySo(t *testing.T) {
	s := metaltest.New(t)
	lab := upLab(t, s)
	ctx := context.Background()
	h, _ := lab.Host("consul01")
	err := h.Fail(ctx, infra.Freeze)
	if err == nil || !strings.Contains(err.Error(), "freeze is not possible on Equinix Metal") || !strings.Contains(err.Error(), "crash or partition") {
		t.Errorf("freeze without a runner: %v", err)
	}
	if n := len(s.Calls(metaltest.DeviceAction)); n != 0 {
		t.Errorf("%d device actions for a refused freeze", n)
	}
	// Partition without a runner powers the device off.
	if err := h.Fail(ctx, infra.Partition); err != nil {
		t.Fatal(err)
	}
	if h.State() != infra.StatePartitioned || deviceState(s, h.(*Host).DeviceID()) != "inactive" {
		t.Errorf("partition: host %s device %s", h.State(), deviceState(s, h.(*Host).DeviceID()))
	}
	if err := h.Recover(ctx); err != nil || h.State() != infra.StateUp {
		t.Errorf("recover: %v %s", err, h.State())
	}

	// With a runner that can, partition and freeze go to it.
	f := &fakeFailer{}
	lab.Connect(f)
	h2, _ := lab.Host("consul02")
	for _, m := range []infra.FailMode{infra.Partition, infra.Freeze} {
		if err := h2.Fail(ctx, m); err != nil {
			t.Fatal(err)
		}
		if err := h2.Recover(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"fail consul02 partition", "recover consul02", "fail consul02 freeze", "recover consul02"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("runner calls %v, want %v", f.calls, want)
	}
	if n := len(s.Calls(metaltest.DeviceAction)); n != 2 {
		t.Errorf("%d device actions, want the 2 of the runner-less partition", n)
	}
}

func TestUserData(t *testing.T) {
	s := metaltest.New(t)
	p := newProvider(t, s)
	l := newLab(p, "0badc0de", time.Now())
	ud := l.userData(infra.HostSpec{Name: "fcs00", Role: infra.RoleService})
	for _, want := range []string{"#cloud-config\n", "ZTLAB_LAB=0badc0de", "ZTLAB_HOST=fcs00", "ZTLAB_ROLE=fcs", "netcat-traditional", "/var/lib/zt-lab/0badc0de"} {
		if !strings.Contains(ud, want) {
			t.Errorf("user data lacks %q:\n%s", want, ud)
		}
	}
	var doc struct {
		Packages   []string         `yaml:"packages"`
		WriteFiles []map[string]any `yaml:"write_files"`
		RunCmd     [][]string       `yaml:"runcmd"`
	}
	if err := yaml.Unmarshal([]byte(ud), &doc); err != nil || len(doc.Packages) != 2 || len(doc.WriteFiles) != 1 || len(doc.RunCmd) != 1 {
		t.Errorf("user data is not the cloud-config it means to be: %+v %v", doc, err)
	}
	own := newProvider(t, s, func(c *Config) { c.UserData = "#!/bin/sh\necho mine\n" })
	if got := newLab(own, "x", time.Now()).userData(infra.HostSpec{Name: "fcs00"}); got != "#!/bin/sh\necho mine\n" {
		t.Errorf("the config's user data was not used: %q", got)
	}
}
