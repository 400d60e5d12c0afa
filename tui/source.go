package tui

import (
	"context"
	"net/netip"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/mesh"
	"github.com/ztlab/zt-lab/scenes"
	"github.com/ztlab/zt-lab/sniffer"
)

// labSource is what the live panels read of the lab, and the one change
// the screen makes to it: a fault by hand, which goes through the engine
// so that it is an event like a step's. The engine and its *scenes.Env
// are the real one (through envSource); tests give the screens packets
// and hosts without a lab.
type labSource interface {
	// Lab is the lab's hosts as the screen shows them, read-only; false
	// before the first scene.
	Lab() (scenes.LabView, bool)
	// Fail makes a host fail; Recover undoes it.
	Fail(ctx context.Context, host string, mode infra.FailMode) error
	Recover(ctx context.Context, host string) error
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

// envSource reads the engine's Env, and fails hosts through the engine.
type envSource struct {
	env    *scenes.Env
	engine *scenes.Engine
}

func (s envSource) Lab() (scenes.LabView, bool) { return s.env.LabView() }

func (s envSource) Fail(ctx context.Context, host string, mode infra.FailMode) error {
	return s.engine.Fail(ctx, host, mode)
}

func (s envSource) Recover(ctx context.Context, host string) error {
	return s.engine.Recover(ctx, host)
}

func (s envSource) Packets(n int) []sniffer.Packet { return s.env.Packets(n) }
func (s envSource) Analyzer() *sniffer.Analyzer    { return s.env.Analyzer() }
func (s envSource) ConsumerLog(n int) []string     { return s.env.ConsumerLog(n) }
func (s envSource) Served() []string               { return s.env.Served() }
func (s envSource) Names() map[netip.Addr]string   { return s.env.Names() }
func (s envSource) WritePcap(path string) error    { return s.env.WritePcap(path) }

func (s envSource) CaptureStats() (sniffer.Stats, bool) {
	c := s.env.Capture()
	if c == nil {
		return sniffer.Stats{}, false
	}
	return c.Stats(), true
}

// Meshed says the lab is meshed once the sidecars scene has brought it to
// its stage.
func (s envSource) Meshed() bool {
	return s.engine.Stage() >= scenes.StageSidecars
}

// meshFromEnv is what the Env's Consul cluster says of itself, for the
// cluster and certificate panels; an empty view before the mesh starts.
func meshFromEnv(env *scenes.Env) func(context.Context) (mesh.View, error) {
	return func(ctx context.Context) (mesh.View, error) {
		c := env.Cluster()
		if c == nil {
			return mesh.View{}, nil
		}
		return c.View(ctx)
	}
}
