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

// Suspicion is what serf's failure detector (memberlist) logged about one
// node across the agents of the lab: who first found it silent and when,
// and who declared it failed, when, with how many other agents having
// confirmed the suspicion. A failure is declared after the suspicion
// timeout, which is short (suspicion_mult × probe_interval) when enough
// peers confirm, and up to six times longer when none does.
type Suspicion struct {
	Node          string
	Suspected     time.Time // zero when no agent logged its own failed probe
	SuspectedBy   string
	Failed        time.Time // zero when no agent declared it failed
	FailedBy      string
	Confirmations int
}

// String says the suspicion in one line, as evidence.
func (s Suspicion) String() string {
	var parts []string
	if !s.Suspected.IsZero() {
		parts = append(parts, fmt.Sprintf("%s found %s silent at %s", s.SuspectedBy, s.Node, s.Suspected.Format("15:04:05.000")))
	} else {
		parts = append(parts, fmt.Sprintf("no agent logged a failed probe of %s (suspected from another's gossip)", s.Node))
	}
	if !s.Failed.IsZero() {
		p := fmt.Sprintf("%s declared it failed at %s with %d peer confirmation(s)", s.FailedBy, s.Failed.Format("15:04:05.000"), s.Confirmations)
		if !s.Suspected.IsZero() {
			p += fmt.Sprintf(", %s after the probe", s.Failed.Sub(s.Suspected).Round(time.Millisecond))
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// SuspicionOf reads every agent's recent log for memberlist's verdicts on
// node since a moment: the evidence of how serf detected a failure.
func (c *Cluster) SuspicionOf(node string, since time.Time) Suspicion {
	s := Suspicion{Node: node}
	for _, a := range c.allAgents() {
		if a.proc == nil || a.host.Name() == node {
			continue
		}
		for _, line := range a.proc.Tail(-1) {
			s.add(a.host.Name(), line, since)
		}
	}
	return s
}

// add folds one agent's log line into s when it is a memberlist verdict on
// s.Node logged at or after since, keeping the earliest of each kind.
func (s *Suspicion) add(agent, line string, since time.Time) {
	at, verdict, ok := memberlistVerdict(line)
	if !ok || at.Before(since) {
		return
	}
	if rest, ok := strings.CutPrefix(verdict, "Suspect "+s.Node+" has failed, no acks received"); ok && rest == "" {
		if s.Suspected.IsZero() || at.Before(s.Suspected) {
			s.Suspected, s.SuspectedBy = at, agent
		}
		return
	}
	rest, ok := strings.CutPrefix(verdict, "Marking "+s.Node+" as failed, suspect timeout reached (")
	if !ok {
		return
	}
	n, err := strconv.Atoi(strings.TrimSuffix(rest, " peer confirmations)"))
	if err != nil || n < 0 {
		return
	}
	if s.Failed.IsZero() || at.Before(s.Failed) {
		s.Failed, s.FailedBy, s.Confirmations = at, agent, n
	}
}

// LogTime is the time a consul log line begins with
// ("2026-12-04T20:19:06.696Z [ERROR] ..."); false for a line without one.
func LogTime(line string) (time.Time, bool) {
	stamp, _, _ := strings.Cut(strings.TrimSpace(line), " ")
	at, err := time.Parse("2006-01-02T15:04:05.000Z07:00", stamp)
	return at, err == nil
}

// memberlistVerdict splits a consul log line such as
//
//	2026-12-04T20:19:06.696Z [INFO]  agent.server.memberlist.lan: memberlist: Suspect fcs01 has failed, no acks received
//
// into its time and the memberlist message; false for any other line.
func memberlistVerdict(line string) (time.Time, string, bool) {
	at, ok := LogTime(line)
	if !ok {
		return time.Time{}, "", false
	}
	_, rest, _ := strings.Cut(line, " ")
	_, msg, ok := strings.Cut(rest, "memberlist.lan: memberlist: ")
	if !ok {
		return time.Time{}, "", false
	}
	return at, strings.TrimSpace(msg), true
}

// WaitSettled waits until every agent whose host is up sees host alive
// in serf. After a partition heals, the healed node still holds the others
// as failed, and what it tells them on rejoining makes them suspect those
// nodes again until each refutes it: a node failed in that moment cannot
// refute, and is declared failed a moment later, as if detected at once.
// And an agent that still holds host as failed would not probe it. A
// failure of host is timed once every agent holds it alive.
func (c *Cluster) WaitSettled(ctx context.Context, host string) error {
	return c.waitSeenAlive(ctx, []string{host}, func(*agent) bool { return true })
}

// WaitServersSettled waits until every server that is up sees every server
// alive in serf: a leader crash is timed from a cluster whose servers all
// know each other again (clients' views do not elect anyone).
//
// And until every server votes in raft again: a server back from a crash
// rejoins as a non-voter, promoted by autopilot only once it has been
// stable for a while (server_stabilization_time, 10 s); a leader crashed
// before then leaves one voter of two, and no leader is elected at all
// (seen here: no leader 15 s after the crash).
func (c *Cluster) WaitServersSettled(ctx context.Context) error {
	var names []string
	for _, a := range c.servers() {
		names = append(names, a.host.Name())
	}
	if err := c.waitSeenAlive(ctx, names, func(a *agent) bool { return a.server }); err != nil {
		return err
	}
	w := waitSpec{what: "every server a raft voter", limit: 30 * time.Second}
	return poll(ctx, w, 100*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		a, err := c.liveAgent()
		if err != nil {
			return false, "", err
		}
		cfg, err := a.api.Operator().RaftGetConfiguration((&api.QueryOptions{}).WithContext(ctx))
		if err != nil {
			return false, "", err
		}
		voters := 0
		for _, s := range cfg.Servers {
			if s.Voter {
				voters++
			}
		}
		return voters == len(names), fmt.Sprintf("%d of %d servers vote", voters, len(names)), nil
	})
}

// waitSeenAlive waits until every agent that is up and that observe keeps
// sees each of hosts alive. An agent that still holds one failed after
// staleAfter (seen here now and then on a loaded machine: one agent alone
// holding a live node failed for 30 s, until serf's next reconnect) says
// what its log has about the node and joins it again, as an operator's
// `consul join` would.
func (c *Cluster) waitSeenAlive(ctx context.Context, hosts []string, observe func(*agent) bool) error {
	w := waitSpec{what: "every agent sees " + strings.Join(hosts, ", ") + " alive", limit: 30 * time.Second}
	stale := map[[2]string]time.Time{} // observer, host: since when not alive
	return poll(ctx, w, 50*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		up := c.agentsWhere(func(a *agent) bool { return a.host.State() == infra.StateUp && observe(a) })
		var names []string
		for _, a := range up {
			members, err := a.api.Agent().Members(false)
			if err != nil {
				return false, "", fmt.Errorf("members as %s sees them: %w", a.host.Name(), err)
			}
			for _, host := range hosts {
				i := slices.IndexFunc(members, func(m *api.AgentMember) bool { return m.Name == host })
				if i >= 0 && members[i].Status == serfAlive {
					continue
				}
				saw := fmt.Sprintf("%s does not know %s", a.host.Name(), host)
				if i >= 0 {
					saw = fmt.Sprintf("%s sees %s %s", a.host.Name(), host, memberStatus(members[i].Status))
				}
				key := [2]string{a.host.Name(), host}
				since, ok := stale[key]
				switch {
				case !ok:
					stale[key] = time.Now()
				case !since.IsZero() && time.Since(since) >= staleAfter:
					stale[key] = time.Time{} // once
					c.rejoinStale(a, host, saw)
				}
				return false, saw, nil
			}
			names = append(names, a.host.Name())
		}
		return true, fmt.Sprintf("%s alive to %s", strings.Join(hosts, ", "), strings.Join(names, ", ")), nil
	})
}

// staleAfter is how long an agent may hold a live node failed before it
// is asked to join it again.
const staleAfter = 5 * time.Second

// rejoinStale says why a's view of host is stale (its log's last lines on
// host) and has a join host again.
func (c *Cluster) rejoinStale(a *agent, host, saw string) {
	var about []string
	if a.proc != nil {
		for _, line := range a.proc.Tail(-1) {
			if strings.Contains(line, host) {
				about = append(about, line)
			}
		}
	}
	if len(about) > 3 {
		about = about[len(about)-3:]
	}
	c.say("%s after %s: %s joins it again (its log on %s: %s)", saw, staleAfter, a.host.Name(), host, strings.Join(about, " | "))
	h, ok := c.agent(host)
	if !ok {
		return
	}
	if err := a.api.Agent().Join(h.host.Addr().String(), false); err != nil {
		c.say("%s could not join %s: %v", a.host.Name(), host, err)
	}
}
