package mesh

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ztlab/zt-lab/infra"
)

// consulState is what a fake Consul tells the checks: the answers of its
// HTTP API, which a test sets to the situation it wants a check to see.
// Every agent of the lab gets its own fake (an httptest server on
// loopback), so one agent can answer unlike the others.
type consulState struct {
	mu      sync.Mutex
	raft    api.RaftConfiguration
	leader  string            // what /v1/status/leader says
	leaders map[string]string // per host, in place of leader
	members []*api.AgentMember
	health  api.HealthChecks
	// services are the agents' registrations, by ID: the sidecars'
	// /v1/agent/service/ID.
	services map[string]*api.AgentService
	roots    api.CARootList
	leaves   map[string]*api.LeafCert
	allowed  map[string]bool // source service → authorized to fcs
	broken   map[string]bool // API paths that answer 500
	// catalog and connect are /v1/catalog/service/NAME and
	// /v1/catalog/connect/NAME, by NAME; hostServices is each host's
	// /v1/agent/services.
	catalog, connect map[string][]*api.CatalogService
	hostServices     map[string]map[string]*api.AgentService
	// rafts is a host's own raft configuration, in place of raft;
	// expect is each host's bootstrap_expect in /v1/agent/self.
	rafts  map[string]api.RaftConfiguration
	expect map[string]int
	// views is a host's own /v1/agent/members, in place of members;
	// joined calls each /v1/agent/join/ADDR a host's agent is asked for.
	views  map[string][]*api.AgentMember
	joined func(s *consulState, host, addr string)
}

func (s *consulState) set(f func(*consulState)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// handler is the HTTP API of host's agent.
func (s *consulState) handler(host string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.broken[r.URL.Path] {
			http.Error(w, "rpc error making call: No cluster leader", http.StatusInternalServerError)
			return
		}
		w.Header().Set("X-Consul-Index", "7")
		var v any
		switch p := r.URL.Path; {
		case p == "/v1/operator/raft/configuration":
			v = s.raft
			if r, ok := s.rafts[host]; ok {
				v = r
			}
		case p == "/v1/agent/self":
			debug := map[string]any{}
			if n, ok := s.expect[host]; ok {
				debug["BootstrapExpect"] = n
			}
			v = map[string]any{"DebugConfig": debug}
		case p == "/v1/status/leader":
			l, ok := s.leaders[host]
			if !ok {
				l = s.leader
			}
			v = l
		case p == "/v1/agent/members":
			v = s.members
			if m, ok := s.views[host]; ok {
				v = m
			}
		case strings.HasPrefix(p, "/v1/agent/join/") && r.Method == http.MethodPut:
			if s.joined != nil {
				s.joined(s, host, strings.TrimPrefix(p, "/v1/agent/join/"))
			}
			return
		case p == "/v1/health/state/any":
			v = s.health
		case strings.HasPrefix(p, "/v1/agent/service/"):
			reg, ok := s.services[strings.TrimPrefix(p, "/v1/agent/service/")]
			if !ok {
				http.Error(w, "unknown service ID", http.StatusNotFound)
				return
			}
			v = reg
		case strings.HasPrefix(p, "/v1/catalog/service/"):
			v = orEmpty(s.catalog[strings.TrimPrefix(p, "/v1/catalog/service/")])
		case strings.HasPrefix(p, "/v1/catalog/connect/"):
			v = orEmpty(s.connect[strings.TrimPrefix(p, "/v1/catalog/connect/")])
		case p == "/v1/agent/services":
			v = s.hostServices[host]
			if v == nil {
				v = map[string]*api.AgentService{}
			}
		case p == "/v1/connect/ca/roots":
			v = s.roots
		case strings.HasPrefix(p, "/v1/agent/connect/ca/leaf/"):
			l, ok := s.leaves[strings.TrimPrefix(p, "/v1/agent/connect/ca/leaf/")]
			if !ok {
				http.Error(w, "no leaf", http.StatusNotFound)
				return
			}
			v = l
		case p == "/v1/agent/connect/authorize":
			var q api.AgentAuthorizeParams
			if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			src := q.ClientCertURI[strings.LastIndex(q.ClientCertURI, "/")+1:]
			reason := fmt.Sprintf("Matched L4 intention: %s => %s (deny)", "*", q.Target)
			if s.allowed[src] {
				reason = fmt.Sprintf("Matched L4 intention: %s => %s (allow)", src, q.Target)
			}
			v = api.AgentAuthorize{Authorized: s.allowed[src], Reason: reason}
		default:
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(v)
	})
}

// orEmpty is what Consul answers for a list with nothing in it: [], not null.
func orEmpty(l []*api.CatalogService) []*api.CatalogService {
	if l == nil {
		return []*api.CatalogService{}
	}
	return l
}

// checkedLab is a lab on paper whose hosts' Run answers from a script, and
// whose wire is a table from lab addresses to loopback listeners: what is
// not in it refuses the connection, as a closed port does.
type checkedLab struct {
	*fakeLab
	mu     sync.Mutex
	routes map[string]string // lab address:port → loopback address:port
}

func (l *checkedLab) route(labAddr, to string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.routes[labAddr] = to
}

// DialContext connects to a lab address through its route, or refuses.
func (l *checkedLab) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	l.mu.Lock()
	to, ok := l.routes[addr]
	l.mu.Unlock()
	if !ok {
		return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	var d net.Dialer
	return d.DialContext(ctx, network, to)
}

var _ infra.Dialer = (*checkedLab)(nil)

// checkedCluster is a cluster whose agents all run, each answering from
// st, with fcs and fcc behind sidecars as Secure leaves them.
type checkedCluster struct {
	*Cluster
	lab   *checkedLab
	st    *consulState
	procs map[string]*fakeProc // sidecar procs, by host/service
}

func newCheckedCluster(t *testing.T, st *consulState) *checkedCluster {
	t.Helper()
	fl := newFakeLab(t, nil)
	fl.hosts = append(fl.hosts, &fakeHost{spec: infra.HostSpec{Name: "rogue00", Role: infra.RoleOther}, addr: netip.MustParseAddr("198.18.0.40"), dir: t.TempDir()})
	lab := &checkedLab{fakeLab: fl, routes: map[string]string{}}
	c, err := New(lab, Binary{Path: "/opt/consul"}, Options{Self: "/opt/zt-lab"})
	if err != nil {
		t.Fatal(err)
	}
	cc := &checkedCluster{Cluster: c, lab: lab, st: st, procs: map[string]*fakeProc{}}
	for _, h := range fl.hosts {
		srv := httptest.NewServer(st.handler(h.Name()))
		t.Cleanup(srv.Close)
		client, err := api.NewClient(&api.Config{Address: srv.Listener.Addr().String(), Scheme: "http"})
		if err != nil {
			t.Fatal(err)
		}
		c.agents[h.Name()] = &agent{host: h, server: h.Role() == infra.RoleConsul, api: client, proc: newFakeProc()}
	}
	for _, s := range []struct{ host, service string }{{"fcs00", FortuneService}, {"fcc00", ConsumerService}} {
		h := cc.host(s.host)
		p := newFakeProc("==> Consul Connect proxy running!")
		cc.procs[s.host+"/"+s.service] = p
		sc := &sidecar{host: h, service: s.service, listener: netip.AddrPortFrom(h.addr, MeshPort), proc: p}
		c.sidecars[sc.key()] = sc
	}
	c.consumers = []Consumer{{Host: cc.host("fcc00"), Name: ConsumerService, Port: MeshPort}}
	return cc
}

func (c *checkedCluster) host(name string) *fakeHost {
	h, _ := c.lab.Host(name)
	return h.(*fakeHost)
}

// goodConsul is a cluster as the walkthrough leaves it: three voters,
// consul01 leading, five members alive, both sidecars passing.
func goodConsul() *consulState {
	st := &consulState{leader: "198.18.0.11:8300", leaves: map[string]*api.LeafCert{}, allowed: map[string]bool{ConsumerService: true}}
	for i, n := range []string{"consul00", "consul01", "consul02"} {
		addr := fmt.Sprintf("198.18.0.1%d:8300", i)
		st.raft.Servers = append(st.raft.Servers, &api.RaftServer{ID: n, Node: n, Address: addr, Voter: true, Leader: addr == st.leader})
	}
	for _, m := range []struct{ name, addr, role string }{
		{"consul00", "198.18.0.10", "consul"}, {"consul01", "198.18.0.11", "consul"}, {"consul02", "198.18.0.12", "consul"},
		{"fcs00", "198.18.0.20", "node"}, {"fcc00", "198.18.0.30", "node"}, {"rogue00", "198.18.0.40", "node"},
	} {
		st.members = append(st.members, &api.AgentMember{Name: m.name, Addr: m.addr, Port: SerfPort, Tags: map[string]string{"role": m.role}, Status: serfAlive})
	}
	// The sidecars' registrations, as Secure makes them.
	st.services = map[string]*api.AgentService{}
	for _, reg := range []*api.AgentServiceRegistration{
		SecureRegistration(netip.MustParseAddr("198.18.0.20"), time.Second),
		ConsumerRegistration(ConsumerService, netip.MustParseAddr("198.18.0.30"), MeshPort, time.Second),
	} {
		sc := reg.Connect.SidecarService
		p := *sc.Proxy
		p.DestinationServiceName, p.DestinationServiceID = reg.Name, reg.ID
		st.services[sidecarID(reg.ID)] = &api.AgentService{
			Kind: api.ServiceKindConnectProxy, ID: sidecarID(reg.ID), Service: sidecarID(reg.Name),
			Address: sc.Address, Port: sc.Port, Proxy: &p,
		}
	}
	for _, s := range []struct{ node, service string }{{"fcs00", FortuneService}, {"fcc00", ConsumerService}} {
		for _, chk := range []string{"Connect Sidecar Listening", "Connect Sidecar Aliasing " + s.service} {
			st.health = append(st.health, &api.HealthCheck{Node: s.node, CheckID: chk, Name: chk, Status: api.HealthPassing, ServiceID: sidecarID(s.service)})
		}
	}
	return st
}

// testCA is a Connect CA root on paper: it signs leaves with SPIFFE names.
type testCA struct {
	id   string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
}

const testTrustDomain = "11111111-2222-3333-4444-555555555555.consul"

func newTestCA(t *testing.T, id string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Consul CA " + id},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		URIs:                  []*url.URL{{Scheme: "spiffe", Host: testTrustDomain}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{id: id, cert: cert, key: key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

func (ca *testCA) root(active bool) *api.CARoot {
	return &api.CARoot{ID: ca.id, Name: "Consul CA Primary Cert " + ca.id, RootCertPEM: ca.pem, Active: active}
}

var serials struct {
	sync.Mutex
	n int64
}

// leaf issues service's leaf certificate, naming it uri, as Consul does:
// valid from a minute ago for LeafTTL.
func (ca *testCA) leaf(t *testing.T, service, uri string) (*api.LeafCert, tls.Certificate) {
	t.Helper()
	from := time.Now().Add(-time.Minute)
	return ca.leafValid(t, service, uri, from, from.Add(LeafTTL))
}

// leafValid is leaf, valid from notBefore to notAfter.
func (ca *testCA) leafValid(t *testing.T, service, uri string, notBefore, notAfter time.Time) (*api.LeafCert, tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serials.Lock()
	serials.n++
	serial := big.NewInt(1000 + serials.n)
	serials.Unlock()
	u, _ := url.Parse(uri)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: service},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:         []*url.URL{u},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return &api.LeafCert{Service: service, ServiceURI: uri, CertPEM: certPEM, SerialNumber: serial.String()},
		tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// sidecarListener is fcs's sidecar's public listener on loopback: it
// presents cert and, when mTLS holds, refuses a client with no
// certificate; when it does not, it hands an outsider a byte of data.
func sidecarListener(t *testing.T, cert tls.Certificate, mTLS bool) string {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAnyClientCert}
	if !mTLS {
		cfg.ClientAuth = tls.NoClientCert
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				if err := conn.(*tls.Conn).Handshake(); err != nil {
					return
				}
				conn.Write([]byte("A"))
				conn.Read(make([]byte, 1))
			}()
		}
	}()
	return ln.Addr().String()
}

// openPort is a plain TCP listener on loopback that takes every
// connection: a door left open.
func openPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	return ln.Addr().String()
}
