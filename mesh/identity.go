package mesh

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ztlab/zt-lab/infra"
)

// Root is a root certificate of the Connect CA, the one that signs the
// services' identities.
type Root struct {
	ID          string
	Name        string
	Active      bool
	Fingerprint string // SHA-256 of the certificate
	NotAfter    time.Time
	Cert        *x509.Certificate
}

// LeafTTL is how long Consul's built-in CA makes a leaf certificate live:
// its default leaf_cert_ttl, which the lab does not change. The sidecars
// fetch a new leaf well before it ends, so no leaf outlives it.
const LeafTTL = 72 * time.Hour

// Identity is a service's leaf certificate: the "virtual passport" its
// sidecar shows on every connection.
type Identity struct {
	Service   string
	URI       string // the SPIFFE identity: spiffe://<trust domain>/ns/default/dc/dc1/svc/fcs
	Serial    string
	Issuer    string
	NotBefore time.Time
	NotAfter  time.Time
	// Root is the ID of the root the certificate chains to, among the
	// roots it was checked against; empty when none.
	Root  string
	Chain []*x509.Certificate // the leaf first
}

// Lines renders the identity for a scene and for evidence.
func (id Identity) Lines() []string {
	return []string{
		fmt.Sprintf("%s: %s", id.Service, id.URI),
		fmt.Sprintf("  serial %s", id.Serial),
		fmt.Sprintf("  issuer %s", id.Issuer),
		fmt.Sprintf("  valid %s to %s", id.NotBefore.UTC().Format(time.RFC3339), id.NotAfter.UTC().Format(time.RFC3339)),
	}
}

func rootsFrom(l *api.CARootList) ([]Root, error) {
	var rs []Root
	for _, r := range l.Roots {
		certs, err := parseCerts(r.RootCertPEM)
		if err != nil {
			return nil, fmt.Errorf("root %s: %w", r.ID, err)
		}
		rs = append(rs, Root{
			ID:          r.ID,
			Name:        r.Name,
			Active:      r.Active,
			Fingerprint: Fingerprint(certs[0]),
			NotAfter:    certs[0].NotAfter,
			Cert:        certs[0],
		})
	}
	return rs, nil
}

func active(rs []Root) (Root, bool) {
	for _, r := range rs {
		if r.Active {
			return r, true
		}
	}
	return Root{}, false
}

// Roots lists the Connect CA's roots and the trust domain of the SPIFFE
// identities it signs.
func (c *Cluster) Roots(ctx context.Context) ([]Root, string, error) {
	srv, err := c.serverAPI()
	if err != nil {
		return nil, "", err
	}
	l, _, err := srv.Connect().CARoots((&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, "", fmt.Errorf("read the CA roots: %w", err)
	}
	rs, err := rootsFrom(l)
	return rs, l.TrustDomain, err
}

// identityOf reads a leaf certificate and finds which of roots it chains to.
func identityOf(service string, l *api.LeafCert, roots []Root) (Identity, error) {
	chain, err := parseCerts(l.CertPEM)
	if err != nil {
		return Identity{}, fmt.Errorf("leaf of %s: %w", service, err)
	}
	return identityFromChain(service, chain, roots), nil
}

func identityFromChain(service string, chain []*x509.Certificate, roots []Root) Identity {
	leaf := chain[0]
	id := Identity{
		Service:   service,
		Serial:    colonHex(leaf.SerialNumber.Bytes()),
		Issuer:    leaf.Issuer.CommonName,
		NotBefore: leaf.NotBefore,
		NotAfter:  leaf.NotAfter,
		Chain:     chain,
	}
	for _, u := range leaf.URIs {
		if u.Scheme == "spiffe" {
			id.URI = u.String()
		}
	}
	// The active root goes first: during a rotation a new leaf comes with
	// the new root cross-signed by the old key, so it chains to both.
	for _, r := range slices.SortedStableFunc(slices.Values(roots), func(a, b Root) int { return boolInt(b.Active) - boolInt(a.Active) }) {
		if signedBy(chain, r.Cert) {
			id.Root = r.ID
			break
		}
	}
	return id
}

// signedBy reports whether chain (the leaf first, then intermediates)
// leads to root.
func signedBy(chain []*x509.Certificate, root *x509.Certificate) bool {
	pool := x509.NewCertPool()
	pool.AddCert(root)
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         pool,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	return err == nil
}

// Leaf reads the leaf certificate of service from the agent of a host it
// runs on: the one that agent's sidecar uses.
func (c *Cluster) Leaf(ctx context.Context, service string) (Identity, error) {
	agents := c.agentsOf(service)
	if len(agents) == 0 {
		return Identity{}, fmt.Errorf("leaf of %s: no agent runs it", service)
	}
	roots, _, err := c.Roots(ctx)
	if err != nil {
		return Identity{}, err
	}
	l, _, err := agents[0].api.Agent().ConnectCALeaf(service, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return Identity{}, fmt.Errorf("leaf of %s from %s: %w", service, agents[0].host.Name(), err)
	}
	c.noteKey("leaf key of "+service+" (serial "+l.SerialNumber+")", []byte(l.PrivateKeyPEM))
	return identityOf(service, l, roots)
}

// Probe is what an outsider without a certificate gets from a sidecar's
// public listener: the sidecar's identity, and a refusal.
type Probe struct {
	Identity Identity // the leaf the sidecar presented
	// Refused is what reading from the connection gave: a TLS alert (the
	// sidecar wants a client certificate), never data.
	Refused error
}

// Probe connects to a sidecar's public listener from the wire, as an
// outsider would, with no certificate.
func (c *Cluster) Probe(ctx context.Context, service string, listener netip.AddrPort) (Probe, error) {
	roots, _, err := c.Roots(ctx)
	if err != nil {
		return Probe{}, err
	}
	var chain []*x509.Certificate
	cfg := &tls.Config{
		InsecureSkipVerify: true, // only to see the certificate: verified below against the CA's roots
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			for _, b := range raw {
				cert, err := x509.ParseCertificate(b)
				if err != nil {
					return err
				}
				chain = append(chain, cert)
			}
			return nil
		},
	}
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var conn *tls.Conn
	raw, err := c.dial(dctx, "tcp", listener.String())
	if err == nil {
		conn = tls.Client(raw, cfg)
		if err = conn.HandshakeContext(dctx); err != nil {
			conn.Close()
			conn = nil
		}
	}
	var p Probe
	if conn != nil {
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		var b [1]byte
		switch n, rerr := conn.Read(b[:]); {
		case rerr != nil:
			p.Refused = rerr
		case n > 0:
			p.Refused = nil // data: not refused at all
		}
		conn.Close()
	} else {
		p.Refused = err
	}
	if len(chain) == 0 {
		return p, fmt.Errorf("no certificate from %s: %v", listener, err)
	}
	p.Identity = identityFromChain(service, chain, roots)
	return p, nil
}

// Rotation is what happened when the Connect CA got a new root.
type Rotation struct {
	Old, New      Root
	Before, After map[string]Identity // leaf per service
	// Presented is the identity fcs's sidecar showed after the rotation.
	Presented  Identity
	RootActive time.Duration // from the request to the new root being active
	Reissued   time.Duration // from the request to every leaf signed by it
	// Fortunes read through the mesh while it rotated, and the failures.
	Fetched  int
	Failures []string
}

// Rotate gives the built-in Connect CA a new private key, which makes a new
// root (cross-signed by the old one), then waits until the new root is
// active, every service's leaf is re-issued from it and fcs's sidecar
// presents the new leaf — all the while reading fortunes through the mesh.
// Each wait is on the event itself (blocking queries on the roots and on
// every leaf). Stock Consul spreads the leaves' re-issue over up to 30 s
// after a root change, so a rotation takes that long; the lab's consul
// (tools/consul/fastraft.sh) spreads it over 1 s.
func (c *Cluster) Rotate(ctx context.Context) (Rotation, error) {
	var rot Rotation
	srv, err := c.serverAPI()
	if err != nil {
		return rot, err
	}
	roots, _, err := c.Roots(ctx)
	if err != nil {
		return rot, err
	}
	old, ok := active(roots)
	if !ok {
		return rot, errors.New("rotate the CA: it has no active root")
	}
	rot.Old = old
	services := c.meshServices()
	rot.Before = map[string]Identity{}
	for _, s := range services {
		id, err := c.Leaf(ctx, s)
		if err != nil {
			return rot, err
		}
		rot.Before[s] = id
	}

	conf, _, err := srv.Connect().CAGetConfig((&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return rot, fmt.Errorf("read the CA configuration: %w", err)
	}
	if conf.Provider != "consul" {
		return rot, fmt.Errorf("rotate the CA: the lab rotates consul's built-in CA, not %q", conf.Provider)
	}
	key, err := NewConnectCAKey()
	if err != nil {
		return rot, err
	}
	next := &api.CAConfig{Provider: conf.Provider, Config: maps.Clone(conf.Config)}
	delete(next.Config, "RootCert")
	next.Config["PrivateKey"] = key
	c.noteKey("Connect CA root key (rotated)", []byte(key))

	stopFetch, fetched := c.keepFetching(ctx)
	defer stopFetch()

	start := time.Now()
	if _, err := srv.Connect().CASetConfig(next, (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		return rot, fmt.Errorf("set the new CA key: %w", err)
	}
	c.say("Connect CA: new private key set, the old root was %s", old.Fingerprint)

	w := waitSpec{what: "the new CA root", procs: refs(c.servers()), limit: 30 * time.Second}
	l, err := await(ctx, w, srv.Connect().CARoots, func(l *api.CARootList) (bool, string) {
		r := activeRoot(l)
		if r == nil {
			return false, "no active root"
		}
		return r.ID != old.ID, "active root " + r.ID
	})
	if err != nil {
		return rot, err
	}
	rot.RootActive = time.Since(start)
	roots, err = rootsFrom(l)
	if err != nil {
		return rot, err
	}
	rot.New, _ = active(roots)
	c.say("Connect CA: new root %s active after %s", rot.New.Fingerprint, since(start))

	rot.After, err = c.awaitLeaves(ctx, services, rot.New, roots)
	if err != nil {
		return rot, err
	}
	rot.Reissued = time.Since(start)
	c.say("every leaf re-issued from the new root after %s", since(start))

	if fcs := c.hosts(infra.RoleService); len(fcs) > 0 {
		listener := netip.AddrPortFrom(fcs[0].Addr(), MeshPort)
		w := waitSpec{what: "fcs's sidecar presenting the new leaf", procs: c.sidecarRefs(), limit: 15 * time.Second}
		err = poll(ctx, w, 200*time.Millisecond, func(ctx context.Context) (bool, string, error) {
			p, err := c.Probe(ctx, FortuneService, listener)
			if err != nil {
				return false, "", err
			}
			rot.Presented = p.Identity
			return p.Identity.Root == rot.New.ID, "it presents serial " + p.Identity.Serial, nil
		})
		if err != nil {
			return rot, err
		}
	}
	stopFetch()
	rot.Fetched, rot.Failures = fetched()
	return rot, nil
}

// awaitLeaves waits, for every service at once, until its agent hands out
// a leaf that chains to root.
func (c *Cluster) awaitLeaves(ctx context.Context, services []string, root Root, roots []Root) (map[string]Identity, error) {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		out  = map[string]Identity{}
		errs []error
	)
	for _, s := range services {
		agents := c.agentsOf(s)
		if len(agents) == 0 {
			continue
		}
		a := agents[0]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var id Identity
			w := waitSpec{what: "the leaf of " + s + " from the new root", procs: refs([]*agent{a}), limit: 60 * time.Second}
			_, err := await(ctx, w, func(q *api.QueryOptions) (*api.LeafCert, *api.QueryMeta, error) {
				return a.api.Agent().ConnectCALeaf(s, q)
			}, func(l *api.LeafCert) (bool, string) {
				c.noteKey("leaf key of "+s+" (serial "+l.SerialNumber+")", []byte(l.PrivateKeyPEM))
				got, err := identityOf(s, l, roots)
				if err != nil {
					return false, err.Error()
				}
				id = got
				return got.Root == root.ID, "serial " + got.Serial + " from root " + got.Root
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			out[s] = id
			c.say("%s: new leaf %s", s, id.Serial)
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// meshServices names the services with sidecars: fcs and the consumers.
func (c *Cluster) meshServices() []string {
	ss := []string{FortuneService}
	for _, k := range c.Consumers() {
		if !slices.Contains(ss, k.Name) {
			ss = append(ss, k.Name)
		}
	}
	return ss
}

func (c *Cluster) sidecarRefs() []procRef {
	c.mu.Lock()
	defer c.mu.Unlock()
	var r []procRef
	for _, k := range slices.Sorted(maps.Keys(c.sidecars)) {
		s := c.sidecars[k]
		r = append(r, procRef{s.host.Name(), s.proc})
	}
	return r
}

// keepFetching reads a fortune through fcc's sidecar twice a second until
// stopped, and counts. stop is idempotent; counts reads the tally.
func (c *Cluster) keepFetching(ctx context.Context) (stop func(), counts func() (int, []string)) {
	var fcc *Consumer
	for _, k := range c.Consumers() {
		if k.Name == ConsumerService {
			fcc = &k
			break
		}
	}
	var (
		mu       sync.Mutex
		ok       int
		failures []string
		done     = make(chan struct{})
		ended    = make(chan struct{})
		once     sync.Once
	)
	go func() {
		defer close(ended)
		if fcc == nil {
			return
		}
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := c.Fetch(fctx, fcc.Host, fcc.Upstream())
			cancel()
			mu.Lock()
			if err != nil {
				failures = append(failures, time.Now().Format("15:04:05.000")+" "+oneLine(err.Error()))
			} else {
				ok++
			}
			mu.Unlock()
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	stop = func() {
		once.Do(func() { close(done) })
		<-ended
	}
	counts = func() (int, []string) {
		mu.Lock()
		defer mu.Unlock()
		return ok + len(failures), slices.Clone(failures)
	}
	return stop, counts
}
