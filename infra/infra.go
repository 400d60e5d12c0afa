// Package infra declares what a lab is made of — a provider that builds hosts,
// the hosts themselves, the processes on them and the wire between them — so
// that scenes never know whether the hosts are namespaces, bare metal or VMs.
package infra

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"time"
)

// Provider builds labs and tears them down.
type Provider interface {
	// Up builds the hosts of t and reports progress per host.
	Up(ctx context.Context, t Topology, progress func(Event)) (Lab, error)
	// Down ends the lab with the given id. It is idempotent: ending a lab
	// that is already gone is not an error.
	Down(ctx context.Context, labID string) error
}

// Lab is a running set of hosts joined by one wire.
type Lab interface {
	ID() string
	Hosts() []Host
	Host(name string) (Host, bool)
	// AddHost adds a host to the running lab (scale-out, an attacker host).
	AddHost(ctx context.Context, spec HostSpec) (Host, error)
	// Wire is where a sniffer sees every packet between hosts.
	Wire() WireTap
	// Close ends every process and removes every host. Idempotent.
	Close(ctx context.Context) error
}

// WireTap says where the lab's traffic can be captured.
type WireTap struct {
	// Interface is a network interface in the calling process's network
	// namespace that carries every frame between the lab's hosts.
	Interface string
	// Names maps lab addresses to host names, for views that print names.
	Names map[netip.Addr]string
	// Backstage is the address zt-lab itself uses on the wire, for its
	// probes of the hosts' listeners (a sidecar's, the shut plaintext
	// port): its traffic is the lab's machinery, not the story. The
	// agents' APIs it reaches from their own hosts, off the wire
	// (Host.DialContext).
	Backstage netip.Addr
	// Open, when set, starts a capture on one of the lab's hosts (Interface
	// is then empty: no interface here carries the lab's frames). It says
	// where it captures and returns the frames as a pcap stream; closing
	// the stream ends the capture.
	Open func(ctx context.Context) (where string, frames io.ReadCloser, err error)
}

// Dialer is a lab whose hosts' addresses are not reachable from this
// machine directly (remote hosts): zt-lab connects to the agents' APIs and
// the hosts' listeners through it.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Host is one machine of the lab.
type Host interface {
	Name() string
	Role() Role
	Addr() netip.Addr
	State() HostState
	// Start runs a long-lived process on the host, its output captured.
	Start(ctx context.Context, p ProcSpec) (Proc, error)
	// Run runs a command on the host to completion and returns its
	// combined output.
	Run(ctx context.Context, argv ...string) ([]byte, error)
	// Procs lists the processes started on the host that are still known.
	Procs() []Proc
	// DataDir is a directory on the host, private to it and removed with
	// the lab: configuration, certificates, agent state.
	DataDir() string
	// WriteFile writes data to name under DataDir and returns its path on
	// the host.
	WriteFile(ctx context.Context, name string, data []byte, perm os.FileMode) (string, error)
	// DialContext connects from this host, as a process on it would:
	// 127.0.0.1 is the host's own loopback (where its consul agent's API
	// listens), and a connection to another host leaves by this host's
	// link.
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	// Fail injects a failure; Recover undoes it.
	Fail(ctx context.Context, mode FailMode) error
	Recover(ctx context.Context) error
}

// LearnerTokenFile is where a host may hold, under its DataDir, the
// read-only Consul token for learners (the mesh writes it there). A
// learner's shell on the host gets CONSUL_HTTP_TOKEN_FILE pointing at it,
// so `consul members` works there; no other process is given it (for
// consul's own clients, a token file outranks the token they were given).
const LearnerTokenFile = "consul/learner.token"

// ProcSpec describes a long-lived process to start on a host.
type ProcSpec struct {
	Name string   // short name, unique on the host: "fortune", "consul"
	Argv []string // argv[0] is looked up on PATH
	Env  []string // added to the lab's environment
	Dir  string
	// OnLine, when set, receives every line of output as it is written.
	// It must not block.
	OnLine func(line string)
}

// Proc is a process started by Host.Start.
type Proc interface {
	Name() string
	PID() int
	// Tail returns up to n of the last lines the process wrote.
	Tail(n int) []string
	// LogPath is the file holding the process's whole output.
	LogPath() string
	// Done is closed when the process has exited; Err then says how.
	Done() <-chan struct{}
	Err() error
	// Stop asks the process to end (SIGTERM) and kills it after grace.
	Stop(ctx context.Context, grace time.Duration) error
}

// FailMode is a way for a host to fail.
type FailMode string

const (
	Crash     FailMode = "crash"     // its processes are killed
	Partition FailMode = "partition" // its link to the wire goes down
	Freeze    FailMode = "freeze"    // its processes are stopped (SIGSTOP)
)

// PowerOff is a failure only cloud machines have: the machine loses power,
// and with it every process and the connection to it; recovering powers it
// on and starts again what ran.
const PowerOff FailMode = "poweroff"

// FailModes lists the failure modes every host has, in the order a menu
// shows them.
var FailModes = []FailMode{Crash, Partition, Freeze}

// FailModer is a host with failure modes beyond FailModes.
type FailModer interface {
	FailModes() []FailMode
}

// HostFailModes lists the ways h can fail.
func HostFailModes(h Host) []FailMode {
	if m, ok := h.(FailModer); ok {
		return m.FailModes()
	}
	return FailModes
}

// ParseFailMode turns a user's word into a FailMode.
func ParseFailMode(s string) (FailMode, error) {
	for _, m := range FailModes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", errors.New(`unknown failure mode "` + s + `": use crash, partition or freeze`)
}

// HostState is what a host is doing now.
type HostState string

const (
	StateUp          HostState = "up"
	StateCrashed     HostState = "crashed"
	StatePartitioned HostState = "partitioned"
	StateFrozen      HostState = "frozen"
	StatePoweredOff  HostState = "off"
	StateDown        HostState = "down"
)

// Event reports progress while a lab is built or changed.
type Event struct {
	Host    string // empty for the lab as a whole
	Step    string // "namespace", "link", "address", "ready", ...
	Done    bool   // the host (or the lab) is ready
	Err     error
	Elapsed time.Duration
}

// AttackerLab is a lab that can add an attacker host on the Ethernet
// segment its hosts share: the local lab always can; an SSH lab can when
// its inventory names a host of role attacker. A lab that is not one (or
// says no) has no attacker, and the scenes that need one say so.
type AttackerLab interface {
	// Attacker is the spec to give AddHost, or why there is none.
	Attacker() (spec HostSpec, why string, ok bool)
}
