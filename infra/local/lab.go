//go:build linux

package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/ztlab/zt-lab/infra"
)

// WireName is the bridge every host plugs into.
const WireName = "wire0"

// Provider builds labs of network namespaces inside the sandbox.
type Provider struct{}

// New returns the local provider.
func New() *Provider { return &Provider{} }

var _ infra.Provider = (*Provider)(nil)

// Lab is a running local lab.
type Lab struct {
	id      string
	topo    infra.Topology
	base    string // the user's runtime directory
	dir     string // this lab's run directory
	lockf   *os.File
	bridge  netlink.Link
	started time.Time
	ctl     *controlServer
	// toolsDir comes first on every host's PATH.
	toolsDir string
	// hostsBound says /etc/hosts is ours to unmount.
	hostsBound bool

	mu     sync.Mutex
	hosts  []*host
	closed bool
}

var _ infra.Lab = (*Lab)(nil)

// Up builds the lab: the wire, then every host, in parallel.
func (p *Provider) Up(ctx context.Context, t infra.Topology, progress func(infra.Event)) (infra.Lab, error) {
	return p.up(ctx, t, progress)
}

func (p *Provider) up(ctx context.Context, t infra.Topology, progress func(infra.Event)) (_ *Lab, err error) {
	start := time.Now()
	if progress == nil {
		progress = func(infra.Event) {}
	}
	if !Sandboxed() {
		return nil, errors.New("a local lab is built inside the zt-lab sandbox: call local.Enter first")
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	base := RuntimeDir()
	lockf, err := lock(base)
	if err != nil {
		return nil, err
	}
	l := &Lab{id: newID(), topo: t, base: base, lockf: lockf, started: start}
	l.dir = filepath.Join(base, l.id)
	defer func() {
		if err != nil {
			l.Close(context.Background())
		}
	}()
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return nil, err
	}
	if err := l.makeTools(); err != nil {
		return nil, err
	}
	if err := l.makeWire(); err != nil {
		return nil, err
	}
	progress(infra.Event{Step: "wire", Elapsed: time.Since(start)})

	type made struct {
		h   *host
		err error
	}
	results := make([]made, len(t.Hosts))
	var wg sync.WaitGroup
	for i, spec := range t.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr, _ := t.Addr(spec)
			h, err := newHost(l, spec, addr, l.bridge)
			results[i] = made{h, err}
			progress(infra.Event{Host: spec.Name, Step: "ready", Done: err == nil, Err: err, Elapsed: time.Since(start)})
		}()
	}
	wg.Wait()
	var errs []error
	for _, r := range results {
		if r.err != nil {
			errs = append(errs, r.err)
		} else {
			l.hosts = append(l.hosts, r.h)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := l.writeHosts(true); err != nil {
		return nil, err
	}
	if l.ctl, err = serveControl(l); err != nil {
		return nil, err
	}
	if err := l.saveState(); err != nil {
		return nil, err
	}
	progress(infra.Event{Step: "ready", Done: true, Elapsed: time.Since(start)})
	return l, nil
}

// Down ends the running lab with the given id (or whatever lab runs, for
// an empty id) through its control socket. A lab that is gone is fine.
func (p *Provider) Down(ctx context.Context, labID string) error {
	st, err := FindLab()
	if errors.Is(err, ErrNoLab) {
		return nil
	}
	if err != nil {
		return err
	}
	if labID != "" && st.ID != labID {
		return nil
	}
	return Dial(st).Down(ctx)
}

func newID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// makeTools gives the hosts' PATH a directory of the lab's own: there `nc`
// is netcat-traditional when it is installed. Debian's default,
// netcat-openbsd, keeps reading a terminal after the server has closed, so
// a learner's `nc fcs00 8181` would hang where the seeds' returned to the
// prompt. The machine's own choice of nc is left alone.
func (l *Lab) makeTools() error {
	dir := filepath.Join(l.dir, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if nc, err := exec.LookPath("nc.traditional"); err == nil {
		if err := os.Symlink(nc, filepath.Join(dir, "nc")); err != nil {
			return err
		}
	}
	l.toolsDir = dir
	return nil
}

// makeWire brings up the bridge the hosts plug into, with the wire's own
// address so code in the sandbox reaches every host.
func (l *Lab) makeWire() error {
	_ = os.WriteFile("/proc/sys/net/ipv6/conf/default/disable_ipv6", []byte("1"), 0)
	_ = os.WriteFile("/proc/sys/net/ipv6/conf/all/disable_ipv6", []byte("1"), 0)
	lo, err := netlink.LinkByName("lo")
	if err == nil {
		err = netlink.LinkSetUp(lo)
	}
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return capabilityError(err)
		}
		return fmt.Errorf("bring loopback up: %w", err)
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: WireName}}
	if err := netlink.LinkAdd(br); err != nil {
		if errors.Is(err, unix.EPERM) {
			return capabilityError(err)
		}
		return fmt.Errorf("create wire: %w", err)
	}
	link, err := netlink.LinkByName(WireName)
	if err != nil {
		return fmt.Errorf("find wire: %w", err)
	}
	l.bridge = link
	p := l.topo.Subnet
	ipnet := &net.IPNet{IP: l.topo.WireAddr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 32)}
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: ipnet}); err != nil {
		return fmt.Errorf("address wire: %w", err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring wire up: %w", err)
	}
	return nil
}

// writeHosts writes the lab's hosts file and, the first time, binds it
// over /etc/hosts in the sandbox, so `nc fcs00 8181` resolves. Later
// writes change the file in place: the bind follows the inode.
func (l *Lab) writeHosts(first bool) error {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost\n")
	fmt.Fprintf(&b, "%s\twire\n", l.topo.WireAddr())
	for _, h := range l.Hosts() {
		fmt.Fprintf(&b, "%s\t%s\n", h.Addr(), h.Name())
	}
	path := filepath.Join(l.dir, "etc-hosts")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(b.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write hosts file: %w", err)
	}
	if first {
		if err := unix.Mount(path, "/etc/hosts", "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind hosts file over /etc/hosts: %w", err)
		}
		l.hostsBound = true
	}
	return nil
}

func (l *Lab) saveState() error {
	pid, _ := strconv.Atoi(os.Getenv(envOuterPID))
	st := State{ID: l.id, PID: pid, Dir: l.dir, Socket: l.ctl.path, Subnet: l.topo.Subnet, Wire: l.topo.WireAddr(), Started: l.started}
	for _, h := range l.Hosts() {
		st.Hosts = append(st.Hosts, StateHost{Name: h.Name(), Role: h.Role(), Addr: h.Addr()})
	}
	return writeState(l.base, st)
}

// ID is the lab's id, which names its run directory.
func (l *Lab) ID() string { return l.id }

// Dir is the lab's run directory: logs, host directories, the socket.
func (l *Lab) Dir() string { return l.dir }

// Started is when Up began.
func (l *Lab) Started() time.Time { return l.started }

// Topology is the lab's current set of hosts.
func (l *Lab) Topology() infra.Topology {
	t := infra.Topology{Subnet: l.topo.Subnet}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, h := range l.hosts {
		t.Hosts = append(t.Hosts, h.spec)
	}
	return t
}

// Hosts lists the hosts in the order they were added.
func (l *Lab) Hosts() []infra.Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]infra.Host, len(l.hosts))
	for i, h := range l.hosts {
		out[i] = h
	}
	return out
}

// Host finds a host by name.
func (l *Lab) Host(name string) (infra.Host, bool) {
	h := l.host(name)
	return h, h != nil
}

func (l *Lab) host(name string) *host {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, h := range l.hosts {
		if h.spec.Name == name {
			return h
		}
	}
	return nil
}

func (l *Lab) unknown(name string) error {
	e := UnknownHostError{Name: name}
	for _, h := range l.Hosts() {
		e.Hosts = append(e.Hosts, h.Name())
	}
	return e
}

// AddHost adds a host to the running lab.
func (l *Lab) AddHost(ctx context.Context, spec infra.HostSpec) (infra.Host, error) {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return nil, errors.New("the lab has ended")
	}
	if spec.Role == "" {
		spec.Role = infra.RoleOf(spec.Name)
	}
	t := l.Topology()
	t.Hosts = append(t.Hosts, spec)
	if err := t.Validate(); err != nil {
		return nil, err
	}
	addr, _ := t.Addr(spec)
	h, err := newHost(l, spec, addr, l.bridge)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.hosts = append(l.hosts, h)
	l.mu.Unlock()
	if err := l.writeHosts(false); err != nil {
		return nil, err
	}
	if err := l.saveState(); err != nil {
		return nil, err
	}
	return h, nil
}

// Wire is the bridge, in the sandbox's own namespace.
func (l *Lab) Wire() infra.WireTap {
	names := map[netip.Addr]string{l.topo.WireAddr(): "wire"}
	for _, h := range l.Hosts() {
		names[h.Addr()] = h.Name()
	}
	return infra.WireTap{Interface: WireName, Names: names, Backstage: l.topo.WireAddr()}
}

// Close kills every process, removes every host, the wire and the run
// files, and releases the lab lock. It is idempotent.
func (l *Lab) Close(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	hosts := slices.Clone(l.hosts)
	l.hosts = nil
	l.mu.Unlock()

	if l.ctl != nil {
		l.ctl.close()
	}
	var wg sync.WaitGroup
	for _, h := range hosts {
		wg.Add(1)
		go func() { defer wg.Done(); h.close() }()
	}
	wg.Wait()
	if l.bridge != nil {
		_ = netlink.LinkDel(l.bridge)
	}
	if l.hostsBound {
		_ = unix.Unmount("/etc/hosts", unix.MNT_DETACH)
	}
	_ = os.RemoveAll(l.dir)
	_ = os.Remove(statePath(l.base))
	_ = os.Remove(lockPath(l.base))
	_ = os.Remove(l.base) // only if empty
	if l.lockf != nil {
		_ = l.lockf.Close()
	}
	return nil
}

// Attacker is mallory: every local lab's hosts share the wire's bridge.
func (l *Lab) Attacker() (infra.HostSpec, string, bool) {
	return infra.HostSpec{Name: infra.AttackerHost, Role: infra.RoleAttacker}, "", true
}
