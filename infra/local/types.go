package local

// The shapes of a lab's state and answers, the same on every system: the
// Linux lab writes and serves them, and a controller anywhere reads them.

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/ztlab/zt-lab/infra"
)

// State is what other terminals need to find and join a running lab.
type State struct {
	ID      string       `json:"id"`
	PID     int          `json:"pid"` // zt-lab outside the sandbox
	Dir     string       `json:"dir"` // the lab's run directory
	Socket  string       `json:"socket"`
	Subnet  netip.Prefix `json:"subnet"`
	Wire    netip.Addr   `json:"wire"`
	Started time.Time    `json:"started"`
	Hosts   []StateHost  `json:"hosts"`
}

// StateHost is one host as the state file records it.
type StateHost struct {
	Name string     `json:"name"`
	Role infra.Role `json:"role"`
	Addr netip.Addr `json:"addr"`
}

// Status is a running lab as `zt-lab status` shows it.
type Status struct {
	ID      string       `json:"id"`
	Started time.Time    `json:"started"`
	Subnet  netip.Prefix `json:"subnet"`
	Wire    string       `json:"wire"`
	WireIP  netip.Addr   `json:"wire_ip"`
	Dir     string       `json:"dir"`
	Hosts   []HostStatus `json:"hosts"`
}

// HostStatus is one host in a Status.
type HostStatus struct {
	Name  string          `json:"name"`
	Role  infra.Role      `json:"role"`
	Addr  netip.Addr      `json:"addr"`
	State infra.HostState `json:"state"`
	Procs []ProcStatus    `json:"procs,omitempty"`
}

// ProcStatus is one process in a HostStatus.
type ProcStatus struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	Log  string `json:"log"`
}

// SniffRequest is what `zt-lab sniff` in another terminal asks of the lab,
// which captures on its wire and streams what it sees back.
type SniffRequest struct {
	Host  netip.Addr `json:"host,omitzero"`
	Port  uint16     `json:"port,omitempty"`
	Proto string     `json:"proto,omitempty"`
	Flows bool       `json:"flows,omitempty"`
	Write string     `json:"write,omitempty"` // absolute path
}

// Memory is what the lab's processes use, in bytes. RSS counts pages
// shared between processes once per process (every consul agent and proxy
// maps the same 124 MB binary); PSS divides shared pages among those who
// share them, so the PSS sum is the lab's real footprint.
type Memory struct {
	Procs    int
	RSS, PSS uint64
	// Each is every process counted, in PID order.
	Each []ProcMemory
}

// ProcMemory is one process's share of Memory: its command line (argv
// joined by spaces), its RSS and PSS in bytes, and the CPU time it has
// used so far (user and system), which shows what a leaner heap costs.
type ProcMemory struct {
	PID      int
	Cmd      string
	RSS, PSS uint64
	CPU      time.Duration
}

// ErrLabRunning means a lab is already running for this user.
type ErrLabRunning struct{ State State }

func (e ErrLabRunning) Error() string {
	return fmt.Sprintf("a lab is already running (id %s, pid %d, up since %s): use it, or end it with `zt-lab down`",
		e.State.ID, e.State.PID, e.State.Started.Format("15:04:05"))
}

// RemoteError is an error the lab reported. Usage errors are ones the
// user can fix (an unknown host, a host that is failed).
type RemoteError struct {
	Msg   string
	Usage bool
}

func (e RemoteError) Error() string { return e.Msg }

// UnknownHostError names a host the lab does not have.
type UnknownHostError struct {
	Name  string
	Hosts []string
}

func (e UnknownHostError) Error() string {
	return fmt.Sprintf("unknown host %q: the lab has %s", e.Name, strings.Join(e.Hosts, ", "))
}
