package scenes

import (
	"context"
	"fmt"

	"github.com/ztlab/zt-lab/mesh"
)

// MeshAddr is where the consumer's sidecar takes its connections: the
// seeds' 9191 on the consumer's own loopback.
var MeshAddr = fmt.Sprintf("127.0.0.1:%d", mesh.MeshPort)

// sceneSidecars puts the fortune service and its consumer behind sidecars.
func sceneSidecars() Scene {
	return Scene{
		ID: "sidecars", Title: "Sidecars", Panel: PanelConsumer,
		Needs: StageAgents, Reaches: StageSidecars,
		Steps: []Step{
			{
				Title: "Register the secure service, start both sidecars",
				Shell: "consul connect proxy -sidecar-for fcs   # on fcs00, and -sidecar-for fcc on fcc00",
				Do: func(ctx context.Context, env *Env) error {
					return env.Cluster().Secure(ctx)
				},
				Verify: meshCheck((*mesh.Cluster).CheckSidecars),
			},
			{
				Title:  "fcc00 asks its sidecar on 127.0.0.1:9191",
				Shell:  "nc 127.0.0.1 9191",
				Do:     consumeThroughMesh,
				Verify: checkMeshFortune,
			},
		},
	}
}

// consumeThroughMesh has the consumer ask its sidecar for a fortune;
// checkMeshFortune checks that what it printed was served.
func consumeThroughMesh(ctx context.Context, env *Env) error {
	_, err := env.Consume(ctx, ConsumerHost, MeshAddr)
	return err
}

var checkMeshFortune = named("consumer received a fortune through the mesh", checkConsumerGotServed)
