package scenes

import (
	"context"
	"strings"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/mesh"
)

// RogueHost runs the service the intentions must stop.
const RogueHost = "rogue00"

// sceneIntentions denies everything but fcc -> fcs, and shows a rogue
// service inside the mesh refused.
func sceneIntentions() Scene {
	return Scene{
		ID: "intentions", Title: "Access control", Panel: PanelConsumer,
		Needs: StageRebound, Reaches: StageIntentions,
		Steps: []Step{
			{
				Title: "Deny everything, then allow fcc -> fcs",
				Shell: intentionCommands(),
				Do: func(ctx context.Context, env *Env) error {
					if err := env.Cluster().ApplyIntentions(ctx, labIntentions); err != nil {
						return err
					}
					return consumeThroughMesh(ctx, env)
				},
				Verify: named("fcc is still allowed to fcs", checkConsumerGotServed),
			},
			{
				Title: "A rogue service in the mesh tries fcs",
				Shell: "nc 127.0.0.1 9191   # on rogue00, through its own sidecar",
				Do: func(ctx context.Context, env *Env) error {
					k, err := env.addRogue(ctx)
					if err != nil {
						return err
					}
					env.keep(func(s *walkState) { s.rogue = &k })
					return nil
				},
				Verify: func(ctx context.Context, env *Env) check.Check {
					k := env.state().rogue
					if k == nil {
						return check.Failf("the rogue service is denied", "no rogue was started")
					}
					return env.Cluster().CheckDenied(ctx, *k)
				},
			},
			rulesStep(),
		},
	}
}

// labIntentions are the seeds' access control: deny by default, allow
// only the consumer to the fortune service.
var labIntentions = []mesh.Intention{
	{Source: "*", Destination: "*", Allow: false},
	{Source: mesh.ConsumerService, Destination: mesh.FortuneService, Allow: true},
}

func intentionCommands() string {
	var cmds []string
	for _, i := range labIntentions {
		cmds = append(cmds, i.Command())
	}
	return strings.Join(cmds, " ; ")
}

// addRogue adds a host with a service of its own, inside the mesh, that
// wants fortunes.
func (e *Env) addRogue(ctx context.Context) (mesh.Consumer, error) {
	l := e.Lab()
	h, ok := l.Host(RogueHost)
	if !ok {
		var err error
		if h, err = l.AddHost(ctx, infra.HostSpec{Name: RogueHost, Role: infra.RoleOther}); err != nil {
			return mesh.Consumer{}, err
		}
		e.LabChanged()
	}
	k := mesh.Consumer{Host: h, Name: "rogue", Port: mesh.MeshPort}
	if err := e.Cluster().AddConsumer(ctx, k); err != nil {
		return k, err
	}
	return k, nil
}
