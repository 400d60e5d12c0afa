package scenes

import (
	"context"

	"github.com/ztlab/zt-lab/mesh"
)

// sceneAgents joins the client agents and registers the service as it is.
func sceneAgents() Scene {
	return Scene{
		ID: "agents", Title: "Agents join", Panel: PanelCluster,
		Needs: StageServers, Reaches: StageAgents,
		Steps: []Step{
			{
				Title: "Start client agents on fcs00 and fcc00",
				Shell: "consul agent -retry-join=consul00 -encrypt=$KEY -auto-encrypt ...   # on fcs00 and fcc00",
				Do: func(ctx context.Context, env *Env) error {
					return env.Cluster().UpClients(ctx)
				},
				Verify: meshCheck((*mesh.Cluster).CheckMembers),
			},
			{
				Title: "Register the fortune service as it is: plaintext",
				Shell: "consul services register -name=fcs -port=8181",
				Do: func(ctx context.Context, env *Env) error {
					return env.Cluster().RegisterPlaintext(ctx)
				},
				Verify: meshCheck((*mesh.Cluster).CheckPlaintextRegistered),
			},
		},
	}
}
