package scenes

import (
	"context"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/mesh"
)

// sceneDoor rebinds the service to loopback: the plaintext door shuts,
// the mesh still serves.
func sceneDoor() Scene {
	return Scene{
		ID: "door", Title: "Close the plaintext door", Panel: PanelConsumer,
		Needs: StageSidecars, Reaches: StageRebound,
		Steps: []Step{
			{
				Title: "Rebind the fortune service to 127.0.0.1:8181",
				Shell: "socat -v tcp-l:8181,bind=127.0.0.1,fork exec:/usr/games/fortune",
				Do: func(ctx context.Context, env *Env) error {
					return env.StartFortune(ctx, ServiceHost, "127.0.0.1")
				},
				Verify: func(ctx context.Context, env *Env) check.Check {
					return env.checkListening(ctx, ServiceHost, "127.0.0.1")
				},
			},
			{
				Title:  "fcc00 tries fcs00:8181 directly",
				Shell:  "nc fcs00 8181",
				Verify: meshCheck((*mesh.Cluster).CheckPlaintextRefused),
			},
			{
				Title:  "The mesh still serves",
				Shell:  "nc 127.0.0.1 9191",
				Do:     consumeThroughMesh,
				Verify: checkMeshFortune,
			},
		},
	}
}
