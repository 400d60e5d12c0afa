package mesh

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ztlab/zt-lab/infra"
)

// Intention allows or denies connections from one service to another; "*"
// stands for every service.
type Intention struct {
	Source, Destination string
	Allow               bool
}

// LabIntentions are the seeds' "service access control": nothing may talk
// to anything, except fcc to fcs.
var LabIntentions = []Intention{
	{Source: "*", Destination: "*", Allow: false},
	{Source: ConsumerService, Destination: FortuneService, Allow: true},
}

// Action is "allow" or "deny".
func (i Intention) Action() api.IntentionAction {
	if i.Allow {
		return api.IntentionActionAllow
	}
	return api.IntentionActionDeny
}

// Command is the equivalent consul command a learner would type:
// consul intention create -deny '*' '*'.
func (i Intention) Command() string {
	return fmt.Sprintf("consul intention create -%s %s %s", i.Action(), shellWord(i.Source), shellWord(i.Destination))
}

// shellWord quotes a word for a POSIX shell when it needs quoting.
func shellWord(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// IntentionEntries turns intentions into the service-intentions config
// entries that hold them: one entry per destination, in the order the
// destinations first appear.
//
// A "* → *" rule is also written into each named destination's own entry,
// as "* → <destination>": an agent then learns a destination's whole
// policy from one entry in one write. (An agent that already knew one
// entry for fcs was seen never to learn of a "* → *" entry written after
// it.) The two forms decide every connection alike as long as no rule
// names a source with a wildcard destination ("web → *"), which would
// rank between them; then the copy is left out.
func IntentionEntries(is []Intention) []*api.ServiceIntentionsConfigEntry {
	var entries []*api.ServiceIntentionsConfigEntry
	byDest := map[string]*api.ServiceIntentionsConfigEntry{}
	add := func(i Intention, description string) {
		e := byDest[i.Destination]
		if e == nil {
			e = &api.ServiceIntentionsConfigEntry{Kind: api.ServiceIntentions, Name: i.Destination}
			byDest[i.Destination] = e
			entries = append(entries, e)
		}
		if slices.ContainsFunc(e.Sources, func(s *api.SourceIntention) bool { return s.Name == i.Source }) {
			return
		}
		e.Sources = append(e.Sources, &api.SourceIntention{
			Name:        i.Source,
			Action:      i.Action(),
			Type:        api.IntentionSourceConsul,
			Description: description,
		})
	}
	for _, i := range is {
		add(i, "zt-lab: "+i.Command())
	}
	copyWildcard := !slices.ContainsFunc(is, func(i Intention) bool { return i.Source != "*" && i.Destination == "*" })
	for _, i := range is {
		if i.Source != "*" || i.Destination != "*" || !copyWildcard {
			continue
		}
		for _, e := range slices.Clone(entries) {
			if e.Name != "*" {
				add(Intention{Source: "*", Destination: e.Name, Allow: i.Allow}, "zt-lab: "+i.Command()+", held by "+e.Name+" too")
			}
		}
	}
	return entries
}

// ApplyIntentions writes the intentions, one config entry per
// destination, and after each waits until the agents that run the
// destination answer by it: a fresh connection is then let in or refused
// as the intentions say. Entries for a named destination go first, so that
// "deny * → *" never refuses, even for a moment, what "allow fcc → fcs" is
// about to let in.
//
// An agent keeps answering by the entries it knew: its cached match for a
// destination wakes when one of the entries in it changes, not when a new
// entry appears (seen here every time: with "fcc → fcs" known, fcs00's
// agent never learned of a "* → *" written after it, while every server
// held both). So after each write the entries written before it are
// written again with a new generation in their meta, which wakes the
// agents that hold them; a wait that still stalls for two seconds does
// that once more.
func (c *Cluster) ApplyIntentions(ctx context.Context, is []Intention) error {
	srv, err := c.serverAPI()
	if err != nil {
		return err
	}
	_, td, err := c.Roots(ctx)
	if err != nil {
		return err
	}
	entries := IntentionEntries(is)
	slices.SortStableFunc(entries, func(a, b *api.ServiceIntentionsConfigEntry) int {
		return boolInt(a.Name == "*") - boolInt(b.Name == "*")
	})
	var (
		written    []*api.ServiceIntentionsConfigEntry
		generation int
	)
	write := func(e *api.ServiceIntentionsConfigEntry) error {
		generation++
		e.Meta = map[string]string{"zt-lab-generation": strconv.Itoa(generation)}
		ok, _, err := srv.ConfigEntries().Set(e, (&api.WriteOptions{}).WithContext(ctx))
		if err != nil {
			return fmt.Errorf("write the intentions for %s: %w", e.Name, err)
		}
		if !ok {
			return fmt.Errorf("write the intentions for %s: consul did not apply them", e.Name)
		}
		return nil
	}
	touch := func() error {
		for _, e := range written {
			if err := write(e); err != nil {
				return err
			}
		}
		return nil
	}
	var expect []authzExpectation
	for _, e := range entries {
		if err := write(e); err != nil {
			return err
		}
		if err := touch(); err != nil {
			return err
		}
		written = append(written, e)
		for _, src := range e.Sources {
			c.say("intention: %s", Intention{Source: src.Name, Destination: e.Name, Allow: src.Action == api.IntentionActionAllow}.Command())
		}
		expect = append(expect, c.expectations(e)...)
		if err := c.awaitAuthz(ctx, td, expect, touch); err != nil {
			return err
		}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// authzExpectation is an answer an agent must give once an intention is in
// force: verdict for source → dest, matched by the intention named.
type authzExpectation struct {
	agent        *agent
	source, dest string
	allow        bool
	match        string // in the agent's reason: "default/fcc => default/fcs"
}

// expectations lists what the agents must answer once e is in force. A
// wildcard source is tried with a service no intention names; a wildcard
// destination on every service with a sidecar, where the answer may come
// from the destination's own copy of the rule (see IntentionEntries).
func (c *Cluster) expectations(e *api.ServiceIntentionsConfigEntry) []authzExpectation {
	dests := []string{e.Name}
	if e.Name == "*" {
		dests = c.meshServices()
	}
	var out []authzExpectation
	for _, src := range e.Sources {
		source := src.Name
		if source == "*" {
			source = "zt-lab-nobody"
		}
		for _, d := range dests {
			match := fmt.Sprintf("default/%s => default/%s", src.Name, e.Name)
			if e.Name == "*" {
				match = "Matched L4 intention: default/" + src.Name + " => "
			}
			for _, a := range c.agentsOf(d) {
				out = append(out, authzExpectation{
					agent: a, source: source, dest: d,
					allow: src.Action == api.IntentionActionAllow,
					match: match,
				})
			}
		}
	}
	return out
}

// awaitAuthz waits until every agent answers as expected, asking every
// 100 ms (the authorize endpoint has no blocking form), and calls nudge
// when the answers have not moved for two seconds.
func (c *Cluster) awaitAuthz(ctx context.Context, trustDomain string, expect []authzExpectation, nudge func() error) error {
	var agents []*agent
	for _, x := range expect {
		if !slices.Contains(agents, x.agent) {
			agents = append(agents, x.agent)
		}
	}
	w := waitSpec{what: "agents answering by the intentions", procs: refs(agents), limit: 15 * time.Second}
	stalled := time.Now()
	return poll(ctx, w, 100*time.Millisecond, func(context.Context) (bool, string, error) {
		for _, x := range expect {
			got, err := authorize(x.agent, trustDomain, c.opts.Datacenter, x.source, x.dest)
			if err != nil {
				return false, "", err
			}
			if got.Authorized != x.allow || !strings.Contains(got.Reason, x.match) {
				if time.Since(stalled) > 2*time.Second {
					stalled = time.Now()
					c.say("%s's agent still answers %s → %s by %q: touching the intentions again", x.agent.host.Name(), x.source, x.dest, got.Reason)
					if err := nudge(); err != nil {
						return false, "", err
					}
				}
				return false, fmt.Sprintf("%s's agent: %s → %s %s (%s), want %s by %s",
					x.agent.host.Name(), x.source, x.dest, verdict(got.Authorized), got.Reason, verdict(x.allow), x.match), nil
			}
		}
		return true, "", nil
	})
}

func verdict(authorized bool) string {
	if authorized {
		return "allowed"
	}
	return "denied"
}

// authorize asks an agent whether a connection from source to dest would be
// let in: the question a sidecar asks on every new connection.
func authorize(a *agent, trustDomain, dc, source, dest string) (*api.AgentAuthorize, error) {
	got, err := a.api.Agent().ConnectAuthorize(&api.AgentAuthorizeParams{
		Target:        dest,
		ClientCertURI: ServiceURI(trustDomain, dc, source),
	})
	if err != nil {
		return nil, fmt.Errorf("ask %s whether %s may connect to %s: %w", a.host.Name(), source, dest, err)
	}
	return got, nil
}

// ServiceURI is the SPIFFE identity consul gives a service:
// spiffe://<trust domain>/ns/default/dc/<dc>/svc/<name>.
func ServiceURI(trustDomain, dc, service string) string {
	return fmt.Sprintf("spiffe://%s/ns/default/dc/%s/svc/%s", trustDomain, dc, service)
}

// agentsOf lists the agents of the hosts a service is registered on, as
// far as the cluster knows: fcs on the fortune hosts, consumers on theirs.
func (c *Cluster) agentsOf(service string) []*agent {
	var hosts []infra.Host
	switch service {
	case FortuneService:
		hosts = c.hosts(infra.RoleService)
	default:
		for _, k := range c.Consumers() {
			if k.Name == service {
				hosts = append(hosts, k.Host)
			}
		}
	}
	var as []*agent
	for _, h := range hosts {
		if a, ok := c.agent(h.Name()); ok {
			as = append(as, a)
		}
	}
	return as
}
