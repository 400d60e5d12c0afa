package sshlab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/infra/ssh/remote"
)

// Host is one machine of the lab, reached over SSH.
type Host struct {
	lab        *Lab
	target     Target
	client     *ssh.Client
	supervisor *supervisor
	dir        string // the host's directory there
	localDir   string // its processes' logs here

	op sync.Mutex // failures and recoveries take turns
	mu sync.Mutex // guards below
	// state, procs and crashed mirror the local provider's host.
	state   infra.HostState
	procs   []*proc
	crashed []infra.ProcSpec
}

var _ infra.Host = (*Host)(nil)

func (h *Host) Name() string     { return h.target.Name }
func (h *Host) Role() infra.Role { return h.target.Role }
func (h *Host) Addr() netip.Addr { return h.target.LabAddr }
func (h *Host) DataDir() string  { return h.dir }
func (h *Host) String() string   { return h.target.Name }
func (h *Host) sup() *supervisor { h.mu.Lock(); defer h.mu.Unlock(); return h.supervisor }

// Client is the host's SSH connection; a new one replaces it after a power cut.
func (h *Host) Client() *ssh.Client { h.mu.Lock(); defer h.mu.Unlock(); return h.client }

func (h *Host) State() infra.HostState {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state
}

// Procs lists the processes on the host that have not exited.
func (h *Host) Procs() []infra.Proc {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []infra.Proc
	for _, p := range h.procs {
		if !isDone(p) {
			out = append(out, p)
		}
	}
	return out
}

func isDone(p *proc) bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (h *Host) usable() error {
	switch s := h.State(); s {
	case infra.StateUp, infra.StatePartitioned:
		return nil
	default:
		return fmt.Errorf("host %s is %s: recover it first (zt-lab recover %s)", h.target.Name, s, h.target.Name)
	}
}

// argv names the lab's copy of a binary the provider copied over by its
// local path, so that scenes name binaries the same way on every provider.
func (h *Host) argv(argv []string) []string {
	if len(argv) == 0 {
		return argv
	}
	p := h.lab.p
	for name, local := range p.Files {
		if argv[0] == local {
			return append([]string{name}, argv[1:]...)
		}
	}
	if argv[0] == p.Self {
		return append([]string{"zt-lab"}, argv[1:]...)
	}
	return argv
}

// Start runs a long-lived process on the host, under its supervisor.
func (h *Host) Start(ctx context.Context, spec infra.ProcSpec) (infra.Proc, error) {
	if err := h.usable(); err != nil {
		return nil, err
	}
	p, err := h.start(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("on %s: %w", h.target.Name, err)
	}
	return p, nil
}

func (h *Host) start(ctx context.Context, spec infra.ProcSpec) (*proc, error) {
	if len(spec.Argv) == 0 {
		return nil, errors.New("start process: empty command")
	}
	if spec.Name == "" {
		spec.Name = filepath.Base(spec.Argv[0])
	}
	logPath := filepath.Join(h.localDir, spec.Name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log for %s: %w", spec.Name, err)
	}
	p := &proc{host: h, spec: spec, logPath: logPath, log: f, done: make(chan struct{})}
	m, err := h.sup().call(ctx, remote.Request{Op: remote.OpStart, Name: spec.Name, Argv: h.argv(spec.Argv), Env: spec.Env, Dir: spec.Dir}, p)
	if err != nil {
		p.exit(err)
		return nil, err
	}
	p.pid = m.PID
	h.mu.Lock()
	h.procs = slices.DeleteFunc(h.procs, isDone)
	h.procs = append(h.procs, p)
	h.mu.Unlock()
	return p, nil
}

// Run runs a command on the host to completion.
func (h *Host) Run(ctx context.Context, argv ...string) ([]byte, error) {
	if err := h.usable(); err != nil {
		return nil, err
	}
	if len(argv) == 0 {
		return nil, errors.New("run: empty command")
	}
	m, err := h.sup().call(ctx, remote.Request{Op: remote.OpRun, Argv: h.argv(argv)}, nil)
	if err != nil {
		return m.Out, fmt.Errorf("on %s: %s: %w", h.target.Name, strings.Join(argv, " "), err)
	}
	return m.Out, nil
}

// WriteFile writes data under the host's directory.
func (h *Host) WriteFile(ctx context.Context, name string, data []byte, perm os.FileMode) (string, error) {
	if len(data) > remote.MaxData {
		return "", fmt.Errorf("write %s on %s: %d bytes is more than the %d MB a file can have here", name, h.target.Name, len(data), remote.MaxData>>20)
	}
	m, err := h.sup().call(ctx, remote.Request{Op: remote.OpWrite, Path: name, Data: data, Perm: uint32(perm)}, nil)
	if err != nil {
		return "", fmt.Errorf("write %s on %s: %w", name, h.target.Name, err)
	}
	return m.Path, nil
}

// peers are the lab addresses of every other host: what a partition cuts
// the host off from.
func (h *Host) peers() []string {
	var out []string
	for _, o := range h.lab.Hosts() {
		if o.Name() != h.target.Name {
			out = append(out, o.Addr().String())
		}
	}
	return out
}

// Fail injects a failure: a crash kills the host's processes, a partition
// drops its traffic with the other hosts in a firewall table, a freeze
// stops its processes.
func (h *Host) Fail(ctx context.Context, mode infra.FailMode) error {
	h.op.Lock()
	defer h.op.Unlock()
	if s := h.State(); s != infra.StateUp {
		return fmt.Errorf("host %s is already %s: recover it first", h.target.Name, s)
	}
	h.mu.Lock()
	procs := slices.DeleteFunc(slices.Clone(h.procs), isDone)
	h.mu.Unlock()
	switch mode {
	case infra.Crash:
		var specs []infra.ProcSpec
		for _, p := range procs {
			specs = append(specs, p.spec)
		}
		h.setState(infra.StateCrashed, func() { h.procs, h.crashed = nil, specs })
		var wg sync.WaitGroup
		for _, p := range procs {
			wg.Add(1)
			go func() { defer wg.Done(); _ = p.kill(ctx) }()
		}
		wg.Wait()
	case infra.Partition:
		if _, err := h.sup().call(ctx, remote.Request{Op: remote.OpPartition, Peers: h.peers()}, nil); err != nil {
			return fmt.Errorf("partition %s: %w", h.target.Name, err)
		}
		h.setState(infra.StatePartitioned, nil)
	case infra.Freeze:
		for i, p := range procs {
			if err := p.signal(ctx, syscall.SIGSTOP); err != nil {
				for _, q := range procs[:i] {
					_ = q.signal(ctx, syscall.SIGCONT)
				}
				return fmt.Errorf("freeze %s on %s: %w", p.spec.Name, h.target.Name, err)
			}
		}
		h.setState(infra.StateFrozen, nil)
	default:
		return fmt.Errorf("unknown failure mode %q", mode)
	}
	return nil
}

func (h *Host) setState(s infra.HostState, also func()) {
	h.mu.Lock()
	h.state = s
	if also != nil {
		also()
	}
	h.mu.Unlock()
}

// Recover undoes the host's failure: a crashed host starts again what the
// crash killed, a partitioned host's table goes, a frozen one runs.
func (h *Host) Recover(ctx context.Context) error {
	h.op.Lock()
	defer h.op.Unlock()
	switch h.State() {
	case infra.StateUp:
		return nil
	case infra.StateCrashed:
		h.mu.Lock()
		specs := h.crashed
		h.crashed = nil
		h.state = infra.StateUp
		h.mu.Unlock()
		var errs []error
		for _, s := range specs {
			if _, err := h.start(ctx, s); err != nil {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("recover %s: %w", h.target.Name, err)
		}
	case infra.StatePartitioned:
		if _, err := h.sup().call(ctx, remote.Request{Op: remote.OpHeal}, nil); err != nil {
			return fmt.Errorf("heal %s: %w", h.target.Name, err)
		}
		h.setState(infra.StateUp, nil)
	case infra.StateFrozen:
		h.mu.Lock()
		procs := slices.Clone(h.procs)
		h.mu.Unlock()
		for _, p := range procs {
			_ = p.signal(ctx, syscall.SIGCONT)
		}
		h.setState(infra.StateUp, nil)
	default:
		return fmt.Errorf("host %s is %s and cannot recover", h.target.Name, h.State())
	}
	return nil
}

// PowerOff cuts the machine's power with cut (its provider's API): every
// process goes with it, the supervisor too, and the connection dies.
// Reconnect brings the host back, and what ran, once it runs again.
func (h *Host) PowerOff(ctx context.Context, cut func(context.Context) error) error {
	h.op.Lock()
	defer h.op.Unlock()
	if s := h.State(); s != infra.StateUp {
		return fmt.Errorf("host %s is already %s: recover it first", h.target.Name, s)
	}
	// What runs now is what power-on starts again: once the power is gone,
	// the processes read as ended.
	h.mu.Lock()
	var specs []infra.ProcSpec
	for _, p := range h.procs {
		if !isDone(p) {
			specs = append(specs, p.spec)
		}
	}
	h.mu.Unlock()
	if err := cut(ctx); err != nil {
		return err
	}
	h.mu.Lock()
	h.crashed, h.procs = specs, nil
	h.state = infra.StatePoweredOff
	c := h.client
	h.mu.Unlock()
	c.Close()
	return nil
}

// Reconnect logs in to the host again after a power cut, with a new
// supervisor, and starts again what ran when the power went.
func (h *Host) Reconnect(ctx context.Context) error {
	h.op.Lock()
	defer h.op.Unlock()
	if s := h.State(); s != infra.StatePoweredOff {
		return fmt.Errorf("host %s is %s, not powered off", h.target.Name, s)
	}
	c, sup, err := h.lab.login(ctx, h.target, func(string) {})
	if err != nil {
		return fmt.Errorf("reconnect to %s: %w", h.target.Name, err)
	}
	h.mu.Lock()
	if h.state == infra.StateDown {
		// The lab closed while this host came back.
		h.mu.Unlock()
		sup.close(10 * time.Second)
		c.Close()
		return fmt.Errorf("reconnect to %s: the lab has ended", h.target.Name)
	}
	h.client, h.supervisor = c, sup
	specs := h.crashed
	h.crashed = nil
	h.state = infra.StateUp
	h.mu.Unlock()
	var errs []error
	for _, s := range specs {
		if _, err := h.start(ctx, s); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("restart on %s: %w", h.target.Name, err)
	}
	return nil
}

// close ends the supervisor, which ends every process and removes the
// host's files, then the connection.
func (h *Host) close() {
	h.mu.Lock()
	h.state = infra.StateDown
	h.procs = nil
	sup, c := h.supervisor, h.client
	h.mu.Unlock()
	sup.close(10 * time.Second)
	c.Close()
}

// ShellCommand is an OpenSSH command line for an interactive shell on the
// host, as root, in its lab directory, with the lab's binaries first on
// PATH: what a presenter's `s` opens. knownHosts is the file the lab
// checked the host's key against.
func (h *Host) ShellCommand(knownHosts string) []string {
	host, port, err := net.SplitHostPort(h.target.Addr)
	if err != nil {
		host, port = h.target.Addr, "22"
	}
	argv := []string{"ssh", "-t", "-p", port,
		"-o", `UserKnownHostsFile="` + knownHosts + `"`, "-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR"}
	if h.target.KeyFile != "" {
		argv = append(argv, "-i", h.target.KeyFile)
	}
	bin := path.Join(h.lab.root, "bin")
	script := "cd " + shellQuote(h.dir) + " && PATH=" + shellQuote(bin) + ":$PATH ZTLAB_HOST=" + shellQuote(h.target.Name) +
		" exec \"${SHELL:-/bin/sh}\" -i"
	return append(argv, h.target.User+"@"+host, asRoot(h.target, "sh", "-c", script))
}
