package scenes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/mesh"
	"github.com/ztlab/zt-lab/sniffer"
)

// MeshAddr is where the consumer's sidecar takes its connections: the
// seeds' 9191 on the consumer's own loopback.
var MeshAddr = fmt.Sprintf("127.0.0.1:%d", mesh.MeshPort)

// RogueHost runs the service the intentions must stop.
const RogueHost = "rogue00"

// meshScenes are the scenes of the service mesh: servers, agents,
// sidecars, encryption, the closed door, intentions, identity.
func meshScenes() []Scene {
	return []Scene{
		{
			ID: "servers", Title: "The service mesh servers", Panel: PanelCluster,
			Needs: StageFortune, Reaches: StageServers,
			Steps: []Step{{
				Title: "Start three Consul servers and elect a leader",
				Shell: "consul agent -server -bootstrap-expect=3 -retry-join=consul00 -retry-join=consul01 -retry-join=consul02 -encrypt=$(consul keygen)",
				Do: func(ctx context.Context, env *Env) error {
					c, err := env.newCluster()
					if err != nil {
						return err
					}
					return c.UpServers(ctx)
				},
				Verify: meshCheck((*mesh.Cluster).CheckLeader),
			}},
		},
		{
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
				},
			},
		},
		{
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
		},
		{
			ID: "encrypted", Title: "Validating encryption", Panel: PanelSniffer,
			Needs: StageSidecars, Reaches: StageSidecars,
			Steps: []Step{
				{
					Title: "Sniff the wire while fcc00 fetches through the mesh",
					Shell: "tcpdump -i wire0 -X port 9191",
					Do: func(ctx context.Context, env *Env) error {
						if err := env.StartSniffer(); err != nil {
							return err
						}
						for range 3 {
							if _, err := env.Consume(ctx, ConsumerHost, MeshAddr); err != nil {
								return err
							}
						}
						return nil
					},
					Verify: func(ctx context.Context, env *Env) Check {
						return env.checkWire(ctx, "no fortune bytes on the wire through the mesh", ConsumerHost, ServiceHost, mesh.MeshPort, sniffer.Encrypted)
					},
				},
				{
					Title: "Consul's own gossip and RPC are encrypted too",
					Shell: "tcpdump -i wire0 -X 'port 8300 or port 8301'",
					Do: func(ctx context.Context, env *Env) error {
						// Ask the agents something that needs the servers,
						// so RPC crosses the wire while the sniffer watches.
						return env.Cluster().Touch(ctx)
					},
					Verify: checkConsulWire,
				},
			},
		},
		{
			ID: "door", Title: "Close the plaintext door", Panel: PanelConsumer,
			Needs: StageSidecars, Reaches: StageRebound,
			Steps: []Step{
				{
					Title: "Rebind the fortune service to 127.0.0.1:8181",
					Shell: "socat -v tcp-l:8181,bind=127.0.0.1,fork exec:/usr/games/fortune",
					Do: func(ctx context.Context, env *Env) error {
						return env.StartFortune(ctx, ServiceHost, "127.0.0.1")
					},
					Verify: func(ctx context.Context, env *Env) Check {
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
		},
		{
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
						env.Set(keyRogue, k)
						return nil
					},
					Verify: func(ctx context.Context, env *Env) Check {
						k, ok := env.Get(keyRogue).(mesh.Consumer)
						if !ok {
							return Failf("the rogue service is denied", "no rogue was started")
						}
						return fromMesh(env.Cluster().CheckDenied(ctx, k))
					},
				},
				rulesStep(),
			},
		},
		{
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
					Verify: func(ctx context.Context, env *Env) Check {
						rot, ok := env.Get(keyRotation).(mesh.Rotation)
						if !ok {
							return Failf("fortunes flow across a CA rotation", "no rotation ran")
						}
						c := fromMesh(env.Cluster().CheckRotation(ctx, rot))
						sum, _ := env.Get(keyRotationLoad).(string)
						c.Evidence = append(c.Evidence, "consumer during the rotation: "+sum)
						if failed, _ := env.Get(keyRotationFailed).(int); failed > 0 {
							c.Pass = false
							c.Evidence = append(c.Evidence, fmt.Sprintf("%d fetches failed during the rotation", failed))
						}
						return c
					},
				},
				keysStep(),
			},
		},
	}
}

const (
	keyRogue          = "rogue"
	keyRotation       = "rotation"
	keyRotationLoad   = "rotation-load"
	keyRotationFailed = "rotation-failed"
)

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

// newCluster prepares the mesh on the lab's hosts.
func (e *Env) newCluster() (*mesh.Cluster, error) {
	if e.Consul == "" {
		return nil, errors.New("no consul binary: run `make consul`, or pass --consul")
	}
	bin, err := mesh.FindConsul(context.Background(), e.Consul)
	if err != nil {
		return nil, err
	}
	c, err := mesh.New(e.Lab(), bin, mesh.Options{
		Self:        e.Self,
		FortuneArgs: []string{"--seed", fmt.Sprint(e.Seed)},
		Progress:    func(line string) { e.Logf("%s", line) },
	})
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.cluster = c
	e.mu.Unlock()
	return c, nil
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
	env.Set(keyRotation, rot)
	time.Sleep(time.Second) // and after it
	if err := load.Stop(ctx, time.Second); err != nil {
		return err
	}
	<-load.Done()
	ok, failed := tally.counts()
	env.Set(keyRotationLoad, fmt.Sprintf("%d ok, %d failed", ok, failed))
	env.Set(keyRotationFailed, failed)
	env.Logf("consumer during the rotation: %d ok, %d failed", ok, failed)
	if ok == 0 {
		return errors.New("the consumer got no fortune during the rotation")
	}
	return nil
}

// checkConsulWire proves Consul's gossip and RPC on the wire are
// encrypted: every flow on 8301 and 8300 the sniffer saw.
func checkConsulWire(ctx context.Context, env *Env) Check {
	const name = "Consul gossip and RPC on the wire are encrypted"
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var c Check
	_ = waitUntil(ctx, 50*time.Millisecond, func() bool {
		c = measureConsulWire(env, name)
		return c.Pass
	})
	return c
}

func measureConsulWire(env *Env, name string) Check {
	a := env.Analyzer()
	if a == nil {
		return Failf(name, "no capture ran")
	}
	seen := map[uint16]int{}
	c := Check{Name: name, Pass: true}
	for _, f := range a.Flows() {
		port := f.Key.Server.Port()
		if port == mesh.HTTPPort { // the agents' APIs listen on loopback only
			c.Pass = false
			c.Evidence = append(c.Evidence, fmt.Sprintf("an agent's HTTP API on the wire: %s %s: %s", f.Key.Proto, f.Direction(a.Names(), 0), f.Verdict))
			continue
		}
		if port != mesh.ServerPort && port != mesh.SerfPort {
			continue
		}
		seen[port]++
		if f.Verdict.Kind != sniffer.Encrypted || f.Verdict.KnownBytes != 0 {
			c.Pass = false
			c.Evidence = append(c.Evidence, fmt.Sprintf("%s %s: %s", f.Key.Proto, f.Direction(a.Names(), 0), f.Verdict))
		}
	}
	for _, port := range []uint16{mesh.SerfPort, mesh.ServerPort} {
		if seen[port] == 0 {
			c.Pass = false
			c.Evidence = append(c.Evidence, fmt.Sprintf("no flow on port %d seen yet", port))
		}
	}
	if c.Pass {
		c.Evidence = append(c.Evidence,
			fmt.Sprintf("%d gossip flows on %d: ENCRYPTED", seen[mesh.SerfPort], mesh.SerfPort),
			fmt.Sprintf("%d RPC flows on %d: ENCRYPTED (TLS)", seen[mesh.ServerPort], mesh.ServerPort),
			fmt.Sprintf("0 flows to an agent's HTTP API (%d): zt-lab asks each agent on its own host", mesh.HTTPPort))
		for _, f := range a.Flows() {
			if p := f.Key.Server.Port(); p == mesh.ServerPort || p == mesh.SerfPort {
				c.Evidence = append(c.Evidence, fmt.Sprintf("e.g. %s %s: %s", f.Key.Proto, f.Direction(a.Names(), 0), f.Verdict))
				break
			}
		}
	}
	return c
}

// meshCheck adapts one of the mesh's checks to a step's Verify.
func meshCheck(f func(*mesh.Cluster, context.Context) mesh.Check) func(context.Context, *Env) Check {
	return func(ctx context.Context, env *Env) Check {
		c := env.Cluster()
		if c == nil {
			return Failf("mesh", "no mesh is running")
		}
		return fromMesh(f(c, ctx))
	}
}

func fromMesh(c mesh.Check) Check {
	return Check{Name: c.Name, Pass: c.Pass, Evidence: c.Evidence}
}

// named gives a check another name: the same proof, told for this step.
func named(name string, f func(context.Context, *Env) Check) func(context.Context, *Env) Check {
	return func(ctx context.Context, env *Env) Check {
		c := f(ctx, env)
		c.Name = name
		return c
	}
}

// consumeThroughMesh has the consumer ask its sidecar for a fortune;
// checkMeshFortune checks that what it printed was served.
func consumeThroughMesh(ctx context.Context, env *Env) error {
	_, err := env.Consume(ctx, ConsumerHost, MeshAddr)
	return err
}

var checkMeshFortune = named("consumer received a fortune through the mesh", checkConsumerGotServed)
