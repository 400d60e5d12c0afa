package mesh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/infra"
)

// DefaultDatacenter is the lab's consul datacenter, the dc1 of every
// service's SPIFFE identity.
const DefaultDatacenter = "dc1"

// Options tune a Cluster. The zero value gives the lab's defaults.
type Options struct {
	// Datacenter is consul's datacenter name: DefaultDatacenter.
	Datacenter string
	// Self is the zt-lab executable that runs `fortune serve` and
	// `fortune get` on the hosts: os.Executable() when empty.
	Self string
	// FortuneArgs are added to `fortune serve` when the service is started
	// again on loopback (a --seed, say).
	FortuneArgs []string
	// FortuneProc is the name of the fortune service's process on its
	// hosts: "fortune".
	FortuneProc string
	// CheckInterval is how often a sidecar's TCP check runs: 10 s, consul's
	// own. It does not delay the first fortune (see Cluster.deploy).
	CheckInterval time.Duration
	// Progress receives a line for each thing done, for a scene's output.
	// It must not block.
	Progress func(line string)
	// Wire judges a flow between hosts as the sniffer sees it: the hook
	// for the "encrypted on the wire" checks. Nil leaves them out.
	Wire func(ctx context.Context, f Flow) check.Check
}

func (o Options) withDefaults() (Options, error) {
	if o.Datacenter == "" {
		o.Datacenter = DefaultDatacenter
	}
	if o.Self == "" {
		self, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("find the zt-lab executable: %w", err)
		}
		o.Self = self
	}
	if o.FortuneProc == "" {
		o.FortuneProc = "fortune"
	}
	if o.CheckInterval <= 0 {
		o.CheckInterval = 10 * time.Second
	}
	return o, nil
}

// Cluster is a Consul cluster on a lab's hosts: servers on the consul
// hosts, client agents on the service and consumer hosts, and the
// sidecars of the services registered with them.
type Cluster struct {
	lab       infra.Lab
	bin       Binary
	opts      Options
	gossipKey string
	ca        *CA
	connectCA string // the private key of the Connect CA's first root (PEM)
	tokens    *tokens

	mu        sync.Mutex
	keys      []PrivateKey        // every private key the lab made or received
	agents    map[string]*agent   // by host name
	sidecars  map[string]*sidecar // by host name + "/" + service ID
	consumers []Consumer
	timings   Timings

	// portsFree is checkPortsFree; unit tests, which must not dial out of
	// the machine, replace it.
	portsFree func(ctx context.Context, h infra.Host, server bool) error
}

// agent is one consul agent and the API client that talks to it.
type agent struct {
	host   infra.Host
	server bool
	api    *api.Client
	proc   infra.Proc
}

// Timings says when each stage of bringing the mesh up finished, counted
// from the start of Up.
type Timings struct {
	Start           time.Time
	ServersUp       time.Duration // every server answers its HTTP API
	Leader          time.Duration // a leader, and every server in the catalog
	ConnectCA       time.Duration // the Connect CA has an active root
	ClientsJoined   time.Duration // every agent alive in serf
	SidecarsHealthy time.Duration // every sidecar passing its checks
}

// New prepares a cluster on lab's hosts, with its own gossip key and RPC
// CA. It starts nothing.
func New(lab infra.Lab, bin Binary, opts Options) (*Cluster, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if bin.Path == "" {
		return nil, fmt.Errorf("%w: %s", ErrNoConsul, howToGet)
	}
	c := &Cluster{lab: lab, bin: bin, opts: opts, agents: map[string]*agent{}, sidecars: map[string]*sidecar{}}
	c.portsFree = c.checkPortsFree
	if n := len(c.hosts(infra.RoleConsul)); n == 0 {
		return nil, errors.New("the lab has no consul hosts to run servers on")
	}
	if c.gossipKey, err = NewGossipKey(); err != nil {
		return nil, err
	}
	if c.ca, err = NewCA("zt-lab " + lab.ID() + " consul agent CA"); err != nil {
		return nil, err
	}
	if c.tokens, err = newTokens(); err != nil {
		return nil, err
	}
	caKey, err := c.ca.KeyPEM()
	if err != nil {
		return nil, err
	}
	c.noteKey("RPC CA key", caKey)
	if c.connectCA, err = NewConnectCAKey(); err != nil {
		return nil, err
	}
	c.noteKey("Connect CA root key (first)", []byte(c.connectCA))
	return c, nil
}

// CA is the CA that signed the servers' RPC certificates.
func (c *Cluster) CA() *CA { return c.ca }

// Timings says how long each stage of Up and Secure took.
func (c *Cluster) Timings() Timings {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timings
}

func (c *Cluster) say(format string, args ...any) {
	if c.opts.Progress != nil {
		c.opts.Progress(fmt.Sprintf(format, args...))
	}
}

// hosts lists the lab's hosts of the given roles, by name.
func (c *Cluster) hosts(roles ...infra.Role) []infra.Host {
	var hs []infra.Host
	for _, h := range c.lab.Hosts() {
		if slices.Contains(roles, h.Role()) {
			hs = append(hs, h)
		}
	}
	slices.SortFunc(hs, func(a, b infra.Host) int { return strings.Compare(a.Name(), b.Name()) })
	return hs
}

func (c *Cluster) serverAddrs() []netip.Addr {
	var as []netip.Addr
	for _, h := range c.hosts(infra.RoleConsul) {
		as = append(as, h.Addr())
	}
	return as
}

func (c *Cluster) agent(host string) (*agent, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.agents[host]
	return a, ok
}

// agentsWhere lists the running agents that match keep, by host name.
func (c *Cluster) agentsWhere(keep func(*agent) bool) []*agent {
	c.mu.Lock()
	defer c.mu.Unlock()
	var as []*agent
	for _, a := range c.agents {
		if keep(a) {
			as = append(as, a)
		}
	}
	slices.SortFunc(as, func(a, b *agent) int { return strings.Compare(a.host.Name(), b.host.Name()) })
	return as
}

func (c *Cluster) servers() []*agent {
	return c.agentsWhere(func(a *agent) bool { return a.server })
}

func (c *Cluster) allAgents() []*agent {
	return c.agentsWhere(func(*agent) bool { return true })
}

// serverAPI is the API of the first server, where the lab asks about the
// cluster as a whole (the catalog, raft, the CA).
func (c *Cluster) serverAPI() (*api.Client, error) {
	s := c.servers()
	if len(s) == 0 {
		return nil, errors.New("no consul server is running: bring the mesh up first")
	}
	return s[0].api, nil
}

func refs(as []*agent) []procRef {
	var r []procRef
	for _, a := range as {
		r = append(r, procRef{a.host.Name(), a.proc})
	}
	return r
}

// newAPI returns zt-lab's client for the agent on h, with the management
// token. Agents listen on their host's loopback only, so the client
// connects from the host itself (infra.Host.DialContext: inside its
// network namespace, or through its SSH connection): whatever address the
// HTTP client asks for, it reaches 127.0.0.1:8500 there, and no API call
// of the lab crosses the wire. It never goes through an HTTP proxy from
// the environment.
func (c *Cluster) newAPI(h infra.Host) (*api.Client, error) {
	return clientFor(h, c.tokens.management)
}

// agentAPIAddr is where every agent's HTTP API listens, on its own host.
var agentAPIAddr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), HTTPPort).String()

// dial connects to a lab address as an outsider on the wire would:
// directly when this process is on the lab's wire (the local lab), else
// through the lab (remote hosts, where it connects from the host that has
// the address, so zt-lab's own probes never show on the wire the scenes
// sniff).
func (c *Cluster) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if d, ok := c.lab.(infra.Dialer); ok {
		return d.DialContext(ctx, network, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// Up starts the servers, waits for a leader and the Connect CA's first
// root, then starts a client agent on every service and consumer host and
// waits until every agent is alive. Clients start after the CA is up
// because they fetch their RPC certificate from it (auto_encrypt) and back
// off for seconds when it is not there yet.
func (c *Cluster) Up(ctx context.Context) error {
	if err := c.UpServers(ctx); err != nil {
		return err
	}
	return c.UpClients(ctx)
}

// Join starts a client agent on a host added to the lab after Up (a new
// fortune host, a rogue) and waits until it is alive.
func (c *Cluster) Join(ctx context.Context, h infra.Host) error {
	if _, ok := c.agent(h.Name()); ok {
		return nil
	}
	// auto_encrypt asks for the client's certificate with its agent token
	// as it starts: the token must exist by then.
	if err := c.createAgentTokens(ctx, []infra.Host{h}); err != nil {
		return err
	}
	if err := c.startAgents(ctx, []infra.Host{h}, false); err != nil {
		return err
	}
	return c.waitAlive(ctx)
}

// startAgents starts an agent on each host at once and returns when every
// one answers its HTTP API.
func (c *Cluster) startAgents(ctx context.Context, hosts []infra.Host, server bool) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, h := range hosts {
		if _, ok := c.agent(h.Name()); ok {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.startAgent(ctx, h, server); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

func (c *Cluster) startAgent(ctx context.Context, h infra.Host, server bool) error {
	kind := "client"
	if server {
		kind = "server"
	}
	if err := c.portsFree(ctx, h, server); err != nil {
		return err
	}
	cfgPath, err := c.writeAgentFiles(ctx, h, server)
	if err != nil {
		return err
	}
	client, err := c.newAPI(h)
	if err != nil {
		return err
	}
	proc, err := h.Start(ctx, infra.ProcSpec{
		Name: "consul",
		Argv: []string{c.bin.Path, "agent", "-config-file", cfgPath},
		Env:  RuntimeEnv,
	})
	if err != nil {
		return fmt.Errorf("start consul %s on %s: %w", kind, h.Name(), err)
	}
	a := &agent{host: h, server: server, api: client, proc: proc}
	c.mu.Lock()
	c.agents[h.Name()] = a
	c.mu.Unlock()
	w := waitSpec{what: fmt.Sprintf("consul %s on %s", kind, h.Name()), procs: refs([]*agent{a}), limit: 30 * time.Second}
	err = poll(ctx, w, 50*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		// Any answer of consul's counts: before a leader has created the
		// management token, a server refuses it (403 ACL not found).
		_, err := client.Agent().Self()
		var se api.StatusError
		if err != nil && !errors.As(err, &se) {
			return false, "its HTTP API not answering", err
		}
		return true, "", nil
	})
	if err != nil {
		if tail := strings.Join(proc.Tail(tailLines), "\n"); strings.Contains(tail, "address already in use") {
			err = fmt.Errorf("port conflict on %s: %w", h.Name(), err)
		}
		return err
	}
	c.say("consul %s on %s (%s) started, pid %d", kind, h.Name(), h.Addr(), proc.PID())
	return nil
}

// checkPortsFree catches a port the agent needs that something on the
// host already listens on, before consul fails on it: the HTTP API's on
// the host's loopback (where zt-lab will send the management token: it
// must be consul that answers there) and the RPC and serf ports on the
// host's address. Each is dialed from the host itself. (gRPC, on
// loopback, is left to the agent: a conflict there shows in its log.)
func (c *Cluster) checkPortsFree(ctx context.Context, h infra.Host, server bool) error {
	loopback := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	addrs := []netip.AddrPort{netip.AddrPortFrom(loopback, HTTPPort), netip.AddrPortFrom(h.Addr(), SerfPort)}
	if server {
		addrs = append(addrs, netip.AddrPortFrom(h.Addr(), ServerPort))
	}
	for _, ap := range addrs {
		dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		conn, err := h.DialContext(dctx, "tcp", ap.String())
		cancel()
		if err == nil {
			conn.Close()
			return fmt.Errorf("port conflict on %s: something already listens on %s, which consul needs: stop it (zt-lab exec %s -- ss -ltnp shows what) and try again",
				h.Name(), ap, h.Name())
		}
	}
	return nil
}

// writeAgentFiles writes an agent's TLS material and configuration to its
// host and returns the configuration's path there.
func (c *Cluster) writeAgentFiles(ctx context.Context, h infra.Host, server bool) (string, error) {
	agentToken, err := c.agentSecret(h.Name())
	if err != nil {
		return "", err
	}
	spec := AgentSpec{
		Node:       h.Name(),
		Addr:       h.Addr(),
		Server:     server,
		Servers:    c.serverAddrs(),
		Datacenter: c.opts.Datacenter,
		GossipKey:  c.gossipKey,
		Dir:        h.DataDir(),
		AgentToken: agentToken,
	}
	if server {
		spec.ManagementToken = c.tokens.management
		spec.ConnectCAKey = c.connectCA
	}
	cfg, err := spec.Config()
	if err != nil {
		return "", err
	}
	files := []hostFile{{caFile, c.ca.PEM(), 0o644}, {learnerTokenFile, []byte(c.tokens.learner + "\n"), 0o600}}
	if server {
		kp, err := c.ca.ServerCert(c.opts.Datacenter, h.Name(), h.Addr())
		if err != nil {
			return "", err
		}
		files = append(files, hostFile{serverCertFile, kp.Cert, 0o644}, hostFile{serverKeyFile, kp.Key, 0o600})
		c.noteKey("RPC key of "+h.Name(), kp.Key)
	}
	for _, f := range files {
		if _, err := h.WriteFile(ctx, f.name, f.data, f.perm); err != nil {
			return "", fmt.Errorf("write %s to %s: %w", f.name, h.Name(), err)
		}
	}
	path, err := h.WriteFile(ctx, configFile, cfg, 0o600)
	if err != nil {
		return "", fmt.Errorf("write %s to %s: %w", configFile, h.Name(), err)
	}
	return path, nil
}

// hostFile is a file the lab writes to a host.
type hostFile struct {
	name string
	data []byte
	perm os.FileMode
}

// waitLeader waits until the servers have a leader and the leader has put
// every server in the catalog as the "consul" service, passing.
func (c *Cluster) waitLeader(ctx context.Context) (string, error) {
	srv, err := c.serverAPI()
	if err != nil {
		return "", err
	}
	want := len(c.servers())
	w := waitSpec{what: "leader election", procs: refs(c.servers()), limit: 30 * time.Second}
	_, err = await(ctx, w, func(q *api.QueryOptions) ([]*api.ServiceEntry, *api.QueryMeta, error) {
		return srv.Health().Service("consul", "", true, q)
	}, func(es []*api.ServiceEntry) (bool, string) {
		var names []string
		for _, e := range es {
			names = append(names, e.Node.Node)
		}
		slices.Sort(names)
		return len(es) >= want, fmt.Sprintf("%d of %d servers in the catalog %v", len(es), want, names)
	})
	if err != nil {
		return "", err
	}
	leader, err := srv.Status().Leader()
	if err != nil {
		return "", fmt.Errorf("ask for the leader: %w", err)
	}
	return c.nodeOf(leader), nil
}

// nodeOf names the host behind a raft address "198.18.0.11:8300".
func (c *Cluster) nodeOf(raftAddr string) string {
	ap, err := netip.ParseAddrPort(raftAddr)
	if err != nil {
		return raftAddr
	}
	for _, h := range c.lab.Hosts() {
		if h.Addr() == ap.Addr() {
			return h.Name() + " (" + raftAddr + ")"
		}
	}
	return raftAddr
}

// waitCARoot waits until the Connect CA has an active root.
func (c *Cluster) waitCARoot(ctx context.Context) (*api.CARoot, error) {
	srv, err := c.serverAPI()
	if err != nil {
		return nil, err
	}
	w := waitSpec{what: "the Connect CA's first root", procs: refs(c.servers()), limit: 30 * time.Second}
	roots, err := await(ctx, w, srv.Connect().CARoots, func(l *api.CARootList) (bool, string) {
		return activeRoot(l) != nil, fmt.Sprintf("%d roots, none active", len(l.Roots))
	})
	if err != nil {
		return nil, err
	}
	return activeRoot(roots), nil
}

func activeRoot(l *api.CARootList) *api.CARoot {
	if l == nil {
		return nil
	}
	for _, r := range l.Roots {
		if r.Active {
			return r
		}
	}
	return nil
}

// waitAlive waits until every agent the cluster started is in the catalog
// with its serf health check passing: alive, as `consul members` says.
func (c *Cluster) waitAlive(ctx context.Context) error {
	srv, err := c.serverAPI()
	if err != nil {
		return err
	}
	var want []string
	for _, a := range c.allAgents() {
		want = append(want, a.host.Name())
	}
	w := waitSpec{what: "every agent alive", procs: refs(c.allAgents()), limit: 30 * time.Second}
	_, err = await(ctx, w, func(q *api.QueryOptions) (api.HealthChecks, *api.QueryMeta, error) {
		return srv.Health().State(api.HealthAny, q)
	}, func(hc api.HealthChecks) (bool, string) {
		alive := map[string]bool{}
		for _, ch := range hc {
			if ch.CheckID == "serfHealth" && ch.Status == api.HealthPassing {
				alive[ch.Node] = true
			}
		}
		var missing []string
		for _, n := range want {
			if !alive[n] {
				missing = append(missing, n)
			}
		}
		return len(missing) == 0, fmt.Sprintf("%d of %d alive, not yet %v", len(want)-len(missing), len(want), missing)
	})
	return err
}

// Close stops the sidecars, then the client agents (which leave the
// cluster), then the servers. The lab's own Close kills whatever is left.
func (c *Cluster) Close(ctx context.Context) error {
	c.mu.Lock()
	var sidecars []infra.Proc
	for _, s := range c.sidecars {
		sidecars = append(sidecars, s.proc)
	}
	c.sidecars = map[string]*sidecar{}
	c.mu.Unlock()
	errs := []error{stopAll(ctx, sidecars)}
	var clients, servers []infra.Proc
	for _, a := range c.allAgents() {
		if a.server {
			servers = append(servers, a.proc)
		} else {
			clients = append(clients, a.proc)
		}
	}
	errs = append(errs, stopAll(ctx, clients), stopAll(ctx, servers))
	c.mu.Lock()
	c.agents = map[string]*agent{}
	c.mu.Unlock()
	return errors.Join(errs...)
}

// stopAll stops processes at once, each with a grace period, and ignores
// those already gone.
func stopAll(ctx context.Context, procs []infra.Proc) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, p := range procs {
		select {
		case <-p.Done():
			continue
		default:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Stop(ctx, 5*time.Second); err != nil {
				select {
				case <-p.Done():
					return // it ended its own way: a signal exit is not a failure to stop
				default:
				}
				mu.Lock()
				errs = append(errs, fmt.Errorf("stop %s (pid %d): %w", p.Name(), p.PID(), err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
