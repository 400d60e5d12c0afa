package mesh

import (
	"context"
	"fmt"
	"slices"
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
func IntentionEntries(is []Intention) []*api.ServiceIntentionsConfigEntry {
	var entries []*api.ServiceIntentionsConfigEntry
	byDest := map[string]*api.ServiceIntentionsConfigEntry{}
	for _, i := range is {
		e := byDest[i.Destination]
		if e == nil {
			e = &api.ServiceIntentionsConfigEntry{Kind: api.ServiceIntentions, Name: i.Destination}
			byDest[i.Destination] = e
			entries = append(entries, e)
		}
		e.Sources = append(e.Sources, &api.SourceIntention{
			Name:        i.Source,
			Action:      i.Action(),
			Type:        api.IntentionSourceConsul,
			Description: "zt-lab: " + i.Command(),
		})
	}
	return entries
}

// ApplyIntentions writes the intentions and waits until the agents of the
// destinations answer by them: a fresh connection from a denied source is
// refused from then on.
func (c *Cluster) ApplyIntentions(ctx context.Context, is []Intention) error {
	srv, err := c.serverAPI()
	if err != nil {
		return err
	}
	for _, e := range IntentionEntries(is) {
		ok, _, err := srv.ConfigEntries().Set(e, (&api.WriteOptions{}).WithContext(ctx))
		if err != nil {
			return fmt.Errorf("write the intentions for %s: %w", e.Name, err)
		}
		if !ok {
			return fmt.Errorf("write the intentions for %s: consul did not apply them", e.Name)
		}
	}
	for _, i := range is {
		c.say("intention: %s", i.Command())
	}
	_, td, err := c.Roots(ctx)
	if err != nil {
		return err
	}
	for _, i := range is {
		if i.Source == "*" || i.Destination == "*" {
			continue
		}
		if err := c.awaitAuthorized(ctx, td, i.Source, i.Destination, i.Allow); err != nil {
			return err
		}
	}
	// The wildcard deny has no names to try; a source nothing allows shows it.
	if slices.ContainsFunc(is, func(i Intention) bool { return i.Source == "*" && !i.Allow }) {
		for _, dest := range destinations(is) {
			if err := c.awaitAuthorized(ctx, td, "zt-lab-nobody", dest, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func destinations(is []Intention) []string {
	var ds []string
	for _, i := range is {
		if i.Destination != "*" && !slices.Contains(ds, i.Destination) {
			ds = append(ds, i.Destination)
		}
	}
	return ds
}

// awaitAuthorized waits until the agents running dest answer allow for a
// connection from source. The authorize endpoint has no blocking form, so
// this asks every 100 ms.
func (c *Cluster) awaitAuthorized(ctx context.Context, trustDomain, source, dest string, allow bool) error {
	agents := c.agentsOf(dest)
	if len(agents) == 0 {
		return nil // no instance runs it: nothing to answer for
	}
	w := waitSpec{what: fmt.Sprintf("%s → %s %s", source, dest, verdict(allow)), procs: refs(agents), limit: 15 * time.Second}
	return poll(ctx, w, 100*time.Millisecond, func(context.Context) (bool, string, error) {
		for _, a := range agents {
			got, err := authorize(a, trustDomain, c.opts.Datacenter, source, dest)
			if err != nil {
				return false, "", err
			}
			if got.Authorized != allow {
				return false, fmt.Sprintf("%s says %s (%s)", a.host.Name(), verdict(got.Authorized), got.Reason), nil
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
