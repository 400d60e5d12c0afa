package sshlab

import (
	"context"

	"github.com/ztlab/zt-lab/infra"
)

// Open loads the inventory file at path, checks that it holds the hosts of
// need (when need names any), and logs in to each of its hosts once, asking
// trust about host keys its known_hosts does not hold yet (nil trust refuses
// them), so that a host that is missing, cannot be reached, or whose key
// changed, is named before any lab starts. The provider it returns accepts
// only the keys known by then: building the lab later never has to ask.
// The caller sets Self and Files.
func Open(ctx context.Context, path string, need infra.Topology, trust Trust) (*Provider, error) {
	inv, err := LoadInventory(path)
	if err != nil {
		return nil, err
	}
	if err := inv.CheckTopology(need); err != nil {
		return nil, err
	}
	ask, err := HostKeyCallback(inv.KnownHosts, trust)
	if err != nil {
		return nil, err
	}
	if err := VerifyHosts(ctx, inv, ask); err != nil {
		return nil, err
	}
	known, err := HostKeyCallback(inv.KnownHosts, nil)
	if err != nil {
		return nil, err
	}
	return &Provider{Inventory: inv, HostKeys: known}, nil
}
