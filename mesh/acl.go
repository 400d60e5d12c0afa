package mesh

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/infra"
)

// The lab's control plane refuses strangers: every agent runs with ACLs on
// and nothing allowed by default (acl.default_policy "deny"), and its HTTP
// API listens on its host's loopback only. zt-lab holds the one management
// token, which the servers create from their configuration
// (initial_management) and which never leaves zt-lab and the servers'
// 0600 configuration files. Everything else gets the least it needs:
//
//   - each agent a token with a node identity: node:write on its own node
//     (its anti-entropy, and a client's auto_encrypt certificate), and
//     service:read for discovery;
//   - each service (fcs, for all its instances; fcc; a rogue) a token with a
//     service identity: service:write on that service and its sidecar
//     only, read for discovery. zt-lab registers the service with it and
//     gives it to the service's sidecar, nothing else;
//   - learners a read-only token (LearnerRules).

// LearnerRules is the policy of the token a learner's shell may use:
// `consul members`, the catalog, `consul intention list`, `consul operator
// raft list-peers`. It reads, and writes nothing.
const LearnerRules = `node_prefix "" {
  policy = "read"
}
service_prefix "" {
  policy     = "read"
  intentions = "read"
}
operator = "read"
`

// learnerPolicy is the name of the policy LearnerRules is stored under.
const learnerPolicy = "zt-lab-learner"

// learnerTokenFile is where each agent's host keeps the learners' token.
const learnerTokenFile = infra.LearnerTokenFile

// newSecret is a token secret: a random UUID (version 4), as Consul makes.
func newSecret() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make a token secret: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// AgentToken is the token of the agent on node: a node identity, nothing
// more. secret is given beforehand, because the agent's configuration
// holds it before the token exists.
func AgentToken(node, datacenter, secret string) *api.ACLToken {
	return &api.ACLToken{
		SecretID:       secret,
		Description:    "zt-lab: agent on " + node,
		NodeIdentities: []*api.ACLNodeIdentity{{NodeName: node, Datacenter: datacenter}},
	}
}

// ServiceToken is the token of one service and its sidecar: a service
// identity for that service only.
func ServiceToken(service, secret string) *api.ACLToken {
	return &api.ACLToken{
		SecretID:          secret,
		Description:       "zt-lab: service " + service + " and its sidecar",
		ServiceIdentities: []*api.ACLServiceIdentity{{ServiceName: service}},
	}
}

// LearnerToken is the read-only token for learners' shells.
func LearnerToken(secret string) *api.ACLToken {
	return &api.ACLToken{
		SecretID:    secret,
		Description: "zt-lab: read-only, for a learner's shell",
		Policies:    []*api.ACLTokenPolicyLink{{Name: learnerPolicy}},
	}
}

// tokens are the secrets of the lab's tokens, made before the tokens
// themselves: agents need theirs in their configuration.
type tokens struct {
	management string
	learner    string
	agents     map[string]string // by node
	services   map[string]string // by service name
	created    map[string]bool   // secrets Consul holds a token for
}

func newTokens() (*tokens, error) {
	t := &tokens{agents: map[string]string{}, services: map[string]string{}, created: map[string]bool{}}
	var err error
	if t.management, err = newSecret(); err != nil {
		return nil, err
	}
	if t.learner, err = newSecret(); err != nil {
		return nil, err
	}
	return t, nil
}

// secretFor returns the secret in m under name, making one the first time.
// The caller holds the cluster's lock.
func secretFor(m map[string]string, name string) (string, error) {
	if s, ok := m[name]; ok {
		return s, nil
	}
	s, err := newSecret()
	if err != nil {
		return "", err
	}
	m[name] = s
	return s, nil
}

func (c *Cluster) agentSecret(node string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return secretFor(c.tokens.agents, node)
}

func (c *Cluster) serviceSecret(service string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return secretFor(c.tokens.services, service)
}

// ManagementToken is the secret of the lab's management token, for zt-lab's
// own requests only.
func (c *Cluster) ManagementToken() string { return c.tokens.management }

// ServiceTokenSecret is the secret of service's token once the lab made
// it (the service is registered), else "".
func (c *Cluster) ServiceTokenSecret(service string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.tokens.services[service]
	if !c.tokens.created[s] {
		return ""
	}
	return s
}

// createToken creates t in Consul with the management token, unless it
// was created before. Right after an election the servers may not know
// the management token yet: that is retried.
func (c *Cluster) createToken(ctx context.Context, t *api.ACLToken) error {
	c.mu.Lock()
	done := c.tokens.created[t.SecretID]
	c.mu.Unlock()
	if done {
		return nil
	}
	srv, err := c.serverAPI()
	if err != nil {
		return err
	}
	w := waitSpec{what: "the ACL token \"" + t.Description + "\"", procs: refs(c.servers()), limit: 30 * time.Second}
	err = poll(ctx, w, 100*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		_, _, err := srv.ACL().TokenCreate(t, (&api.WriteOptions{}).WithContext(ctx))
		if err != nil && strings.Contains(err.Error(), "already exists") {
			err = nil // an earlier try got through, and only its answer was lost
		}
		return err == nil, "", err
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.tokens.created[t.SecretID] = true
	c.mu.Unlock()
	return nil
}

// createAgentTokens creates the tokens of the agents on hosts.
func (c *Cluster) createAgentTokens(ctx context.Context, hosts []infra.Host) error {
	for _, h := range hosts {
		secret, err := c.agentSecret(h.Name())
		if err != nil {
			return err
		}
		if err := c.createToken(ctx, AgentToken(h.Name(), c.opts.Datacenter, secret)); err != nil {
			return err
		}
	}
	return nil
}

// createServiceToken creates the token of service and returns its secret.
func (c *Cluster) createServiceToken(ctx context.Context, service string) (string, error) {
	secret, err := c.serviceSecret(service)
	if err != nil {
		return "", err
	}
	return secret, c.createToken(ctx, ServiceToken(service, secret))
}

// createLearnerToken creates the read-only policy and token for learners'
// shells.
func (c *Cluster) createLearnerToken(ctx context.Context) error {
	c.mu.Lock()
	done := c.tokens.created[c.tokens.learner]
	c.mu.Unlock()
	if done {
		return nil
	}
	srv, err := c.serverAPI()
	if err != nil {
		return err
	}
	w := waitSpec{what: "the learners' read-only policy", procs: refs(c.servers()), limit: 30 * time.Second}
	err = poll(ctx, w, 100*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		_, _, err := srv.ACL().PolicyCreate(&api.ACLPolicy{Name: learnerPolicy, Description: "zt-lab: read-only, for a learner's shell", Rules: LearnerRules}, (&api.WriteOptions{}).WithContext(ctx))
		if err != nil && strings.Contains(err.Error(), "already exists") {
			err = nil
		}
		return err == nil, "", err
	})
	if err != nil {
		return err
	}
	return c.createToken(ctx, LearnerToken(c.tokens.learner))
}

// withNewToken runs a request made with a token created moments ago until
// Consul knows the token: a client agent asks a server that may not have
// applied the token's creation yet, and answers 403 "ACL not found".
func withNewToken(ctx context.Context, what string, try func() error) error {
	var err error
	for wait := 25 * time.Millisecond; ; wait = min(wait*2, 400*time.Millisecond) {
		err = try()
		if err == nil || !strings.Contains(err.Error(), "ACL not found") {
			return err
		}
		if !sleep(ctx, wait) {
			return fmt.Errorf("%s: %w (%v)", what, err, ctx.Err())
		}
	}
}

// CheckLearnerToken proves the learners' token reads and cannot write:
// on h, as a learner's shell runs it, `consul members` lists every agent
// the lab started and `consul operator raft list-peers` every server, and
// creating an intention with it is refused.
func (c *Cluster) CheckLearnerToken(ctx context.Context, h infra.Host) check.Check {
	ch := check.Check{Name: "a learner's shell reads the cluster and cannot change it", Pass: true}
	// What h lists is its own agent's gossip view, which learns of an
	// agent started a moment ago a moment later: the token is what is
	// checked, so h's agent first sees every agent alive.
	var names []string
	for _, a := range c.allAgents() {
		names = append(names, a.host.Name())
	}
	if err := c.waitSeenAlive(ctx, names, func(a *agent) bool { return a.host.Name() == h.Name() }); err != nil {
		ch.Seen("%s's agent: %v", h.Name(), err)
	}
	env := []string{"env", "CONSUL_HTTP_ADDR=" + agentAPIAddr, "CONSUL_HTTP_TOKEN_FILE=" + path.Join(h.DataDir(), learnerTokenFile)}
	out, err := h.Run(ctx, append(env, c.bin.Path, "members")...)
	ch.Seen("%s$ consul members", h.Name())
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		ch.Seen("  %s", l)
	}
	if err != nil {
		ch.Pass = false
		ch.Seen("  %v", err)
	}
	for _, a := range c.allAgents() {
		if !strings.Contains(string(out), a.host.Name()) {
			ch.Pass = false
			ch.Seen("%s is not among the members it sees", a.host.Name())
		}
	}
	out, err = h.Run(ctx, append(env, c.bin.Path, "operator", "raft", "list-peers")...)
	ch.Seen("%s$ consul operator raft list-peers", h.Name())
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		ch.Seen("  %s", l)
	}
	if err != nil {
		ch.Pass = false
		ch.Seen("  %v", err)
	}
	for _, a := range c.servers() {
		if !strings.Contains(string(out), a.host.Name()) {
			ch.Pass = false
			ch.Seen("%s is not among the raft peers it sees", a.host.Name())
		}
	}
	// The lab's consul has no `intention` command: the write goes to the
	// API, from h, with the same token.
	cl, err := clientFor(h, c.tokens.learner)
	if err != nil {
		ch.Pass = false
		ch.Seen("%v", err)
		return ch
	}
	_, err = cl.Connect().IntentionUpsert(&api.Intention{SourceName: "learner", DestinationName: FortuneService, Action: api.IntentionActionAllow}, (&api.WriteOptions{}).WithContext(ctx))
	a := apiAttempt(Intention{Source: "learner", Destination: FortuneService, Allow: true}.Command(), h.Name()+"'s agent with the learners' token", err)
	ch.Seen("%s", a.Line())
	if !a.Refused {
		ch.Pass = false
	}
	return ch
}

// clientFor is an API client for the agent on h that makes its requests
// with token: what a process on h holding only that token could do.
func clientFor(h infra.Host, token string) (*api.Client, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return h.DialContext(ctx, network, agentAPIAddr)
	}
	t.MaxIdleConnsPerHost = 8
	return api.NewClient(&api.Config{
		Address:   agentAPIAddr,
		Scheme:    "http",
		Transport: t,
		Token:     token,
	})
}

// permissionDenied reports whether err is Consul's refusal for want of
// permission (403 "Permission denied"), and returns its answer.
func permissionDenied(err error) (string, bool) {
	var se api.StatusError
	if errors.As(err, &se) {
		return fmt.Sprintf("%d %s", se.Code, oneLine(se.Body)), se.Code == http.StatusForbidden && strings.Contains(se.Body, "Permission denied")
	}
	if err == nil {
		return "", false
	}
	// Older clients put the status in the message only.
	msg := oneLine(err.Error())
	return msg, strings.Contains(msg, "403") && strings.Contains(msg, "Permission denied")
}

// PrivateKey is a private key the lab made or received, by name: what must
// never cross the wire.
type PrivateKey struct {
	Name string
	PEM  []byte
}

// noteKey records a private key the lab made or received, once.
func (c *Cluster) noteKey(name string, pemKey []byte) {
	if len(pemKey) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range c.keys {
		if string(k.PEM) == string(pemKey) {
			return
		}
	}
	c.keys = append(c.keys, PrivateKey{Name: name, PEM: slices.Clone(pemKey)})
}

// PrivateKeys lists every private key the lab made (its RPC CA's, the
// servers', a rotated Connect CA root's) or received (the leaf keys it
// fetched from the agents), in the order it met them.
func (c *Cluster) PrivateKeys() []PrivateKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.keys)
}
