//go:build !linux

package local

// On any system but Linux there are no network namespaces to build a lab
// of: every entry point that would build, find or join one answers
// ErrNotLinux, and the types mirror the Linux ones so that the controller
// (TUI, headless run, the ssh and equinix providers) builds and runs here.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/ztlab/zt-lab/infra"
)

// ErrNotLinux is the answer of the local provider on another system.
var ErrNotLinux = fmt.Errorf("the local lab is made of Linux network namespaces and this is %s: use --provider ssh with your own Linux hosts (or --provider equinix), or run zt-lab in a Linux VM", runtime.GOOS)

// WireName is the lab's bridge in the sandbox.
const WireName = "wire0"

// ReadyLine is what a detached up prints once its lab is ready.
const ReadyLine = "zt-lab: ready"

// ErrNoLab means no lab is running for this user.
var ErrNoLab = errors.New("no lab is running: start one with `zt-lab up` (or `zt-lab up --detach`)")

// ErrNoUserNamespaces means the kernel refused the sandbox.
var ErrNoUserNamespaces = errors.New("user namespaces are not available")

// ErrNoCapabilities means the sandbox was created but holds no capabilities.
var ErrNoCapabilities = errors.New("the sandbox holds no capabilities")

// Main does nothing here: there is no sandbox to be the init of.
func Main() {}

// Sandboxed is false: no sandbox is made here.
func Sandboxed() bool { return false }

// Detached is false: no lab runs in the background here.
func Detached() bool { return false }

// ClientEnv is the environment of a client of the lab.
func ClientEnv() []string { return os.Environ() }

// AppArmorProfile has nothing to say off Linux.
func AppArmorProfile(string) string { return "# AppArmor is Linux's; " + ErrNotLinux.Error() + "\n" }

// RuntimeDir is where this user's lab would keep its state.
func RuntimeDir() string { return infra.RuntimeDir() }

// Enter answers ErrNotLinux.
func Enter() (int, error) { return 0, ErrNotLinux }

// Detach answers ErrNotLinux.
func Detach([]string, io.Writer) (State, error) { return State{}, ErrNotLinux }

// FindLab answers ErrNotLinux: no lab runs here.
func FindLab() (State, error) { return State{}, ErrNotLinux }

// LabMemory answers ErrNotLinux.
func LabMemory() (Memory, error) { return Memory{}, ErrNotLinux }

// Provider is the local provider, which cannot build here.
type Provider struct{}

// New returns the local provider.
func New() *Provider { return &Provider{} }

// Up answers ErrNotLinux.
func (*Provider) Up(context.Context, infra.Topology, func(infra.Event)) (infra.Lab, error) {
	return nil, ErrNotLinux
}

// Down answers ErrNotLinux.
func (*Provider) Down(context.Context, string) error { return ErrNotLinux }

// Lab is a local lab, of which there is never one here.
type Lab struct{}

var _ infra.Lab = (*Lab)(nil)

func (*Lab) ID() string                     { return "" }
func (*Lab) Started() time.Time             { return time.Time{} }
func (*Lab) Hosts() []infra.Host            { return nil }
func (*Lab) Host(string) (infra.Host, bool) { return nil, false }
func (*Lab) AddHost(context.Context, infra.HostSpec) (infra.Host, error) {
	return nil, ErrNotLinux
}
func (*Lab) Wire() infra.WireTap            { return infra.WireTap{} }
func (*Lab) Close(context.Context) error    { return nil }
func (*Lab) Status() Status                 { return Status{} }
func (*Lab) ServeSniff()                    {}
func (*Lab) DownRequested() <-chan struct{} { return nil }

// Holding is what up holds a lab with.
type Holding struct{}

// Hold returns a Holding that holds nothing.
func Hold() *Holding                        { return &Holding{} }
func (*Holding) Stop()                      {}
func (*Holding) Wait(context.Context, *Lab) {}

// Client would talk to a running lab.
type Client struct{}

// Dial returns a client whose every call answers ErrNotLinux.
func Dial(State) *Client { return &Client{} }

func (*Client) Status(context.Context) (Status, error)               { return Status{}, ErrNotLinux }
func (*Client) Fail(context.Context, string, infra.FailMode) error   { return ErrNotLinux }
func (*Client) Recover(context.Context, string) error                { return ErrNotLinux }
func (*Client) Down(context.Context) error                           { return ErrNotLinux }
func (*Client) Login(context.Context, string) (int, error)           { return 0, ErrNotLinux }
func (*Client) Sniff(context.Context, SniffRequest, io.Writer) error { return ErrNotLinux }
func (*Client) Exec(context.Context, string, []string, *os.File, *os.File, *os.File, <-chan os.Signal) (int, error) {
	return 0, ErrNotLinux
}

// PeerError is a process at the other end of the control socket that runs
// as another user.
type PeerError struct {
	Side string
	UID  uint32
}

func (e PeerError) Error() string { return fmt.Sprintf("refused: a %s of uid %d", e.Side, e.UID) }
