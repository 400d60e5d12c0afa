package mesh

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ztlab/zt-lab/infra"
)

// Consumer is a service that reads fortunes through its sidecar: fcc on a
// consumer host, or a rogue that the intentions should stop.
type Consumer struct {
	Host infra.Host
	Name string
	Port int // the local port of its upstream to fcs: 9191 for fcc
}

// Upstream is where the consumer's sidecar takes connections for fcs.
func (k Consumer) Upstream() string { return "127.0.0.1:" + strconv.Itoa(k.Port) }

// sidecar is a `consul connect proxy -sidecar-for` process and what its
// registration said.
type sidecar struct {
	host     infra.Host
	service  string         // the service ID it fronts
	name     string         // the service's name, whose token it has
	listener netip.AddrPort // its public listener, where its TCP check looks
	proc     infra.Proc
}

func (s *sidecar) key() string { return s.host.Name() + "/" + s.service }

// RegisterPlaintext registers the fortune service on every fortune host as
// the seeds first do, without a sidecar, and waits until the catalog lists
// it.
func (c *Cluster) RegisterPlaintext(ctx context.Context) error {
	var nodes []string
	for _, h := range c.hosts(infra.RoleService) {
		a, ok := c.agent(h.Name())
		if !ok {
			return fmt.Errorf("register fcs on %s: no consul agent there: bring the mesh up first", h.Name())
		}
		token, err := c.createServiceToken(ctx, FortuneService)
		if err != nil {
			return err
		}
		if err := withNewToken(ctx, "register fcs", func() error {
			return a.api.Agent().ServiceRegisterOpts(PlaintextRegistration(h.Addr()), api.ServiceRegisterOpts{Token: token}.WithContext(ctx))
		}); err != nil {
			return fmt.Errorf("register fcs on %s: %w", h.Name(), err)
		}
		nodes = append(nodes, h.Name())
		c.say("registered fcs on %s at %s:%d (plaintext)", h.Name(), h.Addr(), FortunePort)
	}
	return c.waitCatalog(ctx, FortuneService, "plaintext", nodes, true)
}

// waitCatalog waits until the catalog lists service (with tag) on exactly
// the given nodes, or, when present is false, on none of them.
func (c *Cluster) waitCatalog(ctx context.Context, service, tag string, nodes []string, present bool) error {
	srv, err := c.serverAPI()
	if err != nil {
		return err
	}
	what := fmt.Sprintf("%s (%s) in the catalog on %v", service, tag, nodes)
	if !present {
		what = fmt.Sprintf("%s (%s) gone from the catalog on %v", service, tag, nodes)
	}
	w := waitSpec{what: what, procs: refs(c.allAgents()), limit: 15 * time.Second}
	_, err = await(ctx, w, func(q *api.QueryOptions) ([]*api.CatalogService, *api.QueryMeta, error) {
		return srv.Catalog().Service(service, tag, q)
	}, func(cs []*api.CatalogService) (bool, string) {
		on := map[string]bool{}
		for _, s := range cs {
			on[s.Node] = true
		}
		for _, n := range nodes {
			if on[n] != present {
				return false, fmt.Sprintf("%d instances", len(cs))
			}
		}
		return true, ""
	})
	return err
}

// Secure puts the fortune service behind the mesh, as the seeds do: fcs
// registered with a sidecar listening for mTLS on 9191 and handing
// connections to 127.0.0.1:8181; fcc registered with a sidecar whose
// upstream to fcs is 127.0.0.1:9191; both sidecars started; and, once they
// are healthy, the plaintext registration removed. The fortune service
// itself still listens everywhere: Rebind moves it to loopback.
func (c *Cluster) Secure(ctx context.Context) error {
	var cars []*sidecar
	for _, h := range c.hosts(infra.RoleService) {
		s, err := c.deploy(ctx, h, SecureRegistration(h.Addr(), c.opts.CheckInterval), netip.AddrPortFrom(h.Addr(), MeshPort))
		if err != nil {
			return err
		}
		cars = append(cars, s)
	}
	var consumers []Consumer
	for _, h := range c.hosts(infra.RoleConsumer) {
		k := Consumer{Host: h, Name: ConsumerService, Port: MeshPort}
		s, err := c.deployConsumer(ctx, k)
		if err != nil {
			return err
		}
		cars = append(cars, s)
		consumers = append(consumers, k)
	}
	if err := c.waitHealthy(ctx, cars); err != nil {
		return err
	}
	for _, k := range consumers {
		if err := c.waitUpstreamSeen(ctx, k); err != nil {
			return err
		}
	}
	c.mu.Lock()
	if t := &c.timings; !t.Start.IsZero() {
		t.SidecarsHealthy = time.Since(t.Start)
	}
	for _, k := range consumers {
		if !slices.ContainsFunc(c.consumers, func(o Consumer) bool { return o.Host.Name() == k.Host.Name() && o.Name == k.Name }) {
			c.consumers = append(c.consumers, k)
		}
	}
	c.mu.Unlock()
	var plain []string
	for _, h := range c.hosts(infra.RoleService) {
		a, ok := c.agent(h.Name())
		if !ok {
			continue
		}
		services, err := a.api.Agent().Services()
		if err != nil {
			return fmt.Errorf("list services on %s: %w", h.Name(), err)
		}
		if _, ok := services[PlaintextID]; !ok {
			continue
		}
		if err := a.api.Agent().ServiceDeregisterOpts(PlaintextID, (&api.QueryOptions{Token: c.ServiceTokenSecret(FortuneService)}).WithContext(ctx)); err != nil {
			return fmt.Errorf("remove the plaintext registration on %s: %w", h.Name(), err)
		}
		plain = append(plain, h.Name())
		c.say("removed the plaintext registration of fcs on %s", h.Name())
	}
	if len(plain) > 0 {
		return c.waitCatalog(ctx, FortuneService, "plaintext", plain, false)
	}
	return nil
}

// AddConsumer registers another consumer with its own sidecar — a rogue,
// say — starting a client agent on its host first if it has none, and
// waits until its sidecar is healthy.
func (c *Cluster) AddConsumer(ctx context.Context, k Consumer) error {
	if err := c.Join(ctx, k.Host); err != nil {
		return err
	}
	s, err := c.deployConsumer(ctx, k)
	if err != nil {
		return err
	}
	if err := c.waitHealthy(ctx, []*sidecar{s}); err != nil {
		return err
	}
	if err := c.waitUpstreamSeen(ctx, k); err != nil {
		return err
	}
	c.mu.Lock()
	c.consumers = append(c.consumers, k)
	c.mu.Unlock()
	return nil
}

// Consumers lists the consumers registered so far: fcc first, then any
// added with AddConsumer.
func (c *Cluster) Consumers() []Consumer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.consumers)
}

func (c *Cluster) deployConsumer(ctx context.Context, k Consumer) (*sidecar, error) {
	reg := ConsumerRegistration(k.Name, k.Host.Addr(), k.Port, c.opts.CheckInterval)
	return c.deploy(ctx, k.Host, reg, netip.AddrPortFrom(k.Host.Addr(), ConsumerSidecarPort))
}

// deploy registers a service with a sidecar on h's agent and starts the
// sidecar. The sidecar is registered with a starting check in place of its
// TCP check, until handOver has seen it listen. deploy does not wait.
func (c *Cluster) deploy(ctx context.Context, h infra.Host, reg *api.AgentServiceRegistration, listener netip.AddrPort) (*sidecar, error) {
	a, ok := c.agent(h.Name())
	if !ok {
		return nil, fmt.Errorf("register %s on %s: no consul agent there: bring the mesh up first", reg.ID, h.Name())
	}
	// The service is registered with its own token, which the agent keeps
	// for the service's anti-entropy, and which its sidecar runs with.
	token, err := c.createServiceToken(ctx, reg.Name)
	if err != nil {
		return nil, err
	}
	// The agent applies a registration again, whole, whenever the
	// service's central configuration changes (agent/service_manager.go),
	// and every check registered with it comes back as it was registered:
	// a starting check registered with the sidecar came back critical
	// after the walkthrough's leader crash, and took fcs00 out of the mesh
	// for good. So the sidecar is registered with its alias check alone,
	// and its starting check beside it; handOver then puts the TCP check
	// in its place, and neither comes back.
	only := *reg
	connect := *reg.Connect
	sc := *connect.SidecarService
	sc.Checks = api.AgentServiceChecks{aliasCheck(reg.ID)}
	connect.SidecarService = &sc
	only.Connect = &connect
	if err := withNewToken(ctx, "register "+reg.ID, func() error {
		return a.api.Agent().ServiceRegisterOpts(&only, api.ServiceRegisterOpts{Token: token}.WithContext(ctx))
	}); err != nil {
		return nil, fmt.Errorf("register %s on %s: %w", reg.ID, h.Name(), err)
	}
	st := startingCheck(reg.ID)
	streg := &api.AgentCheckRegistration{ID: st.CheckID, Name: st.Name, Notes: st.Notes, ServiceID: sidecarID(reg.ID), AgentServiceCheck: *st}
	streg.CheckID = ""
	if err := a.api.Agent().CheckRegisterOpts(streg, (&api.QueryOptions{Token: token}).WithContext(ctx)); err != nil {
		return nil, fmt.Errorf("register the starting check of %s on %s: %w", sidecarID(reg.ID), h.Name(), err)
	}
	s := &sidecar{host: h, service: reg.ID, name: reg.Name, listener: listener}
	c.mu.Lock()
	old := c.sidecars[s.key()]
	c.mu.Unlock()
	if old != nil {
		select {
		case <-old.proc.Done():
		default:
			s.proc = old.proc // already running: it follows the new registration itself
		}
	}
	if s.proc == nil {
		if err := c.startSidecar(ctx, s, token); err != nil {
			return nil, err
		}
		c.say("registered %s on %s; started its sidecar: %s (pid %d)", reg.ID, h.Name(), strings.Join(SidecarArgv("consul", reg.ID), " "), s.proc.PID())
	}
	c.mu.Lock()
	c.sidecars[s.key()] = s
	c.mu.Unlock()
	return s, nil
}

// startSidecar starts s's proxy on its host, with its service's token.
func (c *Cluster) startSidecar(ctx context.Context, s *sidecar, token string) error {
	proc, err := s.host.Start(ctx, infra.ProcSpec{
		Name: s.service + "-sidecar",
		Argv: SidecarArgv(c.bin.Path, s.service),
		Env:  sidecarEnv(token),
	})
	if err != nil {
		return fmt.Errorf("start the sidecar of %s on %s: %w", s.service, s.host.Name(), err)
	}
	c.mu.Lock()
	s.proc = proc
	c.mu.Unlock()
	return nil
}

// Recovered puts a host's sidecars back in the mesh after the host came
// back from a crash. The lab starts again, all at once, every process the
// crash killed, and a sidecar that asks its agent for its registration
// before the agent answers gives up and exits; and the agent, started
// again, holds its sidecar's TCP check critical until the check next runs
// (every CheckInterval, 10 s). So once the agent answers, Recovered starts
// any sidecar of the host that does not listen again within 1 s, and once
// it listens, marks its TCP check passing, as handOver did at first.
func (c *Cluster) Recovered(ctx context.Context, h infra.Host) error {
	a, ok := c.agent(h.Name())
	if !ok {
		return nil
	}
	c.mu.Lock()
	var cars []*sidecar
	for _, s := range c.sidecars {
		if s.host.Name() == h.Name() {
			cars = append(cars, s)
		}
	}
	c.mu.Unlock()
	if len(cars) == 0 {
		return nil
	}
	w := waitSpec{what: h.Name() + "'s agent answering again", limit: 15 * time.Second}
	if err := poll(ctx, w, 25*time.Millisecond, func(context.Context) (bool, string, error) {
		_, err := a.api.Agent().Self()
		return err == nil, "", err
	}); err != nil {
		return err
	}
	// Only once the servers hold the agent alive does what it tells them
	// (the checks below) reach the catalog at once: a change made before
	// fails to sync and waits for anti-entropy's next full sync.
	if err := c.waitSeenAlive(ctx, []string{h.Name()}, func(a *agent) bool { return a.server }); err != nil {
		return err
	}
	for _, s := range cars {
		token := c.ServiceTokenSecret(s.name)
		if !c.listening(ctx, s, time.Second) {
			if err := c.startSidecar(ctx, s, token); err != nil {
				return err
			}
			c.say("started the sidecar of %s on %s again (pid %d): the one started with the agent had exited", s.service, h.Name(), s.proc.PID())
			if !c.listening(ctx, s, 15*time.Second) {
				return fmt.Errorf("%s on %s: not listening on %s after a restart%s", sidecarID(s.service), h.Name(), s.listener, tails([]procRef{{h.Name(), s.proc}}))
			}
		}
		chk := listeningCheck(s.service, s.listener, c.opts.CheckInterval, api.HealthPassing)
		reg := &api.AgentCheckRegistration{ID: chk.CheckID, Name: chk.Name, ServiceID: sidecarID(s.service), AgentServiceCheck: *chk}
		reg.CheckID = ""
		if err := a.api.Agent().CheckRegisterOpts(reg, (&api.QueryOptions{Token: token}).WithContext(ctx)); err != nil {
			return fmt.Errorf("register the TCP check of %s on %s: %w", sidecarID(s.service), h.Name(), err)
		}
	}
	return nil
}

// listening says whether s's public listener accepts a connection from
// the wire within limit.
func (c *Cluster) listening(ctx context.Context, s *sidecar, limit time.Duration) bool {
	w := waitSpec{what: sidecarID(s.service) + " listening", limit: limit}
	return poll(ctx, w, 25*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		dctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		conn, err := c.dial(dctx, "tcp", s.listener.String())
		if err != nil {
			return false, "", err
		}
		conn.Close()
		return true, "", nil
	}) == nil
}

// waitHealthy hands every sidecar's check over once it listens (every
// sidecar deploy started needs that), then waits until all their checks
// pass in the catalog: what a consumer's upstream asks before it dials an
// instance.
func (c *Cluster) waitHealthy(ctx context.Context, cars []*sidecar) error {
	if err := c.handOver(ctx, cars); err != nil {
		return err
	}
	srv, err := c.serverAPI()
	if err != nil {
		return err
	}
	var procs []procRef
	for _, s := range cars {
		procs = append(procs, procRef{s.host.Name(), s.proc})
		if a, ok := c.agent(s.host.Name()); ok {
			procs = append(procs, procRef{a.host.Name(), a.proc})
		}
	}
	w := waitSpec{what: "sidecars healthy", procs: procs, limit: 30 * time.Second}
	_, err = await(ctx, w, func(q *api.QueryOptions) (api.HealthChecks, *api.QueryMeta, error) {
		return srv.Health().State(api.HealthAny, q)
	}, func(hc api.HealthChecks) (bool, string) {
		var notYet []string
		for _, s := range cars {
			if st := sidecarStatus(hc, s); st != api.HealthPassing {
				notYet = append(notYet, fmt.Sprintf("%s on %s %s", sidecarID(s.service), s.host.Name(), st))
			}
		}
		return len(notYet) == 0, strings.Join(notYet, ", ")
	})
	if err != nil {
		return err
	}
	for _, s := range cars {
		c.say("%s on %s healthy: listening on %s", sidecarID(s.service), s.host.Name(), s.listener)
	}
	return nil
}

// waitUpstreamSeen waits until k's agent answers its sidecar's own lookup
// (the lab's consul asks the agent's cache, with the sidecar's token) with
// a passing instance of fcs on every service host: the servers calling the
// sidecars healthy does not yet mean that view has caught up, and a fetch
// that comes first finds no instance.
func (c *Cluster) waitUpstreamSeen(ctx context.Context, k Consumer) error {
	a, ok := c.agent(k.Host.Name())
	if !ok {
		return fmt.Errorf("no consul agent on %s", k.Host.Name())
	}
	var want []string
	for _, h := range c.hosts(infra.RoleService) {
		want = append(want, h.Name())
	}
	token := c.ServiceTokenSecret(k.Name)
	w := waitSpec{what: k.Name + "'s agent seeing fcs on " + strings.Join(want, ", "), procs: refs([]*agent{a}), limit: 15 * time.Second}
	return poll(ctx, w, 50*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		q := (&api.QueryOptions{AllowStale: true, UseCache: true, Token: token}).WithContext(ctx)
		entries, _, err := a.api.Health().Connect(FortuneService, "", true, q)
		if err != nil {
			return false, "", err
		}
		var seen []string
		for _, e := range entries {
			seen = append(seen, e.Node.Node)
		}
		return !slices.ContainsFunc(want, func(n string) bool { return !slices.Contains(seen, n) }), "it sees " + strings.Join(seen, ", "), nil
	})
}

// sidecarStatus is the worst status of a sidecar's checks in hc, or
// "missing" when it has none there yet.
func sidecarStatus(hc api.HealthChecks, s *sidecar) string {
	n := 0
	worst := api.HealthPassing
	for _, ch := range hc {
		if ch.Node != s.host.Name() || ch.ServiceID != sidecarID(s.service) {
			continue
		}
		n++
		if ch.Status != api.HealthPassing {
			worst = ch.Status
		}
	}
	if n == 0 {
		return "missing"
	}
	return worst
}

// handOver waits, for every sidecar at once, until its public listener
// accepts a connection from the wire — the sidecar has its certificate and
// serves — then registers its TCP check as passing and removes its
// starting check. From then on consul's TCP check, every CheckInterval,
// says whether it still listens.
func (c *Cluster) handOver(ctx context.Context, cars []*sidecar) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, s := range cars {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.handOverOne(ctx, s); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *Cluster) handOverOne(ctx context.Context, s *sidecar) error {
	a, ok := c.agent(s.host.Name())
	if !ok {
		return fmt.Errorf("no consul agent on %s", s.host.Name())
	}
	starting := startingCheck(s.service).CheckID
	checks, err := a.api.Agent().ChecksWithFilterOpts("", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return fmt.Errorf("read the checks on %s: %w", s.host.Name(), err)
	}
	if _, ok := checks[starting]; !ok {
		return nil // handed over before: consul's TCP check is in charge
	}
	w := waitSpec{
		what:  fmt.Sprintf("%s on %s listening on %s", sidecarID(s.service), s.host.Name(), s.listener),
		procs: []procRef{{s.host.Name(), s.proc}, {a.host.Name(), a.proc}},
		limit: 30 * time.Second,
	}
	err = poll(ctx, w, 25*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		conn, err := c.dial(dctx, "tcp", s.listener.String())
		if err != nil {
			return false, "no listener yet", err
		}
		conn.Close()
		return true, "", nil
	})
	if err != nil {
		return err
	}
	chk := listeningCheck(s.service, s.listener, c.opts.CheckInterval, api.HealthPassing)
	reg := &api.AgentCheckRegistration{ID: chk.CheckID, Name: chk.Name, ServiceID: sidecarID(s.service), AgentServiceCheck: *chk}
	reg.CheckID = ""
	token := c.ServiceTokenSecret(s.name)
	if err := a.api.Agent().CheckRegisterOpts(reg, (&api.QueryOptions{Token: token}).WithContext(ctx)); err != nil {
		return fmt.Errorf("register the TCP check of %s on %s: %w", sidecarID(s.service), s.host.Name(), err)
	}
	if err := a.api.Agent().CheckDeregisterOpts(starting, (&api.QueryOptions{Token: token}).WithContext(ctx)); err != nil {
		return fmt.Errorf("remove the starting check of %s on %s: %w", sidecarID(s.service), s.host.Name(), err)
	}
	return nil
}

// Rebind starts the fortune service again on every fortune host, bound to
// 127.0.0.1:8181 instead of every address: only the sidecar on the same
// host can reach it now. It returns when the service answers on loopback.
func (c *Cluster) Rebind(ctx context.Context) error {
	for _, h := range c.hosts(infra.RoleService) {
		for _, p := range h.Procs() {
			if p.Name() != c.opts.FortuneProc {
				continue
			}
			if err := p.Stop(ctx, 2*time.Second); err != nil {
				select {
				case <-p.Done():
				default:
					return fmt.Errorf("stop the fortune service on %s: %w", h.Name(), err)
				}
			}
			select {
			case <-p.Done():
			case <-ctx.Done():
				return fmt.Errorf("stop the fortune service on %s: %w", h.Name(), ctx.Err())
			}
		}
		listen := "127.0.0.1:" + strconv.Itoa(FortunePort)
		argv := append([]string{c.opts.Self, "fortune", "serve", "--listen", listen}, c.opts.FortuneArgs...)
		proc, err := h.Start(ctx, infra.ProcSpec{Name: c.opts.FortuneProc, Argv: argv})
		if err != nil {
			return fmt.Errorf("start the fortune service on %s: %w", h.Name(), err)
		}
		w := waitSpec{what: "fortune service on " + h.Name() + " " + listen, procs: []procRef{{h.Name(), proc}}, limit: 15 * time.Second}
		err = poll(ctx, w, 100*time.Millisecond, func(ctx context.Context) (bool, string, error) {
			_, err := c.Fetch(ctx, h, listen)
			return err == nil, "", err
		})
		if err != nil {
			return err
		}
		c.say("fortune service on %s now listens on %s only", h.Name(), listen)
	}
	return nil
}

// errNoFortune is a fetch that read nothing: the connection closed first.
var errNoFortune = errors.New("no fortune: the connection closed without a byte")

// Fetch reads one fortune on host h from addr, as `zt-lab fortune get`
// (the seeds' nc) does there, and returns what it printed.
func (c *Cluster) Fetch(ctx context.Context, h infra.Host, addr string) (string, error) {
	out, err := h.Run(ctx, c.opts.Self, "fortune", "get", addr)
	if err != nil {
		if msg := strings.TrimSpace(string(out)); msg != "" {
			return string(out), fmt.Errorf("%w: %s", err, oneLine(msg))
		}
		return string(out), err
	}
	if strings.TrimSpace(string(out)) == "" {
		return "", errNoFortune
	}
	return string(out), nil
}
