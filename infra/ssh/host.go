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
	"strings"
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

	// faults is the host's state and processes; its Mu also guards client
	// and supervisor, which a power cut and a reconnect change with them.
	faults *infra.Faults[*proc]
}

var _ infra.Host = (*Host)(nil)

func (h *Host) Name() string     { return h.target.Name }
func (h *Host) Role() infra.Role { return h.target.Role }
func (h *Host) Addr() netip.Addr { return h.target.LabAddr }
func (h *Host) DataDir() string  { return h.dir }
func (h *Host) String() string   { return h.target.Name }
func (h *Host) sup() *supervisor {
	h.faults.Mu.Lock()
	defer h.faults.Mu.Unlock()
	return h.supervisor
}

// Client is the host's SSH connection; a new one replaces it after a power cut.
func (h *Host) Client() *ssh.Client {
	h.faults.Mu.Lock()
	defer h.faults.Mu.Unlock()
	return h.client
}

func (h *Host) State() infra.HostState { return h.faults.State() }

// DialContext connects from the host itself, as a process on it would:
// sshd opens the connection there (a direct-tcpip channel of the host's
// own SSH connection), so 127.0.0.1 is the host's loopback and nothing of
// it crosses the lab's wire.
func (h *Host) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c := h.Client()
	if c == nil {
		return nil, fmt.Errorf("dial %s from %s: no SSH connection to it", addr, h.target.Name)
	}
	conn, err := c.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("from %s: %w", h.target.Name, dialError(network, addr, err))
	}
	return &deadlineConn{Conn: conn}, nil
}

// Procs lists the processes on the host that have not exited.
func (h *Host) Procs() []infra.Proc {
	var out []infra.Proc
	for _, p := range h.faults.Live() {
		out = append(out, p)
	}
	return out
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
	if err := h.faults.Usable(); err != nil {
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
	h.faults.Track(p)
	return p, nil
}

// Run runs a command on the host to completion.
func (h *Host) Run(ctx context.Context, argv ...string) ([]byte, error) {
	if err := h.faults.Usable(); err != nil {
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
	return h.faults.Fail(ctx, mode)
}

// Recover undoes the host's failure: a crashed host starts again what the
// crash killed, a partitioned host's table goes, a frozen one runs.
func (h *Host) Recover(ctx context.Context) error { return h.faults.Recover(ctx) }

// machine is what failures do to a host over its supervisor.
type machine struct{ h *Host }

func (m machine) Spec(p *proc) infra.ProcSpec       { return p.spec }
func (m machine) Kill(ctx context.Context, p *proc) { _ = p.kill(ctx) }
func (m machine) Signal(ctx context.Context, p *proc, sig syscall.Signal) error {
	return p.signal(ctx, sig)
}

func (m machine) Partition(ctx context.Context) error {
	_, err := m.h.sup().call(ctx, remote.Request{Op: remote.OpPartition, Peers: m.h.peers()}, nil)
	return err
}

func (m machine) Heal(ctx context.Context) error {
	_, err := m.h.sup().call(ctx, remote.Request{Op: remote.OpHeal}, nil)
	return err
}

func (m machine) Start(ctx context.Context, spec infra.ProcSpec) error {
	_, err := m.h.start(ctx, spec)
	return err
}

// PowerOff cuts the machine's power with cut (its provider's API): every
// process goes with it, the supervisor too, and the connection dies.
// Reconnect brings the host back, and what ran, once it runs again.
func (h *Host) PowerOff(ctx context.Context, cut func(context.Context) error) error {
	var c *ssh.Client
	err := h.faults.FailWith(ctx, infra.StatePoweredOff, cut, func() { c = h.client })
	if err != nil {
		return err
	}
	if c != nil { // nil: the lab closed, and its connection with it
		c.Close()
	}
	return nil
}

// Reconnect logs in to the host again after a power cut, with a new
// supervisor, and starts again what ran when the power went.
func (h *Host) Reconnect(ctx context.Context) error {
	return h.faults.RecoverWith(ctx, infra.StatePoweredOff, func(ctx context.Context) (func(bool), error) {
		c, sup, err := h.lab.login(ctx, h.target, func(string) {})
		if err != nil {
			return nil, fmt.Errorf("reconnect to %s: %w", h.target.Name, err)
		}
		return func(ended bool) {
			if ended {
				// The lab closed while this host came back.
				_ = sup.close(context.WithoutCancel(ctx), 10*time.Second)
				c.Close()
				return
			}
			h.client, h.supervisor = c, sup
		}, nil
	})
}

// close ends the supervisor, which ends every process and removes the
// host's files, then the connection.
func (h *Host) close(ctx context.Context) error {
	h.faults.End()
	sup, c := h.sup(), h.Client()
	defer c.Close()
	return sup.close(ctx, 10*time.Second)
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
	// The learners' read-only Consul token, once the mesh has left one.
	token := shellQuote(path.Join(h.dir, infra.LearnerTokenFile))
	script := "cd " + shellQuote(h.dir) + " && { [ ! -f " + token + " ] || export CONSUL_HTTP_TOKEN_FILE=" + token + "; } && PATH=" + shellQuote(bin) + ":$PATH ZTLAB_HOST=" + shellQuote(h.target.Name) +
		" exec \"${SHELL:-/bin/sh}\" -i"
	return append(argv, h.target.User+"@"+host, asRoot(h.target, "sh", "-c", script))
}
