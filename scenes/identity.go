package scenes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/mesh"
)

// sceneIdentity shows every service's certificate and rotates the CA
// under load.
func sceneIdentity() Scene {
	return Scene{
		ID: "identity", Title: "Identity and rotation", Panel: PanelCerts,
		Needs: StageIntentions, Reaches: StageRotated,
		Steps: []Step{
			{
				Title: "Every service carries a certificate: its passport",
				Shell: "curl -s localhost:8500/v1/agent/connect/ca/leaf/fcs | jq -r .CertPEM | openssl x509 -noout -text",
				Do: func(ctx context.Context, env *Env) error {
					for _, svc := range []string{mesh.FortuneService, mesh.ConsumerService} {
						id, err := env.Cluster().Leaf(ctx, svc)
						if err != nil {
							return err
						}
						for _, l := range id.Lines() {
							env.Logf("%s", l)
						}
					}
					return nil
				},
				Verify: meshCheck((*mesh.Cluster).CheckIdentities),
			},
			{
				Title: "Rotate the CA while fcc00 keeps fetching",
				Shell: "consul connect ca set-config -config-file new-root.json",
				Do:    rotateUnderLoad,
				Verify: func(ctx context.Context, env *Env) check.Check {
					rot := env.state().rotation
					if rot == nil {
						return check.Failf("fortunes flow across a CA rotation", "no rotation ran")
					}
					return withRotationLoad(env.Cluster().CheckRotation(ctx, rot.rotation), rot)
				},
			},
			keysStep(),
		},
	}
}

// rotateUnderLoad rotates the Connect CA while the consumer fetches a
// fortune every 100 ms through the mesh, and counts what failed.
func rotateUnderLoad(ctx context.Context, env *Env) error {
	h, err := env.Host(ConsumerHost)
	if err != nil {
		return err
	}
	var tally attempts
	load, err := h.Start(ctx, infra.ProcSpec{
		Name: "consumer",
		Argv: []string{env.Self, "fortune", "get", MeshAddr, "--every", "100ms", "--for", "60s", "--timeout", "2s"},
		OnLine: func(line string) {
			tally.add(line)
			if f := strings.Fields(line); len(f) >= 2 && strings.HasPrefix(f[0], "#") && f[1] != "ok" {
				env.Logf("%s", line)
			}
		},
	})
	if err != nil {
		return err
	}
	defer load.Stop(context.Background(), time.Second)
	time.Sleep(500 * time.Millisecond) // fortunes flow before the rotation
	rot, err := env.Cluster().Rotate(ctx)
	if err != nil {
		return err
	}
	time.Sleep(time.Second) // and after it
	if err := load.Stop(ctx, time.Second); err != nil {
		return err
	}
	<-load.Done()
	ok, failed := tally.counts()
	env.keep(func(s *walkState) { s.rotation = &rotationRun{rotation: rot, ok: ok, failed: failed} })
	env.Logf("consumer during the rotation: %d ok, %d failed", ok, failed)
	if ok == 0 {
		return errors.New("the consumer got no fortune during the rotation")
	}
	return nil
}

// withRotationLoad adds to the mesh's rotation check what the consumer
// saw while the CA rotated: any failed fetch fails it.
func withRotationLoad(c check.Check, rot *rotationRun) check.Check {
	c.Evidence = append(c.Evidence, fmt.Sprintf("consumer during the rotation: %d ok, %d failed", rot.ok, rot.failed))
	if rot.failed > 0 {
		c.Pass = false
		c.Evidence = append(c.Evidence, fmt.Sprintf("%d fetches failed during the rotation", rot.failed))
	}
	return c
}
