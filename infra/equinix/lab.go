package equinix

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/equinix/equinix-sdk-go/services/metalv1"

	"github.com/ztlab/zt-lab/infra"
)

// Runner runs commands on the lab's devices. The Metal API only makes
// machines; the SSH provider supplies a Runner through Lab.Connect. Hosts
// are named as in the topology; Lab.SSHTargets says how to reach each.
type Runner interface {
	Start(ctx context.Context, host string, p infra.ProcSpec) (infra.Proc, error)
	Run(ctx context.Context, host string, argv []string) ([]byte, error)
	WriteFile(ctx context.Context, host, path string, data []byte, perm os.FileMode) error
}

// Dialer is a Runner that can also connect from a host, as a process on
// it would (the SSH provider's host connection).
type Dialer interface {
	DialContext(ctx context.Context, host, network, addr string) (net.Conn, error)
}

// Failer is a Runner that can also fail a host from inside: partition it
// with a firewall rule, freeze its processes. Without one a Metal host
// can only be powered off.
type Failer interface {
	Fail(ctx context.Context, host string, mode infra.FailMode) error
	Recover(ctx context.Context, host string) error
}

// ErrNotConnected is the error of a host asked to run something before
// the lab has a Runner.
var ErrNotConnected = errors.New("not connected")

// SSHTarget says how to log in to one of the lab's devices.
type SSHTarget struct {
	Host    string // hostname, e.g. consul00
	Role    infra.Role
	Addr    netip.Addr // public IPv4: where SSH reaches the device
	Private netip.Addr // private IPv4: the project's network between devices
	User    string     // root, as on every Metal OS image
	KeyFile string     // the lab's private key, OpenSSH format, mode 0600
}

// Lab is a running lab of Metal devices.
type Lab struct {
	p       *Provider
	id      string
	dir     string // this lab's local run directory: its private key
	started time.Time
	keyID   string
	keyFile string

	mu     sync.Mutex
	hosts  []*Host
	runner Runner
	closed bool
}

var _ infra.Lab = (*Lab)(nil)

func newLab(p *Provider, id string, started time.Time) *Lab {
	return &Lab{p: p, id: id, dir: filepath.Join(p.cfg.RunDir, id), started: started}
}

func (l *Lab) ID() string          { return l.id }
func (l *Lab) Started() time.Time  { return l.started }
func (l *Lab) Dir() string         { return l.dir }
func (l *Lab) KeyFile() string     { return l.keyFile }
func (l *Lab) Provider() *Provider { return l.p }

// Connect gives the lab's hosts a way to run commands.
func (l *Lab) Connect(r Runner) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runner = r
}

func (l *Lab) getRunner() Runner {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.runner
}

// SSHTargets lists every host with what an SSH client needs.
func (l *Lab) SSHTargets() []SSHTarget {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []SSHTarget
	for _, h := range l.hosts {
		out = append(out, SSHTarget{Host: h.spec.Name, Role: h.spec.Role, Addr: h.public, Private: h.private, User: "root", KeyFile: l.keyFile})
	}
	return out
}

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
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, h := range l.hosts {
		if h.spec.Name == name {
			return h, true
		}
	}
	return nil, false
}

// Wire names the hosts by address. There is no interface on this machine
// that carries the lab's packets: a capture runs on a host, through the
// Runner.
func (l *Lab) Wire() infra.WireTap {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := map[netip.Addr]string{}
	for _, h := range l.hosts {
		for _, a := range []netip.Addr{h.public, h.private} {
			if a.IsValid() {
				names[a] = h.spec.Name
			}
		}
	}
	return infra.WireTap{Names: names}
}

// AddHost creates one more device for the lab, like the seeds' second
// Terraform run that adds fortune service instances. If it fails, the
// device is deleted again.
func (l *Lab) AddHost(ctx context.Context, spec infra.HostSpec) (infra.Host, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, fmt.Errorf("lab %s is closed", l.id)
	}
	t := infra.Topology{Subnet: infra.DefaultSubnet}
	known := map[string]bool{}
	for _, h := range l.hosts {
		t.Hosts = append(t.Hosts, h.spec)
		known[h.deviceID] = true
	}
	l.mu.Unlock()
	t.Hosts = append(t.Hosts, spec)
	if err := t.Validate(); err != nil {
		return nil, err
	}
	u := &unsure{}
	h, err := l.launch(ctx, spec, u, func(infra.Event) {})
	if err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.p.cfg.Timing.Cleanup)
		defer cancel()
		which := func(d metalv1.Device) bool { return d.GetHostname() == spec.Name && !known[d.GetId()] }
		if cerr := l.p.destroy(cctx, l.id, u, which, func(infra.Event) {}); cerr != nil {
			err = fmt.Errorf("%w; deleting it failed too: %v", err, cerr)
		}
		return nil, l.p.c.redact(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hosts = append(l.hosts, h)
	return h, nil
}

// Close deletes every device and key of the lab. Idempotent.
func (l *Lab) Close(ctx context.Context) error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return l.p.Down(ctx, l.id)
}

// Host is one Metal device of the lab.
type Host struct {
	lab      *Lab
	spec     infra.HostSpec
	deviceID string
	public   netip.Addr
	private  netip.Addr

	mu      sync.Mutex
	state   infra.HostState
	powered bool             // false while a Fail has it powered off
	procs   []started        // started through the Runner
	crashed []infra.ProcSpec // what a power-off ended, started again on recover
}

// started is a process with the spec it was started from.
type started struct {
	infra.Proc
	spec infra.ProcSpec
}

func (s started) done() bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}

var _ infra.Host = (*Host)(nil)

func newHost(l *Lab, spec infra.HostSpec, d *metalv1.Device) *Host {
	h := &Host{lab: l, spec: spec, deviceID: d.GetId(), state: infra.StateUp, powered: true}
	for _, ip := range d.IpAddresses {
		a, err := netip.ParseAddr(ip.GetAddress())
		if err != nil || ip.GetAddressFamily() != 4 || !a.Is4() {
			continue
		}
		if ip.GetPublic() && !h.public.IsValid() {
			h.public = a
		} else if !ip.GetPublic() && !h.private.IsValid() {
			h.private = a
		}
	}
	return h
}

func (h *Host) Name() string       { return h.spec.Name }
func (h *Host) Role() infra.Role   { return h.spec.Role }
func (h *Host) String() string     { return h.spec.Name }
func (h *Host) DeviceID() string   { return h.deviceID }
func (h *Host) Public() netip.Addr { return h.public }

// Private is the device's address on the project's private network.
func (h *Host) Private() netip.Addr { return h.private }

// Addr is where the other hosts reach this one: the private address,
// which every device in the project's metro shares, or the public one when
// there is none.
func (h *Host) Addr() netip.Addr {
	if h.private.IsValid() {
		return h.private
	}
	return h.public
}

func (h *Host) State() infra.HostState {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state
}

// DataDir is the lab's directory on the device, made by its cloud-init.
func (h *Host) DataDir() string { return dataDir(h.lab.id) }

func dataDir(labID string) string { return "/var/lib/zt-lab/" + labID }

func (h *Host) runner() (Runner, error) {
	if r := h.lab.getRunner(); r != nil {
		return r, nil
	}
	return nil, fmt.Errorf("%s: %w: an Equinix Metal device runs commands through the SSH provider, and none is connected to lab %s yet", h.spec.Name, ErrNotConnected, h.lab.id)
}

func (h *Host) usable() error {
	switch s := h.State(); s {
	case infra.StateUp, infra.StatePartitioned:
		if h.isPowered() {
			return nil
		}
		return fmt.Errorf("host %s is powered off: recover it first (zt-lab recover %s)", h.spec.Name, h.spec.Name)
	default:
		return fmt.Errorf("host %s is %s: recover it first (zt-lab recover %s)", h.spec.Name, s, h.spec.Name)
	}
}

func (h *Host) isPowered() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.powered
}

// Start runs a long-lived process on the device through the Runner.
func (h *Host) Start(ctx context.Context, spec infra.ProcSpec) (infra.Proc, error) {
	r, err := h.runner()
	if err != nil {
		return nil, err
	}
	if err := h.usable(); err != nil {
		return nil, err
	}
	p, err := r.Start(ctx, h.spec.Name, spec)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.procs = append(h.procs, started{p, spec})
	h.mu.Unlock()
	return p, nil
}

// DialContext connects from the device through the Runner, which must be
// a Dialer.
func (h *Host) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	r, err := h.runner()
	if err != nil {
		return nil, err
	}
	d, ok := r.(Dialer)
	if !ok {
		return nil, fmt.Errorf("dial %s from %s: the lab's runner cannot connect from a device", addr, h.spec.Name)
	}
	if err := h.usable(); err != nil {
		return nil, err
	}
	return d.DialContext(ctx, h.spec.Name, network, addr)
}

// Run runs a command on the device through the Runner.
func (h *Host) Run(ctx context.Context, argv ...string) ([]byte, error) {
	r, err := h.runner()
	if err != nil {
		return nil, err
	}
	if err := h.usable(); err != nil {
		return nil, err
	}
	return r.Run(ctx, h.spec.Name, argv)
}

// WriteFile writes data to name under DataDir through the Runner.
func (h *Host) WriteFile(ctx context.Context, name string, data []byte, perm os.FileMode) (string, error) {
	r, err := h.runner()
	if err != nil {
		return "", err
	}
	p := path.Join(h.DataDir(), name)
	if !strings.HasPrefix(p, h.DataDir()+"/") {
		return "", fmt.Errorf("%s: %q is outside the lab's directory", h.spec.Name, name)
	}
	if err := r.WriteFile(ctx, h.spec.Name, p, data, perm); err != nil {
		return "", err
	}
	return p, nil
}

// Procs lists the processes started on the host that have not ended.
func (h *Host) Procs() []infra.Proc {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []infra.Proc
	for _, p := range h.procs {
		if !p.done() {
			out = append(out, p.Proc)
		}
	}
	return out
}

// Fail makes the host fail. Crash powers the device off (a node failing,
// as in the seeds). Partition and freeze go to the Runner when it is a
// Failer; without one, partition powers the device off too, and freeze
// is refused: the Metal API has no way to stop a machine's processes.
func (h *Host) Fail(ctx context.Context, mode infra.FailMode) error {
	if err := h.usable(); err != nil {
		return err
	}
	f, _ := h.lab.getRunner().(Failer)
	switch mode {
	case infra.Crash:
	case infra.Partition:
		if f != nil {
			return h.failBy(ctx, f, mode, infra.StatePartitioned)
		}
	case infra.Freeze:
		if f != nil {
			return h.failBy(ctx, f, mode, infra.StateFrozen)
		}
		return fmt.Errorf("%s: freeze is not possible on Equinix Metal without the SSH runner (the API can only power a device off): use crash or partition, which power it off", h.spec.Name)
	default:
		return fmt.Errorf("%s: unknown failure mode %q", h.spec.Name, mode)
	}
	if err := h.power(ctx, metalv1.DEVICEACTIONINPUTTYPE_POWER_OFF); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.powered = false
	h.crashed = h.crashed[:0]
	for _, p := range h.procs {
		if !p.done() {
			h.crashed = append(h.crashed, p.spec)
		}
	}
	h.procs = nil
	h.state = infra.StateCrashed
	if mode == infra.Partition {
		h.state = infra.StatePartitioned
	}
	return nil
}

func (h *Host) failBy(ctx context.Context, f Failer, mode infra.FailMode, state infra.HostState) error {
	if err := f.Fail(ctx, h.spec.Name, mode); err != nil {
		return err
	}
	h.mu.Lock()
	h.state = state
	h.mu.Unlock()
	return nil
}

// Recover undoes Fail: powers the device on and waits until Metal reports
// it active, then starts again, through the Runner, what the power-off
// ended.
func (h *Host) Recover(ctx context.Context) error {
	h.mu.Lock()
	state, powered := h.state, h.powered
	h.mu.Unlock()
	if state == infra.StateUp {
		return nil
	}
	if powered {
		f, ok := h.lab.getRunner().(Failer)
		if !ok {
			return fmt.Errorf("%s: %w: it was failed through the SSH runner", h.spec.Name, ErrNotConnected)
		}
		if err := f.Recover(ctx, h.spec.Name); err != nil {
			return err
		}
		h.mu.Lock()
		h.state = infra.StateUp
		h.mu.Unlock()
		return nil
	}
	if err := h.power(ctx, metalv1.DEVICEACTIONINPUTTYPE_POWER_ON); err != nil {
		return err
	}
	p := h.lab.p
	if _, err := p.waitActive(ctx, h.spec.Name, h.deviceID, time.Now(), func(infra.Event) {}); err != nil {
		return p.c.redact(err)
	}
	h.mu.Lock()
	h.powered = true
	h.state = infra.StateUp
	again := h.crashed
	h.crashed = nil
	h.mu.Unlock()
	if len(again) == 0 || h.lab.getRunner() == nil {
		return nil
	}
	var errs []error
	for _, spec := range again {
		if _, err := h.Start(ctx, spec); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (h *Host) power(ctx context.Context, action metalv1.DeviceActionInputType) error {
	c := h.lab.p.c
	_, err := call(ctx, c, fmt.Sprintf("%s %s", strings.ReplaceAll(string(action), "_", " "), h.spec.Name), noValue(func(ctx context.Context) (*http.Response, error) {
		return c.api.DevicesApi.PerformAction(ctx, h.deviceID).DeviceActionInput(metalv1.DeviceActionInput{Type: action}).Execute()
	}))
	return c.redact(err)
}
