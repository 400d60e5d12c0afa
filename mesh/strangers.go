package mesh

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"syscall"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/infra"
)

// Attempt is one try of a stranger to change the mesh's rules, and the
// answer it got.
type Attempt struct {
	What   string // "consul intention create -allow rogue fcs"
	Via    string // "198.18.0.20:8500 over the wire", "rogue00's agent (127.0.0.1:8500) with rogue's service token"
	Answer string // what came back: the kernel's or Consul's own words
	// Refused is true when the answer was the refusal the lab promises: a
	// refused connection over the wire, a 403 "Permission denied" from an
	// agent.
	Refused bool
}

// Line renders the attempt for evidence.
func (a Attempt) Line() string {
	mark := "REFUSED"
	if !a.Refused {
		mark = "NOT REFUSED"
	}
	return fmt.Sprintf("%s: %s via %s: %s", mark, a.What, a.Via, a.Answer)
}

// Strangers is what happened when a service inside the mesh tried to
// rewrite the rules from its own host: its attempts, and the intentions,
// as the management token reads them, before and after.
type Strangers struct {
	Who           string // the host the attempts came from
	Attempts      []Attempt
	Before, After []string // "src => dst (action)", sorted
}

// TryAsStranger has k (the rogue) try, from its own host, to let itself
// in: over the wire to the API of fcs00's agent and of the first server,
// and through its own agent with each token its host holds (its service's
// and its agent's), to create "allow k → fcs" and to delete the deny-all.
// It reads the intentions with the management token before and after.
// Whatever Consul answers is recorded, not judged: CheckStrangers judges.
func (c *Cluster) TryAsStranger(ctx context.Context, k Consumer) (Strangers, error) {
	s := Strangers{Who: k.Host.Name()}
	var err error
	if s.Before, err = c.intentionSet(ctx); err != nil {
		return s, err
	}
	for _, role := range []infra.Role{infra.RoleService, infra.RoleConsul} {
		if hs := c.hosts(role); len(hs) > 0 { // fcs00, consul00
			s.Attempts = append(s.Attempts, dialAPI(ctx, k.Host, hs[0]))
		}
	}
	agentToken, err := c.agentSecret(k.Host.Name())
	if err != nil {
		return s, err
	}
	tokens := []struct{ name, secret string }{
		{k.Name + "'s service token", c.ServiceTokenSecret(k.Name)},
		{k.Host.Name() + "'s agent token", agentToken},
	}
	for _, tok := range tokens {
		if tok.secret == "" {
			return s, fmt.Errorf("%s has no token yet: register it first", k.Name)
		}
		cl, err := clientFor(k.Host, tok.secret)
		if err != nil {
			return s, err
		}
		via := fmt.Sprintf("%s's agent (%s) with %s", k.Host.Name(), agentAPIAddr, tok.name)
		allow := &api.Intention{SourceName: k.Name, DestinationName: FortuneService, Action: api.IntentionActionAllow, Description: "let me in"}
		_, werr := cl.Connect().IntentionUpsert(allow, (&api.WriteOptions{}).WithContext(ctx))
		s.Attempts = append(s.Attempts, apiAttempt(Intention{Source: k.Name, Destination: FortuneService, Allow: true}.Command(), via, werr))
		_, derr := cl.Connect().IntentionDeleteExact("*", "*", (&api.WriteOptions{}).WithContext(ctx))
		s.Attempts = append(s.Attempts, apiAttempt("consul intention delete '*' '*'", via, derr))
	}
	if s.After, err = c.intentionSet(ctx); err != nil {
		return s, err
	}
	return s, nil
}

// TryFromTheWire has h, a host with no agent and no token (the attacker
// on the wire), try to reach the HTTP API of every agent of the lab over
// the wire, as it would to rewrite the rules. It reads the intentions
// with the management token before and after.
func (c *Cluster) TryFromTheWire(ctx context.Context, h infra.Host) (Strangers, error) {
	s := Strangers{Who: h.Name()}
	var err error
	if s.Before, err = c.intentionSet(ctx); err != nil {
		return s, err
	}
	for _, a := range c.allAgents() {
		s.Attempts = append(s.Attempts, dialAPI(ctx, h, a.host))
	}
	if s.After, err = c.intentionSet(ctx); err != nil {
		return s, err
	}
	return s, nil
}

// dialAPI connects from h to the HTTP API port of target's address, as a
// process on h would.
func dialAPI(ctx context.Context, h, target infra.Host) Attempt {
	addr := netip.AddrPortFrom(target.Addr(), HTTPPort)
	a := Attempt{What: "connect to " + target.Name() + "'s agent API", Via: fmt.Sprintf("%s over the wire from %s", addr, h.Name())}
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := h.DialContext(dctx, "tcp", addr.String())
	if err != nil {
		a.Answer = oneLine(err.Error())
		a.Refused = errors.Is(err, syscall.ECONNREFUSED)
		return a
	}
	conn.Close()
	a.Answer = "connection accepted: the API listens on the wire"
	return a
}

// apiAttempt records an API call's answer: refused only by a 403
// "Permission denied".
func apiAttempt(what, via string, err error) Attempt {
	a := Attempt{What: what, Via: via}
	if err == nil {
		a.Answer = "200 OK: Consul did it"
		return a
	}
	a.Answer, a.Refused = permissionDenied(err)
	return a
}

// intentionSet reads every intention with the management token, as
// "src => dst (action)", sorted.
func (c *Cluster) intentionSet(ctx context.Context) ([]string, error) {
	srv, err := c.serverAPI()
	if err != nil {
		return nil, err
	}
	entries, _, err := srv.ConfigEntries().List(api.ServiceIntentions, (&api.QueryOptions{RequireConsistent: true}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("read the intentions: %w", err)
	}
	var out []string
	for _, e := range entries {
		si, ok := e.(*api.ServiceIntentionsConfigEntry)
		if !ok {
			continue
		}
		for _, s := range si.Sources {
			out = append(out, fmt.Sprintf("%s => %s (%s)", s.Name, si.Name, s.Action))
		}
	}
	slices.Sort(out)
	return out, nil
}

// CheckStrangers proves the rogue cannot change the rules (CheckStrangersAs).
func CheckStrangers(s Strangers) check.Check {
	return CheckStrangersAs("the rogue cannot change the rules", s)
}

// CheckStrangersAs proves a stranger cannot change the rules: every
// attempt was refused, and the intentions are exactly those before the
// attempts.
func CheckStrangersAs(name string, s Strangers) check.Check {
	ch := check.Check{Name: name, Pass: true}
	if len(s.Attempts) == 0 {
		ch.Pass = false
		ch.Seen("no attempt was made")
	}
	for _, a := range s.Attempts {
		ch.Seen("%s", a.Line())
		if !a.Refused {
			ch.Pass = false
		}
	}
	switch {
	case len(s.Before) == 0:
		ch.Pass = false
		ch.Seen("there were no intentions to protect before the attempts")
	case slices.Equal(s.Before, s.After):
		ch.Seen("intentions read with the management token, before and after: the same %d", len(s.Before))
		for _, i := range s.Before {
			ch.Seen("  %s", i)
		}
	default:
		ch.Pass = false
		ch.Seen("the intentions changed:")
		for _, i := range s.Before {
			if !slices.Contains(s.After, i) {
				ch.Seen("  gone: %s", i)
			}
		}
		for _, i := range s.After {
			if !slices.Contains(s.Before, i) {
				ch.Seen("  new:  %s", i)
			}
		}
	}
	return ch
}
