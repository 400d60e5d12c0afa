//go:build linux

package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/ztlab/zt-lab/infra"
)

// host is a network namespace joined to the wire by a veth pair: eth0
// inside, vh-NAME on the bridge.
type host struct {
	lab  *Lab
	spec infra.HostSpec
	addr netip.Addr
	ns   netns.NsHandle
	link string // the veth end on the bridge
	dir  string

	faults *infra.Faults[*proc] // state, processes, failures
}

var _ infra.Host = (*host)(nil)

func (h *host) Name() string     { return h.spec.Name }
func (h *host) Role() infra.Role { return h.spec.Role }
func (h *host) Addr() netip.Addr { return h.addr }
func (h *host) DataDir() string  { return h.dir }
func (h *host) String() string   { return h.spec.Name }

func (h *host) State() infra.HostState { return h.faults.State() }

// Procs lists the processes on the host that have not exited.
func (h *host) Procs() []infra.Proc {
	var out []infra.Proc
	for _, p := range h.faults.Live() {
		out = append(out, p)
	}
	return out
}

// env is the environment of every process on the host: the lab's, without
// the sandbox roles, plus the host's name.
func (h *host) env() []string {
	env := without(ClientEnv(), "PATH")
	return append(env, "ZTLAB_HOST="+h.spec.Name, "PATH="+h.lab.toolsDir+":"+os.Getenv("PATH"))
}

// Start runs a long-lived process on the host.
func (h *host) Start(ctx context.Context, spec infra.ProcSpec) (infra.Proc, error) {
	if err := h.faults.Usable(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := h.start(spec)
	if err != nil {
		return nil, fmt.Errorf("on %s: %w", h.spec.Name, err)
	}
	return p, nil
}

func (h *host) start(spec infra.ProcSpec) (*proc, error) {
	if spec.Name == "" {
		spec.Name = filepath.Base(spec.Argv[0])
	}
	logs := filepath.Join(h.dir, "log")
	if err := os.MkdirAll(logs, 0o700); err != nil {
		return nil, err
	}
	p, err := startProc(spec, filepath.Join(logs, spec.Name+".log"), h.env(), func(c *exec.Cmd) error {
		return startIn(h.ns, c)
	})
	if err != nil {
		return nil, err
	}
	h.faults.Track(p)
	return p, nil
}

// Run runs a command on the host to completion.
func (h *host) Run(ctx context.Context, argv ...string) ([]byte, error) {
	if err := h.faults.Usable(); err != nil {
		return nil, err
	}
	if len(argv) == 0 {
		return nil, errors.New("run: empty command")
	}
	cmd := h.Command(ctx, argv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := startIn(h.ns, cmd); err != nil {
		return nil, fmt.Errorf("on %s: %w", h.spec.Name, err)
	}
	err := cmd.Wait()
	if err != nil {
		return out.Bytes(), fmt.Errorf("on %s: %s: %w", h.spec.Name, strings.Join(argv, " "), err)
	}
	return out.Bytes(), nil
}

// Command prepares a command for this host; StartCommand starts it there.
// Cancelling ctx kills its whole process group.
func (h *host) Command(ctx context.Context, argv ...string) *exec.Cmd {
	name := argv[0]
	if !strings.Contains(name, "/") {
		// The host's PATH starts with the lab's tools.
		if p := filepath.Join(h.lab.toolsDir, name); fileExists(p) {
			name = p
		}
	}
	cmd := exec.CommandContext(ctx, name, argv[1:]...)
	cmd.Env = h.env()
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
	return cmd
}

// StartCommand starts cmd inside the host's network namespace.
func (h *host) StartCommand(cmd *exec.Cmd) error {
	if err := h.faults.Usable(); err != nil {
		return err
	}
	return startIn(h.ns, cmd)
}

// WriteFile writes data under the host's directory.
func (h *host) WriteFile(_ context.Context, name string, data []byte, perm os.FileMode) (string, error) {
	path := filepath.Join(h.dir, filepath.Clean("/"+name))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, data, perm); err != nil {
		return "", fmt.Errorf("write %s on %s: %w", name, h.spec.Name, err)
	}
	return path, nil
}

// DialContext connects from inside the host's network namespace, as a
// process on the host would. The socket is made on a thread switched into
// the namespace (a socket belongs to the namespace it was made in), and
// the whole dial stays on that locked thread: a literal address is dialed
// without another goroutine.
func (h *host) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var conn net.Conn
	err := inNetns(h.ns, func() error {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		conn = c
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("from %s: %w", h.spec.Name, err)
	}
	return conn, nil
}

// Fail injects a failure: a crash kills every process, a partition takes
// the host's link down, a freeze stops every process (SIGSTOP).
func (h *host) Fail(ctx context.Context, mode infra.FailMode) error {
	return h.faults.Fail(ctx, mode)
}

// Recover undoes the host's failure: a crashed host starts again what the
// crash killed, a partitioned host gets its link back, a frozen one runs.
func (h *host) Recover(ctx context.Context) error { return h.faults.Recover(ctx) }

// machine is what failures do to a namespace host.
type machine struct{ h *host }

func (m machine) Spec(p *proc) infra.ProcSpec     { return p.spec }
func (m machine) Kill(_ context.Context, p *proc) { p.kill() }
func (m machine) Partition(context.Context) error { return m.h.setLink(false) }
func (m machine) Heal(context.Context) error      { return m.h.setLink(true) }
func (m machine) Signal(_ context.Context, p *proc, sig syscall.Signal) error {
	return p.signal(sig)
}

func (m machine) Start(_ context.Context, spec infra.ProcSpec) error {
	_, err := m.h.start(spec)
	return err
}

func (h *host) setLink(up bool) error {
	l, err := netlink.LinkByName(h.link)
	if err != nil {
		return fmt.Errorf("find link of %s: %w", h.spec.Name, err)
	}
	if up {
		err = netlink.LinkSetUp(l)
	} else {
		err = netlink.LinkSetDown(l)
	}
	if err != nil {
		return fmt.Errorf("set link of %s up=%v: %w", h.spec.Name, up, err)
	}
	return nil
}

// close kills the host's processes and removes its namespace and link.
func (h *host) close() {
	procs := h.faults.End()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() { defer wg.Done(); _ = p.signal(unix.SIGCONT); p.kill() }()
	}
	wg.Wait()
	if l, err := netlink.LinkByName(h.link); err == nil {
		_ = netlink.LinkDel(l)
	}
	_ = h.ns.Close()
}

// newHost creates the host's namespace and plugs it into the bridge.
func newHost(l *Lab, spec infra.HostSpec, addr netip.Addr, bridge netlink.Link) (*host, error) {
	h := &host{lab: l, spec: spec, addr: addr, link: "vh-" + spec.Name, dir: filepath.Join(l.dir, "hosts", spec.Name)}
	h.faults = infra.NewFaults[*proc](spec.Name, machine{h})
	if err := os.MkdirAll(h.dir, 0o700); err != nil {
		return nil, err
	}
	ns, err := newNetns()
	if err != nil {
		return nil, fmt.Errorf("create namespace for %s: %w", spec.Name, err)
	}
	h.ns = ns
	fail := func(step string, err error) (*host, error) {
		h.close()
		return nil, fmt.Errorf("%s for %s: %w", step, spec.Name, err)
	}
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: h.link, MasterIndex: bridge.Attrs().Index},
		PeerName:      "eth0",
		PeerNamespace: netlink.NsFd(int(ns)),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fail("create link", err)
	}
	nh, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fail("open namespace", err)
	}
	defer nh.Close()
	lo, err := nh.LinkByName("lo")
	if err != nil {
		return fail("find lo", err)
	}
	if err := nh.LinkSetUp(lo); err != nil {
		return fail("bring lo up", err)
	}
	eth0, err := nh.LinkByName("eth0")
	if err != nil {
		return fail("find eth0", err)
	}
	p := l.topo.Subnet
	ipnet := &net.IPNet{IP: addr.AsSlice(), Mask: net.CIDRMask(p.Bits(), 32)}
	if err := nh.AddrAdd(eth0, &netlink.Addr{IPNet: ipnet}); err != nil {
		return fail("assign address", err)
	}
	if err := nh.LinkSetUp(eth0); err != nil {
		return fail("bring eth0 up", err)
	}
	if err := noTxChecksumOffload(ns, "eth0"); err != nil {
		return fail("turn off checksum offload", err)
	}
	if err := netlink.LinkSetUp(veth); err != nil {
		return fail("bring link up", err)
	}
	return h, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
