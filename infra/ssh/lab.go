// Package sshlab runs a lab on hosts zt-lab reaches over SSH: machines a
// presenter already has, or Equinix Metal devices. It copies itself and
// consul to each host, runs a supervisor there that owns every process
// the scenes start, streams their output and the wire's packets back, and
// leaves no process, firewall rule or file behind when the lab ends.
package sshlab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/infra/ssh/remote"
)

// Provider builds labs on the hosts of an inventory.
type Provider struct {
	Inventory *Inventory
	// Self is this zt-lab binary (it runs the supervisor on each host and
	// the fortune service); Files are other local binaries the scenes run
	// on hosts, by the name they have there ("consul").
	Self  string
	Files map[string]string
	// ZtLab chooses the zt-lab copied to a host whose processor is arch
	// (Go's name: amd64, arm64), for a controller whose own binary does
	// not run there: a Mac's does not (see RemoteZtLab). nil: Self.
	ZtLab func(arch string) (string, error)
	// Choose chooses, for a name of Files, the local file copied to a host
	// whose processor is arch, where the one Files names may not run there:
	// a Mac's consul does not (see RemoteConsul). The scenes still name the
	// Files path. A name it lacks: the Files path is copied.
	Choose map[string]func(arch string) (string, error)
	// HostKeys verifies each host's key (HostKeyCallback).
	HostKeys ssh.HostKeyCallback
	// WaitSSH is how long a host may take to accept a login (0: one try):
	// devices that were just built need a while.
	WaitSSH time.Duration
	// Provision, when set, makes a host the inventory does not list, for
	// AddHost: a cloud provider builds one more machine.
	Provision func(ctx context.Context, spec infra.HostSpec) (Target, error)

	once sync.Once
	bins []*binary
	err  error

	mu     sync.Mutex
	chosen map[[2]string]*binary // by name and local path
}

var _ infra.Provider = (*Provider)(nil)

// binaries lists what goes to every host besides zt-lab (see ztlab):
// Files, and Self when ZtLab is nil, first.
func (p *Provider) binaries() ([]*binary, error) {
	p.once.Do(func() {
		add := func(name, local string) {
			fi, err := os.Stat(local)
			if err != nil {
				p.err = errors.Join(p.err, fmt.Errorf("%s: %w", name, err))
				return
			}
			p.bins = append(p.bins, &binary{name: name, local: local, size: fi.Size()})
		}
		if p.ZtLab == nil {
			add("zt-lab", p.Self)
		}
		names := make([]string, 0, len(p.Files))
		for n := range p.Files {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			if p.Choose[n] == nil {
				add(n, p.Files[n])
			}
		}
	})
	return p.bins, p.err
}

// chosenFor is what ZtLab and Choose choose for hosts of processor arch,
// zt-lab first, each file read once for every host that shares it.
func (p *Provider) chosenFor(arch string) ([]*binary, error) {
	type choice struct {
		name   string
		choose func(string) (string, error)
	}
	var choices []choice
	if p.ZtLab != nil {
		choices = append(choices, choice{"zt-lab", p.ZtLab})
	}
	for _, n := range slices.Sorted(maps.Keys(p.Choose)) {
		if p.Choose[n] != nil {
			choices = append(choices, choice{n, p.Choose[n]})
		}
	}
	var out []*binary
	for _, c := range choices {
		local, err := c.choose(arch)
		if err != nil {
			return nil, err
		}
		b, err := p.binaryOf(c.name, local, arch)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// binaryOf is the binary name copied from local, made once.
func (p *Provider) binaryOf(name, local, arch string) (*binary, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := [2]string{name, local}
	if b, ok := p.chosen[key]; ok {
		return b, nil
	}
	fi, err := os.Stat(local)
	if err != nil {
		return nil, fmt.Errorf("%s for linux/%s: %w", name, arch, err)
	}
	if p.chosen == nil {
		p.chosen = map[[2]string]*binary{}
	}
	b := &binary{name: name, local: local, size: fi.Size()}
	p.chosen[key] = b
	return b, nil
}

// Up connects to the hosts of t, as the inventory names them, copies the
// binaries and starts a supervisor on each, in parallel.
func (p *Provider) Up(ctx context.Context, t infra.Topology, progress func(infra.Event)) (infra.Lab, error) {
	if progress == nil {
		progress = func(infra.Event) {}
	}
	targets, err := p.Inventory.Targets(t)
	if err != nil {
		return nil, err
	}
	if _, err := p.binaries(); err != nil {
		return nil, err
	}
	l, err := p.newLab()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	hosts := make([]*Host, len(targets))
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, tg := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hosts[i], errs[i] = l.connect(ctx, tg, progress)
		}()
	}
	wg.Wait()
	for _, h := range hosts {
		if h != nil {
			l.hosts = append(l.hosts, h)
		}
	}
	if err := errors.Join(errs...); err != nil {
		l.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	progress(infra.Event{Done: true, Elapsed: time.Since(start)})
	return l, nil
}

func (p *Provider) newLab() (*Lab, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	id := "ssh-" + hex.EncodeToString(b[:])
	local, err := os.MkdirTemp("", "zt-lab-"+id+"-")
	if err != nil {
		return nil, err
	}
	return &Lab{p: p, id: id, root: LabDir(p.Inventory.RemoteDir, id), local: local}, nil
}

// supervisorAdvice adds what to do to the usual reasons a supervisor
// does not start.
func supervisorAdvice(err error, t Target) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "password is required"), strings.Contains(msg, "a terminal is required"):
		return fmt.Errorf("%w: %s needs passwordless sudo (NOPASSWD) for zt-lab, or log in as root", err, t.User)
	case strings.Contains(msg, "Permission denied"):
		return fmt.Errorf("%w: is remote_dir on a noexec file system? set remote_dir in the inventory to one where programs may run", err)
	case strings.Contains(msg, "Exec format error"), strings.Contains(msg, "cannot execute binary file"):
		return fmt.Errorf("%w: %s is not the machine zt-lab was built for (%s): build zt-lab for it", err, t.Name, runtime.GOARCH)
	}
	return err
}

// labIDPattern is what newLab makes; nothing else may reach a path.
var labIDPattern = regexp.MustCompile(`^ssh-[0-9a-f]{8}$`)

// CheckLabID refuses anything but an SSH lab's id ("" means every lab).
func CheckLabID(id string) error {
	if id != "" && !labIDPattern.MatchString(id) {
		return fmt.Errorf("--lab %q is not an SSH lab's id (ssh- and 8 hex digits, as zt-lab run prints it)", id)
	}
	return nil
}

// LabDir is where a lab keeps its files on every host.
func LabDir(remoteDir, labID string) string { return path.Join(remoteDir, "zt-lab-"+labID) }

// Lab is a running lab on SSH hosts.
type Lab struct {
	p     *Provider
	id    string
	root  string // the lab's directory on every host
	local string // this machine's copy of every process's output

	mu     sync.Mutex
	hosts  []*Host
	adding map[string]bool // names AddHost is bringing up
	closed bool
}

var (
	_ infra.Lab    = (*Lab)(nil)
	_ infra.Dialer = (*Lab)(nil)
)

func (l *Lab) ID() string { return l.id }

func (l *Lab) Hosts() []infra.Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]infra.Host, len(l.hosts))
	for i, h := range l.hosts {
		out[i] = h
	}
	return out
}

func (l *Lab) Host(name string) (infra.Host, bool) {
	h := l.host(name)
	return h, h != nil
}

func (l *Lab) host(name string) *Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, h := range l.hosts {
		if h.target.Name == name {
			return h
		}
	}
	return nil
}

// connect logs in to t, copies the binaries over and starts the
// supervisor.
func (l *Lab) connect(ctx context.Context, t Target, progress func(infra.Event)) (*Host, error) {
	start := time.Now()
	c, sup, err := l.login(ctx, t, func(s string) { progress(infra.Event{Host: t.Name, Step: s, Elapsed: time.Since(start)}) })
	if err != nil {
		return nil, err
	}
	local := filepath.Join(l.local, t.Name)
	if err := os.MkdirAll(local, 0o700); err != nil {
		_ = sup.close(context.WithoutCancel(ctx), 5*time.Second)
		c.Close()
		return nil, err
	}
	h := &Host{lab: l, target: t, client: c, supervisor: sup, dir: path.Join(l.root, t.Name), localDir: local}
	h.faults = infra.NewFaults[*proc](t.Name, machine{h})
	progress(infra.Event{Host: t.Name, Step: "ready", Done: true, Elapsed: time.Since(start)})
	return h, nil
}

// login connects to t, copies the binaries (unless they are there) and
// starts a supervisor.
func (l *Lab) login(ctx context.Context, t Target, step func(string)) (*ssh.Client, *supervisor, error) {
	step("connect")
	c, err := dialPatiently(ctx, t, l.p.HostKeys, l.p.WaitSSH, func() { step("waiting for sshd") })
	if err != nil {
		return nil, nil, err
	}
	bins, _ := l.p.binaries()
	arch, err := hostArch(ctx, c, t)
	if err == nil {
		var chosen []*binary
		if chosen, err = l.p.chosenFor(arch); err == nil {
			bins = append(chosen, bins...)
		}
	}
	for _, b := range bins {
		if err == nil {
			err = b.runsOn(arch)
		}
	}
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	binDir := path.Join(l.root, "bin")
	for _, b := range bins {
		step(fmt.Sprintf("copy %s (%d MB)", b.name, b.size>>20))
		if err := install(ctx, c, t, binDir, b); err != nil {
			c.Close()
			return nil, nil, err
		}
	}
	step("supervisor")
	sup, err := startSupervisor(ctx, c, t, []string{path.Join(binDir, "zt-lab"), "remote", "agent",
		"--host", t.Name, "--dir", path.Join(l.root, t.Name), "--root", l.root, "--table", remote.TableName(l.id)})
	if err != nil {
		// No supervisor will remove the binaries: do it here, unless
		// another host of the lab shares this disk and runs.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_, _ = shell(cctx, c, t, fmt.Sprintf(`r=%s; [ -z "$(ls -A "$r" | grep -v '^bin$')" ] && rm -rf "$r"; true`, shellQuote(l.root)), nil)
		cancel()
		c.Close()
		return nil, nil, supervisorAdvice(err, t)
	}
	if sup.hello.UID != 0 {
		// Partitions and captures need root; a scene would fail later.
		_ = sup.close(context.WithoutCancel(ctx), 5*time.Second)
		c.Close()
		return nil, nil, fmt.Errorf("%s: zt-lab's supervisor runs as uid %d, not root: log in as root, or set sudo: true for %s", t.Name, sup.hello.UID, t.User)
	}
	return c, sup, nil
}

// AddHost adds the inventory's host of that name to the running lab: the
// inventory lists spare hosts for scale-out and the rogue.
func (l *Lab) AddHost(ctx context.Context, spec infra.HostSpec) (infra.Host, error) {
	if err := l.reserve(spec.Name); err != nil {
		return nil, err
	}
	defer func() {
		l.mu.Lock()
		delete(l.adding, spec.Name)
		l.mu.Unlock()
	}()
	t, ok := l.p.Inventory.Target(spec.Name)
	switch {
	case ok:
	case l.p.Provision != nil:
		var err error
		if t, err = l.p.Provision(ctx, spec); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("the inventory %s has no host %s: add one (role %s) to add it to the lab", l.p.Inventory.Path, spec.Name, spec.Role)
	}
	t.Role = spec.Role
	h, err := l.connect(ctx, t, func(infra.Event) {})
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		go func() { _ = h.close(context.Background()) }()
		return nil, fmt.Errorf("lab %s is closed", l.id)
	}
	l.hosts = append(l.hosts, h)
	return h, nil
}

// reserve claims name for AddHost: two calls at once for one name would
// otherwise both provision and log in.
func (l *Lab) reserve(name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("lab %s is closed", l.id)
	}
	if l.adding[name] || slices.ContainsFunc(l.hosts, func(h *Host) bool { return h.target.Name == name }) {
		return fmt.Errorf("the lab has a host %s already", name)
	}
	if l.adding == nil {
		l.adding = map[string]bool{}
	}
	l.adding[name] = true
	return nil
}

// Wire names the hosts by lab address, and captures on the fortune
// service's host: it sees every fortune, and the mesh's traffic to and from
// that host. Its frames come back over SSH as a pcap stream.
func (l *Lab) Wire() infra.WireTap {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := map[netip.Addr]string{}
	for _, h := range l.hosts {
		names[h.target.LabAddr] = h.target.Name
	}
	return infra.WireTap{Names: names, Open: l.capture}
}

// captureHost is where the wire is sniffed: the first fortune service host.
func (l *Lab) captureHost() *Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, h := range l.hosts {
		if h.target.Role == infra.RoleService {
			return h
		}
	}
	if len(l.hosts) > 0 {
		return l.hosts[0]
	}
	return nil
}

// labNet is the range a capture keeps: the smallest that holds the lab
// address of every host, those of the inventory (spares included, for they
// may join later) and those the lab runs now. A lab that provisions hosts
// as it goes cannot know their addresses yet: it keeps the private range
// (10.0.0.0/8, ...) that holds its hosts, where new ones land too.
func (l *Lab) labNet() netip.Prefix {
	n := l.knownNet()
	if l.p.Provision != nil && n.IsValid() {
		for _, r := range infra.PrivateRanges {
			if r.Bits() <= n.Bits() && r.Contains(n.Addr()) {
				return r
			}
		}
	}
	return n
}

func (l *Lab) knownNet() netip.Prefix {
	var addrs []netip.Addr
	if l.p.Inventory != nil {
		for _, t := range l.p.Inventory.Hosts {
			addrs = append(addrs, t.LabAddr)
		}
	}
	l.mu.Lock()
	for _, h := range l.hosts {
		addrs = append(addrs, h.target.LabAddr)
	}
	l.mu.Unlock()
	return remote.LabNet(addrs...)
}

// capture starts `zt-lab remote capture` on the capture host. Closing the
// stream ends it there.
func (l *Lab) capture(ctx context.Context) (string, io.ReadCloser, error) {
	return l.captureOn(ctx, l.captureHost())
}

// WireAt is the wire as host name sees it: on a switched segment a host's
// interface carries its own frames only, and the attacker's, in the
// middle, carries both legs of what it relays. False for a host the lab
// does not hold.
func (l *Lab) WireAt(name string) (infra.WireTap, bool) {
	l.mu.Lock()
	var h *Host
	for _, c := range l.hosts {
		if c.target.Name == name {
			h = c
		}
	}
	l.mu.Unlock()
	if h == nil {
		return infra.WireTap{}, false
	}
	w := l.Wire()
	w.Open = func(ctx context.Context) (string, io.ReadCloser, error) { return l.captureOn(ctx, h) }
	return w, true
}

// captureOn captures on h's lab interface, streaming the frames back.
func (l *Lab) captureOn(ctx context.Context, h *Host) (string, io.ReadCloser, error) {
	if h == nil {
		return "", nil, errors.New("the lab has no hosts to capture on")
	}
	_, port, err := net.SplitHostPort(h.target.Addr)
	if err != nil {
		return "", nil, err
	}
	s, err := h.Client().NewSession()
	if err != nil {
		return "", nil, fmt.Errorf("capture on %s: %w", h.target.Name, err)
	}
	stdin, err := s.StdinPipe()
	if err != nil {
		s.Close()
		return "", nil, err
	}
	stdout, err := s.StdoutPipe()
	if err != nil {
		s.Close()
		return "", nil, err
	}
	errOut := &limitedBuffer{max: 4 << 10}
	drops := remote.NewDrops(errOut)
	s.Stderr = drops
	cmd := asRoot(h.target, path.Join(l.root, "bin", "zt-lab"), "remote", "capture",
		"--addr", h.target.LabAddr.String(), "--net", l.labNet().String(), "--not-port", port)
	if err := s.Start(cmd); err != nil {
		s.Close()
		return "", nil, fmt.Errorf("capture on %s: %w", h.target.Name, err)
	}
	name := h.target.Name + ":" + h.target.LabAddr.String()
	return name, &stream{Reader: stdout, stdin: stdin, s: s, stderr: errOut, drops: drops}, nil
}

// stream is a remote capture's pcap output.
type stream struct {
	io.Reader
	stdin  io.Closer
	s      *ssh.Session
	stderr *limitedBuffer
	drops  *remote.Drops
	once   sync.Once
	read   bool // a byte has come
}

// KernelDrops is how many frames the capture host's kernel dropped, as
// the capture last reported: sniffer.OpenStream counts them as its own.
func (s *stream) KernelDrops() uint64 { return s.drops.KernelDrops() }

// Read passes on what the capture sent; if it ends before sending
// anything, the error says what the capture said on its way out.
func (s *stream) Read(p []byte) (int, error) {
	n, err := s.Reader.Read(p)
	if n > 0 {
		s.read = true
	}
	if err == io.EOF && !s.read {
		// The session copies stderr on its own; its end means all of it.
		done := make(chan struct{})
		go func() { _ = s.s.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
		if msg := strings.TrimSpace(string(s.stderr.Bytes())); msg != "" {
			return n, fmt.Errorf("the capture ended: %s", lastLine(msg))
		}
	}
	return n, err
}

func (s *stream) Close() error {
	s.once.Do(func() {
		s.stdin.Close()
		done := make(chan struct{})
		go func() { _ = s.s.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		s.s.Close()
	})
	return nil
}

// DialContext connects to addr from the host that has its address, through
// that host's SSH connection: the agents' APIs are never exposed beyond the
// hosts.
func (l *Lab) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil, fmt.Errorf("dial %s: not a lab address", addr)
	}
	l.mu.Lock()
	var via *Host
	for _, h := range l.hosts {
		if h.target.LabAddr == ip {
			via = h
		}
	}
	if via == nil && len(l.hosts) > 0 {
		via = l.hosts[0]
	}
	l.mu.Unlock()
	if via == nil {
		return nil, fmt.Errorf("dial %s: the lab has no hosts", addr)
	}
	conn, err := via.Client().DialContext(ctx, network, addr)
	if err != nil {
		return nil, dialError(network, addr, err)
	}
	return &deadlineConn{Conn: conn}, nil
}

// deadlineConn gives a connection through SSH the deadlines its channel
// lacks: when one passes, the connection closes, so a read or write that
// waits on it ends.
type deadlineConn struct {
	net.Conn
	mu     sync.Mutex
	timers [2]*time.Timer // read, write
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.set(0, t)
	c.set(1, t)
	return nil
}
func (c *deadlineConn) SetReadDeadline(t time.Time) error  { c.set(0, t); return nil }
func (c *deadlineConn) SetWriteDeadline(t time.Time) error { c.set(1, t); return nil }

func (c *deadlineConn) set(i int, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timers[i] != nil {
		c.timers[i].Stop()
		c.timers[i] = nil
	}
	if !t.IsZero() {
		c.timers[i] = time.AfterFunc(time.Until(t), func() { c.Conn.Close() })
	}
}

func (c *deadlineConn) Close() error {
	c.SetDeadline(time.Time{})
	return c.Conn.Close()
}

// dialError says what the host's own connect said, as a dial here would:
// sshd passes a refused connection on as a rejected channel.
func dialError(network, addr string, err error) error {
	var oce *ssh.OpenChannelError
	if errors.As(err, &oce) && oce.Reason == ssh.ConnectionFailed && strings.Contains(strings.ToLower(oce.Message), "refused") {
		err = os.NewSyscallError("connect", syscall.ECONNREFUSED)
	}
	return &net.OpError{Op: "dial", Net: network, Addr: tcpAddr(addr), Err: err}
}

func tcpAddr(addr string) net.Addr {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}

// KnownHosts is the known_hosts file the lab checks host keys against.
func (l *Lab) KnownHosts() string { return l.p.Inventory.KnownHosts }

// Close ends every supervisor (which ends its processes and removes its
// files), then the connections, and this machine's copy of the output.
func (l *Lab) Close(ctx context.Context) error {
	l.mu.Lock()
	hosts := l.hosts
	l.hosts = nil
	l.closed = true
	l.mu.Unlock()
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() { errs[i] = h.close(ctx) })
	}
	wg.Wait()
	err := joinHosts(errs)
	if err != nil {
		err = fmt.Errorf("%w: to be sure nothing is left, run zt-lab down --provider ssh --inventory %s --lab %s", err, l.p.Inventory.Path, l.id)
	}
	return errors.Join(err, os.RemoveAll(l.local))
}

// Down ends what a lab left on the inventory's hosts after zt-lab lost it
// (a crash, a lost connection): supervisors, their processes, the
// partition table, the files. labID "" ends every zt-lab lab there.
func (p *Provider) Down(ctx context.Context, labID string) error {
	if err := CheckLabID(labID); err != nil {
		return err
	}
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, t := range p.Inventory.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.down(ctx, t, labID); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return joinHosts(errs)
}

func (p *Provider) down(ctx context.Context, t Target, labID string) error {
	c, err := dial(ctx, t, p.HostKeys)
	if err != nil {
		return err
	}
	defer c.Close()
	pattern := LabDir(p.Inventory.RemoteDir, "ssh-*")
	if labID != "" {
		pattern = shellQuote(LabDir(p.Inventory.RemoteDir, labID))
	}
	// Each supervisor ends its own processes and heals its partition on
	// SIGTERM; a supervisor that was killed left its processes to die with
	// it (parent-death signal), but maybe its table: heal by name. Only
	// directories root made for zt-lab count (remote_dir may be
	// world-writable), and only pids that still run a supervisor.
	script := `ours() { [ ! -L "$1" ] && [ "$(stat -c %u "$1")" = 0 ]; }
for d in ` + pattern + `; do
  [ -d "$d" ] && ours "$d" || continue
  for f in "$d"/*/supervisor.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "zt-lab remote agent" && kill -TERM "$pid"
  done
  for i in 1 2 3 4 5 6 7 8 9 10; do
    live=0
    for f in "$d"/*/supervisor.pid; do
      [ -f "$f" ] && tr '\0' ' ' < "/proc/$(cat "$f")/cmdline" 2>/dev/null | grep -q "zt-lab remote agent" && live=1
    done
    [ $live = 0 ] && break
    sleep 0.5
  done
  id=${d##*/zt-lab-}
  z="$d/bin/zt-lab"
  if ours "$d/bin" && ours "$z" && [ "$(stat -c %a "$z")" = 700 ]; then "$z" remote heal --lab "$id"; fi
  rm -rf "$d"
done`
	if _, err := shell(ctx, c, t, script, nil); err != nil {
		return fmt.Errorf("clean up %s: %w", t.Name, err)
	}
	return nil
}

// VerifyHosts logs in to every host of the inventory once, so that each
// host key is checked (and, for a new one, asked about) before a lab
// starts, and a host that cannot be reached is named up front.
func VerifyHosts(ctx context.Context, inv *Inventory, hostKey ssh.HostKeyCallback) error {
	errs := make([]error, len(inv.Hosts))
	var wg sync.WaitGroup
	for i, t := range inv.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dial(ctx, t, hostKey)
			if err != nil {
				errs[i] = err
				return
			}
			c.Close()
		}()
	}
	wg.Wait()
	return joinHosts(errs)
}

// joinHosts joins the errors of several hosts into one line.
func joinHosts(errs []error) error {
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "; "))
}

// Attacker is the inventory's host of role attacker, if it names one: it
// must share an Ethernet segment with fcc00 and fcs00 for its ARP to reach
// them, which the inventory's author vouches for by naming it.
func (l *Lab) Attacker() (infra.HostSpec, string, bool) {
	for _, t := range l.p.Inventory.Hosts {
		if t.Role == infra.RoleAttacker {
			return infra.HostSpec{Name: t.Name, Role: infra.RoleAttacker}, "", true
		}
	}
	return infra.HostSpec{}, fmt.Sprintf("no attacker host in this lab: add one of role attacker on fcc00's and fcs00's segment to %s", l.p.Inventory.Path), false
}
