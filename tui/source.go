package tui

import (
	"net/netip"
	"time"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/scenes"
	"github.com/ztlab/zt-lab/sniffer"
)

// labSource is what the live panels read of the lab. *scenes.Env is the
// real one (through envSource); tests give the screens packets and hosts
// without a lab.
type labSource interface {
	Lab() infra.Lab
	Packets(n int) []sniffer.Packet
	Analyzer() *sniffer.Analyzer
	// CaptureStats says what the capture counted, and whether one runs.
	CaptureStats() (sniffer.Stats, bool)
	ConsumerLog(n int) []string
	Served() []string
	Names() map[netip.Addr]string
	// Meshed says the fortune traffic goes through the sidecars (mTLS):
	// the topology shows locks.
	Meshed() bool
	WritePcap(path string) error
}

// envSource reads a scenes.Env.
type envSource struct {
	*scenes.Env
	engine *scenes.Engine
}

func (s envSource) CaptureStats() (sniffer.Stats, bool) {
	c := s.Env.Capture()
	if c == nil {
		return sniffer.Stats{}, false
	}
	return c.Stats(), true
}

// Meshed asks the Env when it can say (a Meshed method is planned on
// scenes.Env); until then the lab is meshed once the sidecars scene has
// brought it to its stage.
func (s envSource) Meshed() bool {
	if m, ok := any(s.Env).(interface{ Meshed() bool }); ok {
		return m.Meshed()
	}
	return s.engine.Stage() >= scenes.StageSidecars
}

// MeshView is what the cluster and certificate panels show. scenes.Env
// has no accessor for the Consul cluster yet: the caller fills it from
// mesh through Options.Mesh.
type MeshView struct {
	// Meshed says the fortune traffic goes through the sidecars (mTLS).
	Meshed bool
	// Leader is the host name of the raft leader; empty when there is
	// none.
	Leader  string
	Members []Member
	// Peers are the raft peers, by host name.
	Peers []string
	Roots []Root
	Certs []Cert
	// Status is the cluster as text, one line each, when Leader, Members
	// and Peers are not known: what the checks that prove it saw.
	Status []string
	// Intentions are the access rules, as `consul intention` prints them:
	// "fcc => fcs (allow)".
	Intentions []string
}

// Member is a Consul agent as `consul members` shows it.
type Member struct {
	Name, Addr string
	Role       string // "server" or "client"
	Status     string // "alive", "failed", "left"
}

// Root is a root certificate of the Connect CA.
type Root struct {
	ID, Name    string
	Active      bool
	Fingerprint string
	NotAfter    time.Time
}

// Cert is a service's leaf certificate.
type Cert struct {
	Service, URI, Serial string
	NotBefore, NotAfter  time.Time
	Root                 string // the ID of the root it chains to
}
