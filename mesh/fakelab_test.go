package mesh

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ztlab/zt-lab/infra"
)

// fakeLab is a lab on paper: hosts with names, roles and addresses, and a
// directory each. Start runs nothing: every process has already exited
// with what its script says, so Up's failure paths can be tested without
// namespaces and without binding a single address.
type fakeLab struct {
	hosts []*fakeHost
}

func newFakeLab(t interface{ TempDir() string }, exit func(host string) *fakeProc) *fakeLab {
	l := &fakeLab{}
	topo := infra.DefaultTopology()
	for _, h := range topo.Hosts {
		addr, _ := topo.Addr(h)
		l.hosts = append(l.hosts, &fakeHost{spec: h, addr: addr, dir: t.TempDir(), exit: exit})
	}
	return l
}

func (l *fakeLab) ID() string { return "fake" }
func (l *fakeLab) Hosts() []infra.Host {
	var hs []infra.Host
	for _, h := range l.hosts {
		hs = append(hs, h)
	}
	return hs
}
func (l *fakeLab) Host(name string) (infra.Host, bool) {
	for _, h := range l.hosts {
		if h.spec.Name == name {
			return h, true
		}
	}
	return nil, false
}
func (l *fakeLab) AddHost(context.Context, infra.HostSpec) (infra.Host, error) { return nil, nil }
func (l *fakeLab) Wire() infra.WireTap                                         { return infra.WireTap{} }
func (l *fakeLab) Close(context.Context) error                                 { return nil }

type fakeHost struct {
	spec    infra.HostSpec
	addr    netip.Addr
	dir     string
	exit    func(host string) *fakeProc
	started []infra.ProcSpec
	// run answers Run (a fetch, say); nil: the command does not exist.
	run func(argv []string) ([]byte, error)
}

func (h *fakeHost) Name() string                               { return h.spec.Name }
func (h *fakeHost) Role() infra.Role                           { return h.spec.Role }
func (h *fakeHost) Addr() netip.Addr                           { return h.addr }
func (h *fakeHost) State() infra.HostState                     { return infra.StateUp }
func (h *fakeHost) Procs() []infra.Proc                        { return nil }
func (h *fakeHost) DataDir() string                            { return h.dir }
func (h *fakeHost) Fail(context.Context, infra.FailMode) error { return nil }
func (h *fakeHost) Recover(context.Context) error              { return nil }
func (h *fakeHost) Run(_ context.Context, argv ...string) ([]byte, error) {
	if h.run == nil {
		return nil, os.ErrNotExist
	}
	return h.run(argv)
}
func (h *fakeHost) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, syscall.ECONNREFUSED
}
func (h *fakeHost) Start(_ context.Context, p infra.ProcSpec) (infra.Proc, error) {
	h.started = append(h.started, p)
	return h.exit(h.spec.Name), nil
}
func (h *fakeHost) WriteFile(_ context.Context, name string, data []byte, perm os.FileMode) (string, error) {
	path := filepath.Join(h.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, data, perm)
}

var _ infra.Lab = (*fakeLab)(nil)
var _ infra.Host = (*fakeHost)(nil)
