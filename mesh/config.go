package mesh

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path"
	"time"
)

// Ports every agent of the lab uses. The HTTP API (and gRPC) listen on the
// host's loopback only: the sidecars, a learner's `consul members` and
// zt-lab itself (which connects from the host, see Cluster.newAPI) find
// it there, and nobody on the wire reaches it.
const (
	HTTPPort   = 8500
	GRPCPort   = 8502 // on clients, for Envoy, should a later scene swap the built-in proxy for it
	ServerPort = 8300 // RPC, TLS
	SerfPort   = 8301 // LAN gossip, encrypted
)

// Files of an agent, relative to its host's DataDir.
const (
	agentDir       = "consul"
	configFile     = "consul/consul.json"
	caFile         = "consul/tls/ca.pem"
	serverCertFile = "consul/tls/server.pem"
	serverKeyFile  = "consul/tls/server-key.pem"
	agentDataDir   = "consul/data"
)

// RuntimeEnv is the Go runtime's settings for every consul process the
// lab starts, agents and built-in proxies alike. Each holds a live heap of
// a few MB, which Go's default (GOGC=100) lets grow to twice its size
// before it collects; GOGC=25 collects at 1.25 times. One P each
// (GOMAXPROCS=1) keeps one set of per-P caches instead of one per core,
// and the lab's agents, which answer a handful of requests a second, never
// need two cores at once. Measured here on the five agents and two proxies
// with the mesh up (PSS, median of 3): 201.3 MB at GOGC=50, 196.8 with
// GOMAXPROCS=1, 190.1 with GOGC=25 as well, 184.9 at GOGC=10; after the
// bench's fetches through the mesh, 198.1 at GOGC=25 and 189.3 at GOGC=10.
// The price is CPU: the agents and proxies of a whole walkthrough used
// 10.5 s of it at GOGC=10 against 7.9 s at GOGC=25, on a run that lasts
// about 50 s. On the whole lab scaled out (8 agents, 4 or 5 proxies): 416
// MB at Go's defaults, 384 MB at GOGC=50, 389 at GOGC=25 with one P, 360
// at GOGC=10. A soft limit (GOMEMLIMIT) saves more and costs too much: at
// GOGC=25 and 24 MiB, 356 MB, but the first fetch through the mesh failed
// in two runs of three; at 20 MiB the agents spent ten times the CPU
// collecting. GOGC=10 was used for a while and dropped for GOGC=25 once
// the lab's consul lost its cloud code (tools/consul/fastraft.sh), which
// took the lab from 230 to 184 MB: the 9 MB GOGC=10 saves then no longer
// decides the target (≤ 235 MB), and the third more CPU it costs is what
// a workshop server running many labs on few cores runs out of first (8
// labs at once on 2 cores failed a check under that load).
var RuntimeEnv = []string{"GOGC=25", "GOMAXPROCS=1"}

// AgentSpec is what makes one agent's configuration.
type AgentSpec struct {
	Node       string
	Addr       netip.Addr
	Server     bool
	Servers    []netip.Addr // every server of the cluster; an agent joins the others
	Datacenter string
	GossipKey  string
	// Dir is the host's DataDir; the agent's files live under it.
	Dir string
	// ManagementToken is the secret of the lab's management token, which
	// a server creates when it leads (acl.tokens.initial_management). Only
	// servers hold it: a client's configuration never does.
	ManagementToken string
	// ConnectCAKey, on a server, is the private key (PEM) the Connect CA
	// makes its first root from (connect.ca_config.private_key), so that
	// zt-lab knows every CA key there is and can look for each on the
	// wire. Consul reads it only when it first sets its CA up.
	ConnectCAKey string
	// AgentToken is the secret of the agent's own token (a node identity:
	// node:write on its node), which it uses for its anti-entropy and, on
	// a client, to fetch its RPC certificate (auto_encrypt).
	AgentToken string
}

// agentConfig is the JSON an agent reads: only the keys the lab sets, in
// the order a learner reads them.
type agentConfig struct {
	NodeName        string       `json:"node_name"`
	Datacenter      string       `json:"datacenter"`
	Server          bool         `json:"server"`
	BootstrapExpect int          `json:"bootstrap_expect,omitempty"`
	DataDir         string       `json:"data_dir"`
	LogLevel        string       `json:"log_level"`
	BindAddr        string       `json:"bind_addr"`
	ClientAddr      string       `json:"client_addr"`
	RetryJoin       []string     `json:"retry_join"`
	RetryInterval   string       `json:"retry_interval"`
	Encrypt         string       `json:"encrypt"`
	GossipLAN       gossipLAN    `json:"gossip_lan"`
	Performance     *performance `json:"performance,omitempty"`
	Ports           ports        `json:"ports"`
	TLS             tlsConfig    `json:"tls"`
	AutoEncrypt     autoEncrypt  `json:"auto_encrypt"`
	Connect         connect      `json:"connect"`
	ACL             aclConfig    `json:"acl"`
	// DefaultIntentionPolicy "allow" decides a connection no intention
	// matches, as the lab did before it had ACLs: intentions default to
	// the ACL default policy (deny) otherwise, and the mesh would refuse
	// fcc before the access-control scene writes its first intention
	// (which is then "deny * -> *").
	DefaultIntentionPolicy string `json:"default_intention_policy"`
	LeaveOnTerminate       bool   `json:"leave_on_terminate"`
	DisableUpdateCheck     bool   `json:"disable_update_check"`
}

// gossipLAN is serf's failure detection, tuned for a lab on one wire.
// Consul's defaults (probe every 1 s, suspicion ×4) suit a data centre and
// take 4-6 s to give up on a node; here every agent probes one of its
// peers every 200 ms and a node, once one agent found it silent, is
// declared failed 2 × 200 ms later
// (suspicion_mult × probe_interval × max(1, log10(nodes)): 400 ms up to
// ten nodes) if it has not refuted meanwhile. With suspicion_mult ≥ 3
// memberlist waits for suspicion_mult - 2 other agents to confirm, and,
// until they do, up to six times as long: seen here, the leader (whose
// verdict is the one the catalog takes) suspected a crashed fcs01 alone,
// ignored the others' verdicts, and declared it failed 3.6 s after its
// probe with 0 confirmations, 4 s after the crash. At 2 no confirmation is
// expected and the timeout is the short one from the start. The trade-off,
// told in the resilience scene: a faster verdict is a less patient one,
// and on a busy machine a slow node can be called failed and then come
// back.
type gossipLAN struct {
	ProbeInterval  string `json:"probe_interval"`
	ProbeTimeout   string `json:"probe_timeout"`
	SuspicionMult  int    `json:"suspicion_mult"`
	GossipInterval string `json:"gossip_interval"`
	RetransmitMult int    `json:"retransmit_mult"`
}

// The lab's failure detection, and Consul's own, as the resilience scene
// tells them: every agent probes one peer each GossipProbeInterval, and
// one that stays silent is declared failed GossipSuspicionTimeout after
// the failed probe (for up to ten nodes; memberlist scales it by
// log10(nodes) beyond).
const (
	GossipProbeInterval    = 200 * time.Millisecond
	GossipSuspicionMult    = 2
	GossipSuspicionTimeout = GossipSuspicionMult * GossipProbeInterval

	ConsulProbeInterval = time.Second // gossip_lan.probe_interval's default
	ConsulSuspicionMult = 4           // gossip_lan.suspicion_mult's default
)

// RaftTimeout is the heartbeat and election timeout of raft in the lab's
// consul: half of raft's stock 1 s, which tools/consul/fastraft.sh
// patches in (a stock consul cannot go below 1 s).
const RaftTimeout = 500 * time.Millisecond

// labGossip is the lab's gossip tuning.
var labGossip = gossipLAN{ProbeInterval: GossipProbeInterval.String(), ProbeTimeout: "100ms", SuspicionMult: GossipSuspicionMult, GossipInterval: "100ms", RetransmitMult: 3}

type performance struct {
	RaftMultiplier int `json:"raft_multiplier"`
}

type ports struct {
	HTTP    int  `json:"http"`
	GRPC    int  `json:"grpc"`
	GRPCTLS *int `json:"grpc_tls,omitempty"`
	DNS     int  `json:"dns"`
}

type tlsConfig struct {
	Defaults    tlsDefaults `json:"defaults"`
	InternalRPC internalRPC `json:"internal_rpc"`
}

type tlsDefaults struct {
	CAFile         string `json:"ca_file"`
	CertFile       string `json:"cert_file,omitempty"`
	KeyFile        string `json:"key_file,omitempty"`
	VerifyIncoming bool   `json:"verify_incoming"`
	VerifyOutgoing bool   `json:"verify_outgoing"`
}

type internalRPC struct {
	VerifyServerHostname bool `json:"verify_server_hostname"`
}

type autoEncrypt struct {
	AllowTLS bool `json:"allow_tls,omitempty"`
	TLS      bool `json:"tls,omitempty"`
}

type connect struct {
	Enabled    bool             `json:"enabled"`
	CAProvider string           `json:"ca_provider,omitempty"`
	CAConfig   *connectCAConfig `json:"ca_config,omitempty"`
}

type connectCAConfig struct {
	PrivateKey string `json:"private_key"`
}

// aclConfig turns Consul's ACLs on with nothing allowed by default: every
// request needs a token whose policy allows it (see acl.go for the tokens
// the lab makes). Token persistence stays off: every token an agent needs
// is in its configuration, and none is set through the API to persist.
type aclConfig struct {
	Enabled       bool   `json:"enabled"`
	DefaultPolicy string `json:"default_policy"`
	// DownPolicy extend-cache: an agent that cannot reach the servers
	// keeps using the tokens it has resolved, so a partition scene does
	// not also lock every sidecar out.
	DownPolicy string    `json:"down_policy"`
	Tokens     aclTokens `json:"tokens"`
}

type aclTokens struct {
	InitialManagement string `json:"initial_management,omitempty"`
	Agent             string `json:"agent"`
}

// Config renders the agent's configuration file.
//
// Servers expect every server (bootstrap_expect) and join the others every
// 200 ms until they do: with consul's default 30 s retry interval one agent
// of a lab took 25 s to join. raft_multiplier 1 is the production timing
// (the default, 5, suits slow cloud VMs), and Consul's floor; the lab's
// consul halves raft's base below it (tools/consul/fastraft.sh), so a
// leader is elected, or replaced, in about a second. Clients take their RPC certificate from the servers
// (auto_encrypt), so only servers hold keys made by the lab's CA. DNS is
// off: nothing in the lab resolves through it.
func (a AgentSpec) Config() ([]byte, error) {
	if err := a.validate(); err != nil {
		return nil, err
	}
	var join []string
	for _, s := range a.Servers {
		if s != a.Addr {
			join = append(join, s.String())
		}
	}
	c := agentConfig{
		NodeName:      a.Node,
		Datacenter:    a.Datacenter,
		Server:        a.Server,
		DataDir:       path.Join(a.Dir, agentDataDir),
		LogLevel:      "INFO",
		BindAddr:      a.Addr.String(),
		ClientAddr:    "127.0.0.1",
		RetryJoin:     join,
		RetryInterval: "200ms",
		Encrypt:       a.GossipKey,
		GossipLAN:     labGossip,
		Ports:         ports{HTTP: HTTPPort, GRPC: GRPCPort, DNS: -1},
		TLS: tlsConfig{
			Defaults: tlsDefaults{
				CAFile:         path.Join(a.Dir, caFile),
				VerifyIncoming: true,
				VerifyOutgoing: true,
			},
			InternalRPC: internalRPC{VerifyServerHostname: true},
		},
		Connect: connect{Enabled: true},
		ACL: aclConfig{
			Enabled:       true,
			DefaultPolicy: "deny",
			DownPolicy:    "extend-cache",
			Tokens:        aclTokens{Agent: a.AgentToken},
		},
		DefaultIntentionPolicy: "allow",
		DisableUpdateCheck:     true,
	}
	if a.Server {
		c.BootstrapExpect = len(a.Servers)
		c.Performance = &performance{RaftMultiplier: 1}
		c.TLS.Defaults.CertFile = path.Join(a.Dir, serverCertFile)
		c.TLS.Defaults.KeyFile = path.Join(a.Dir, serverKeyFile)
		c.AutoEncrypt.AllowTLS = true
		c.ACL.Tokens.InitialManagement = a.ManagementToken
		if a.ConnectCAKey != "" {
			c.Connect.CAProvider = "consul"
			c.Connect.CAConfig = &connectCAConfig{PrivateKey: a.ConnectCAKey}
		}
		// Nothing asks a server for gRPC (the built-in proxy speaks HTTP to
		// its local agent), and with a server certificate consul refuses a
		// plaintext gRPC port anyway.
		off := -1
		c.Ports.GRPC, c.Ports.GRPCTLS = -1, &off
	} else {
		c.AutoEncrypt.TLS = true
		// A client that leaves on SIGTERM is gone from the catalog at once,
		// rather than "failed" until serf gives up on it.
		c.LeaveOnTerminate = true
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func (a AgentSpec) validate() error {
	switch {
	case a.Node == "":
		return errors.New("agent config: no node name")
	case !a.Addr.Is4():
		return fmt.Errorf("agent config for %s: address %v is not IPv4", a.Node, a.Addr)
	case len(a.Servers) == 0:
		return fmt.Errorf("agent config for %s: no servers to join", a.Node)
	case a.Datacenter == "":
		return fmt.Errorf("agent config for %s: no datacenter", a.Node)
	case a.GossipKey == "":
		return fmt.Errorf("agent config for %s: no gossip key", a.Node)
	case a.Dir == "":
		return fmt.Errorf("agent config for %s: no directory", a.Node)
	case a.AgentToken == "":
		return fmt.Errorf("agent config for %s: no agent token", a.Node)
	case a.Server && a.ManagementToken == "":
		return fmt.Errorf("agent config for %s: a server needs the management token", a.Node)
	case !a.Server && a.ManagementToken != "":
		return fmt.Errorf("agent config for %s: only servers hold the management token", a.Node)
	case !a.Server && a.ConnectCAKey != "":
		return fmt.Errorf("agent config for %s: only servers hold the Connect CA's key", a.Node)
	}
	return nil
}
