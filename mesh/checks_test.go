package mesh

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ztlab/zt-lab/check"
)

// Every verifier the walkthrough runs is shown the situation it is there
// to catch, beside the one it is there to prove, through a fake Consul
// and a paper lab: each bad row must fail with evidence saying why, each
// good row must pass. A verifier that regressed to always-pass, or
// always-fail, fails here.

const meshFortune = "Your lucky number has been disconnected.\n"

// requireCheck fails the test unless ch passed as wanted, and unless its
// evidence says each of why.
func requireCheck(t *testing.T, ch check.Check, pass bool, why ...string) {
	t.Helper()
	if ch.Pass != pass {
		t.Fatalf("Pass = %v, want %v: %s", ch.Pass, pass, ch)
	}
	ev := strings.Join(ch.Evidence, "\n")
	for _, w := range why {
		if !strings.Contains(ev, w) {
			t.Errorf("evidence does not say %q:\n%s", w, ev)
		}
	}
}

// fetches scripts `zt-lab fortune get ADDR` on a host: by address, what
// it prints and how it exits. An address not listed is refused.
func fetches(answers map[string]fetchAnswer) func(argv []string) ([]byte, error) {
	return func(argv []string) ([]byte, error) {
		if len(argv) < 4 || argv[1] != "fortune" || argv[2] != "get" {
			return nil, fmt.Errorf("unexpected command %q", argv)
		}
		a, ok := answers[argv[3]]
		if !ok {
			return []byte("dial tcp " + argv[3] + ": connect: connection refused\n"), errors.New("exit status 1")
		}
		if a.do != nil {
			a.do()
		}
		if a.fail != "" {
			return []byte(a.fail + "\n"), errors.New("exit status 1")
		}
		return []byte(a.out), nil
	}
}

type fetchAnswer struct {
	out  string
	fail string // what the consumer prints when it fails
	do   func() // what the fetch does besides (a sidecar logging a denial)
}

func TestCheckLeader(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(*consulState)
		pass   bool
		why    []string
	}{
		{"three voters, one leader everyone names", func(*consulState) {}, true,
			[]string{"raft peer consul01", "voter, LEADER", "every server names the leader consul01 (198.18.0.11:8300)"}},
		{"no leader", func(s *consulState) {
			for _, p := range s.raft.Servers {
				p.Leader = false
			}
			s.leader = ""
		}, false, []string{"0 leaders among the raft peers, want 1"}},
		{"two leaders", func(s *consulState) { s.raft.Servers[0].Leader = true }, false,
			[]string{"2 leaders among the raft peers, want 1"}},
		{"too few raft peers", func(s *consulState) { s.raft.Servers = s.raft.Servers[:2] }, false,
			[]string{"2 voters in raft for the 3 servers running"}},
		{"a server that does not vote", func(s *consulState) { s.raft.Servers[2].Voter = false }, false,
			[]string{"consul02", "non-voter", "2 voters in raft for the 3 servers running"}},
		{"a server names another leader", func(s *consulState) { s.leaders = map[string]string{"consul02": "198.18.0.10:8300"} }, false,
			[]string{`consul02 names "198.18.0.10:8300" as leader`}},
		{"a follower that has not yet heard from the leader, then has", func(s *consulState) {
			s.leaders = map[string]string{"consul02": ""}
			time.AfterFunc(300*time.Millisecond, func() { s.set(func(s *consulState) { s.leaders = nil }) })
		}, true, []string{"consul02 named the leader consul01 (198.18.0.11:8300) after", "every server names the leader consul01"}},
		{"raft does not answer", func(s *consulState) { s.broken = map[string]bool{"/v1/operator/raft/configuration": true} }, false,
			[]string{"raft configuration from consul00:", "No cluster leader"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := goodConsul()
			st.set(tc.break_)
			c := newCheckedCluster(t, st)
			requireCheck(t, c.CheckLeader(context.Background()), tc.pass, tc.why...)
		})
	}
	t.Run("no server running", func(t *testing.T) {
		c := newCheckedCluster(t, goodConsul())
		c.agents = map[string]*agent{}
		requireCheck(t, c.CheckLeader(context.Background()), false, "no consul server is running")
	})
}

func TestCheckMembers(t *testing.T) {
	member := func(s *consulState, name string) *api.AgentMember {
		for _, m := range s.members {
			if m.Name == name {
				return m
			}
		}
		return nil
	}
	for _, tc := range []struct {
		name   string
		break_ func(*consulState)
		pass   bool
		why    []string
	}{
		{"every agent alive", func(*consulState) {}, true,
			[]string{"consul00  198.18.0.10     server alive", "fcc00     198.18.0.30     client alive"}},
		{"a member failed", func(s *consulState) { member(s, "fcs00").Status = 4 }, false,
			[]string{"fcs00     198.18.0.20     client failed", "fcs00 is not alive"}},
		{"a member left", func(s *consulState) { member(s, "consul02").Status = 3 }, false,
			[]string{"consul02 is not alive"}},
		{"an agent missing from serf", func(s *consulState) { s.members = s.members[:4] }, false,
			[]string{"fcc00 is not alive"}},
		{"serf does not answer", func(s *consulState) { s.broken = map[string]bool{"/v1/agent/members": true} }, false,
			[]string{"members:", "500"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := goodConsul()
			st.set(tc.break_)
			c := newCheckedCluster(t, st)
			requireCheck(t, c.CheckMembers(context.Background()), tc.pass, tc.why...)
		})
	}
}

func TestCheckSidecars(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(*checkedCluster)
		pass   bool
		why    []string
	}{
		{"both sidecars passing", func(*checkedCluster) {}, true,
			[]string{"fcs-sidecar-proxy on fcs00: Connect Sidecar Listening passing", "fcc-sidecar-proxy on fcc00: Connect Sidecar Listening passing",
				"fcs-sidecar-proxy on fcs00: mTLS on 198.18.0.20:9191 → 127.0.0.1:8181",
				"fcs00$ zt-lab fortune get 127.0.0.1:8181: " + strings.TrimSpace(meshFortune),
				"fcc-sidecar-proxy on fcc00: upstream fcs on 127.0.0.1:9191"}},
		// The scene draws fcs-sidecar --> fcs :8181 over the host's loopback:
		// a healthy sidecar is not enough.
		{"the fcs sidecar reaches the service over the wire", func(c *checkedCluster) {
			c.st.services["fcs-sidecar-proxy"].Proxy.LocalServiceAddress = "198.18.0.20"
		}, false, []string{"it reaches the service at 198.18.0.20:8181, not on the loopback 127.0.0.1:8181"}},
		{"the fcs sidecar hands connections to another port", func(c *checkedCluster) {
			c.st.services["fcs-sidecar-proxy"].Proxy.LocalServicePort = 8080
		}, false, []string{"it reaches the service at 127.0.0.1:8080, not on the loopback 127.0.0.1:8181"}},
		{"the fcs sidecar listens on another port than the seeds' 9191", func(c *checkedCluster) {
			c.st.services["fcs-sidecar-proxy"].Port = 21000
		}, false, []string{"its public listener is on port 21000, not 9191"}},
		{"the service does not answer on fcs00's loopback", func(c *checkedCluster) {
			c.host("fcs00").run = fetches(map[string]fetchAnswer{"198.18.0.20:8181": {out: meshFortune}})
		}, false, []string{"fcs00$ zt-lab fortune get 127.0.0.1:8181:", "the service does not answer on its loopback"}},
		{"the consumer's upstream is not on 127.0.0.1:9191", func(c *checkedCluster) {
			c.st.services["fcc-sidecar-proxy"].Proxy.Upstreams[0].LocalBindAddress = "0.0.0.0"
		}, false, []string{"the consumer asks its sidecar on 0.0.0.0:9191, not 127.0.0.1:9191"}},
		{"the consumer's sidecar has no upstream to fcs", func(c *checkedCluster) {
			c.st.services["fcc-sidecar-proxy"].Proxy.Upstreams = nil
		}, false, []string{"fcc-sidecar-proxy on fcc00 has no upstream to fcs"}},
		{"the agent does not know the sidecar", func(c *checkedCluster) {
			delete(c.st.services, "fcs-sidecar-proxy")
		}, false, []string{"fcs-sidecar-proxy on fcs00: its registration:"}},
		{"a sidecar unhealthy", func(c *checkedCluster) { c.st.health[0].Status = api.HealthCritical }, false,
			[]string{"fcs-sidecar-proxy on fcs00: Connect Sidecar Listening critical"}},
		{"a sidecar exited", func(c *checkedCluster) { c.procs["fcc00/fcc"].exit(errors.New("exit status 1")) }, false,
			[]string{"fcc-sidecar-proxy on fcc00 exited: exit status 1"}},
		{"a sidecar the catalog does not know", func(c *checkedCluster) { c.st.health = c.st.health[:2] }, false,
			[]string{"fcc-sidecar-proxy on fcc00 has no checks in the catalog"}},
		{"no sidecars", func(c *checkedCluster) { c.sidecars = map[string]*sidecar{} }, false,
			[]string{"no sidecars: secure the service first"}},
		{"health does not answer", func(c *checkedCluster) { c.st.broken = map[string]bool{"/v1/health/state/any": true} }, false,
			[]string{"health:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCheckedCluster(t, goodConsul())
			c.host("fcs00").run = fetches(map[string]fetchAnswer{"127.0.0.1:8181": {out: meshFortune}})
			tc.break_(c)
			requireCheck(t, c.CheckSidecars(context.Background()), tc.pass, tc.why...)
		})
	}
}

func TestCheckMeshFortune(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer *fetchAnswer // fcc00's fetch from 127.0.0.1:9191; nil: no fcc
		pass   bool
		why    []string
	}{
		{"a fortune through the sidecar", &fetchAnswer{out: meshFortune}, true,
			[]string{"fcc00$ zt-lab fortune get 127.0.0.1:9191", "  " + strings.TrimSpace(meshFortune), "→ mTLS → fcs00:9191"}},
		{"the upstream never answers", &fetchAnswer{fail: "read 127.0.0.1:9191: connection reset by peer"}, false,
			[]string{"a fortune through the mesh: not done after", "connection reset by peer"}},
		{"the connection closes without a byte", &fetchAnswer{out: "\n"}, false,
			[]string{"no fortune: the connection closed without a byte"}},
		{"no consumer registered", nil, false, []string{"no fcc registered: secure the service first"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := goodConsul()
			ca := newTestCA(t, "r1")
			st.roots = api.CARootList{ActiveRootID: "r1", TrustDomain: testTrustDomain, Roots: []*api.CARoot{ca.root(true)}}
			c := newCheckedCluster(t, st)
			if tc.answer == nil {
				c.consumers = nil
			} else {
				c.host("fcc00").run = fetches(map[string]fetchAnswer{"127.0.0.1:9191": *tc.answer})
			}
			// The check tries for up to 10 s; a bad row need not wait that.
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			requireCheck(t, c.CheckMeshFortune(ctx), tc.pass, tc.why...)
		})
	}
}

func TestCheckPlaintextRefused(t *testing.T) {
	refused := fetchAnswer{fail: "dial tcp 198.18.0.20:8181: connect: connection refused"}
	for _, tc := range []struct {
		name      string
		fromFCC   fetchAnswer
		wireOpen  bool // 198.18.0.20:8181 accepts from the wire
		fromLocal *fetchAnswer
		pass      bool
		why       []string
	}{
		{"refused from fcc00 and the wire, served on loopback", refused, false, &fetchAnswer{out: meshFortune}, true,
			[]string{"connection refused", "from the wire, dial 198.18.0.20:8181:", "fcs00$ zt-lab fortune get 127.0.0.1:8181 still reads: " + strings.TrimSpace(meshFortune)}},
		{"fcc00 still reads a fortune", fetchAnswer{out: meshFortune}, false, &fetchAnswer{out: meshFortune},
			false, []string{"read a fortune: " + strings.TrimSpace(meshFortune)}},
		{"refused from fcc00, but the wire is let in", refused, true, &fetchAnswer{out: meshFortune},
			false, []string{"from the wire, 198.18.0.20:8181 accepts a connection"}},
		{"fcc00's fetch failed for another reason", fetchAnswer{fail: "read 198.18.0.20:8181: i/o timeout"}, false, &fetchAnswer{out: meshFortune},
			false, []string{"i/o timeout"}},
		{"the service is gone from loopback too", refused, false, nil,
			false, []string{"fcs00$ zt-lab fortune get 127.0.0.1:8181:", "connection refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCheckedCluster(t, goodConsul())
			c.host("fcc00").run = fetches(map[string]fetchAnswer{"fcs00:8181": tc.fromFCC})
			local := map[string]fetchAnswer{}
			if tc.fromLocal != nil {
				local["127.0.0.1:8181"] = *tc.fromLocal
			}
			c.host("fcs00").run = fetches(local)
			if tc.wireOpen {
				c.lab.route("198.18.0.20:8181", openPort(t))
			}
			requireCheck(t, c.CheckPlaintextRefused(context.Background()), tc.pass, tc.why...)
		})
	}
}

func TestCheckDenied(t *testing.T) {
	for _, tc := range []struct {
		name    string
		allowed bool // what fcs's agent answers for rogue
		fetch   func(c *checkedCluster) fetchAnswer
		pass    bool
		why     []string
	}{
		{"the rogue is refused by an intention", false, func(c *checkedCluster) fetchAnswer {
			return fetchAnswer{fail: "read 127.0.0.1:9191: connection reset by peer", do: func() {
				p := c.procs["fcs00/fcs"]
				p.lines = append(p.lines, "[ERROR] proxy.inbound: authz call denied: reason=\"Matched L4 intention: * => fcs (deny)\"")
			}}
		}, true, []string{"connection reset by peer", "fcs00's agent: rogue → fcs denied: Matched L4 intention: * => fcs (deny)", "fcs sidecar log: [ERROR] proxy.inbound: authz call denied"}},
		{"a rogue let in", true, func(*checkedCluster) fetchAnswer { return fetchAnswer{out: meshFortune} }, false,
			[]string{"read a fortune: " + strings.TrimSpace(meshFortune), "fcs00's agent: rogue → fcs allowed"}},
		{"refused, but the intentions would allow it", true, func(c *checkedCluster) fetchAnswer {
			return fetchAnswer{fail: "read 127.0.0.1:9191: connection reset by peer", do: func() {
				p := c.procs["fcs00/fcs"]
				p.lines = append(p.lines, "[ERROR] proxy.inbound: authz call denied")
			}}
		}, false, []string{"fcs00's agent: rogue → fcs allowed"}},
		{"refused, but not by the mesh", false, func(*checkedCluster) fetchAnswer {
			return fetchAnswer{fail: "dial tcp 127.0.0.1:9191: connect: connection refused"}
		}, false, []string{"the fcs sidecar logged no authz denial for this attempt: the fetch failed for another reason"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // the last row waits out the check's 2 s for a denial
			st := goodConsul()
			st.allowed["rogue"] = tc.allowed
			ca := newTestCA(t, "r1")
			st.roots = api.CARootList{ActiveRootID: "r1", TrustDomain: testTrustDomain, Roots: []*api.CARoot{ca.root(true)}}
			c := newCheckedCluster(t, st)
			rogue := Consumer{Host: c.host("rogue00"), Name: "rogue", Port: MeshPort}
			c.host("rogue00").run = fetches(map[string]fetchAnswer{"127.0.0.1:9191": tc.fetch(c)})
			requireCheck(t, c.CheckDenied(context.Background(), rogue), tc.pass, tc.why...)
		})
	}
}

func TestCheckIdentities(t *testing.T) {
	uri := func(svc string) string { return ServiceURI(testTrustDomain, "dc1", svc) }
	for _, tc := range []struct {
		name string
		// set up the CA's roots, the agents' leaves and fcs's sidecar
		setup func(t *testing.T, c *checkedCluster, old, cur *testCA)
		pass  bool
		why   []string
	}{
		{"every leaf from the active root, the sidecar wants a certificate", func(t *testing.T, c *checkedCluster, old, cur *testCA) {
			fcs := issue(t, c, cur, FortuneService, uri(FortuneService))
			issue(t, c, cur, ConsumerService, uri(ConsumerService))
			c.lab.route("198.18.0.20:9191", sidecarListener(t, fcs, true))
		}, true, []string{"fcs: " + uri(FortuneService), "fcc: " + uri(ConsumerService), "198.18.0.20:9191 presents " + uri(FortuneService), "refuses an outsider with no certificate",
			"fcs: lives 72h (at most 72h), 71h59m left"}},
		// The scene says short-lived: Consul's 72 h, not a CA's usual year.
		{"a leaf that lives a year", func(t *testing.T, c *checkedCluster, old, cur *testCA) {
			fcs := issue(t, c, cur, FortuneService, uri(FortuneService))
			from := time.Now().Add(-time.Minute)
			l, _ := cur.leafValid(t, ConsumerService, uri(ConsumerService), from, from.Add(365*24*time.Hour))
			c.st.set(func(s *consulState) { s.leaves[ConsumerService] = l })
			c.lab.route("198.18.0.20:9191", sidecarListener(t, fcs, true))
		}, false, []string{"fcc: lives 8760h0m0s, longer than the 72h of a Connect leaf"}},
		{"a leaf a minute longer than Consul's", func(t *testing.T, c *checkedCluster, old, cur *testCA) {
			fcs := issue(t, c, cur, FortuneService, uri(FortuneService))
			from := time.Now().Add(-2 * time.Minute)
			l, _ := cur.leafValid(t, ConsumerService, uri(ConsumerService), from, from.Add(LeafTTL+time.Minute))
			c.st.set(func(s *consulState) { s.leaves[ConsumerService] = l })
			c.lab.route("198.18.0.20:9191", sidecarListener(t, fcs, true))
		}, false, []string{"fcc: lives 72h1m0s, longer than the 72h of a Connect leaf"}},
		{"an expired leaf", func(t *testing.T, c *checkedCluster, old, cur *testCA) {
			fcs := issue(t, c, cur, FortuneService, uri(FortuneService))
			from := time.Now().Add(-LeafTTL - time.Hour)
			l, _ := cur.leafValid(t, ConsumerService, uri(ConsumerService), from, from.Add(LeafTTL))
			c.st.set(func(s *consulState) { s.leaves[ConsumerService] = l })
			c.lab.route("198.18.0.20:9191", sidecarListener(t, fcs, true))
		}, false, []string{"fcc: expired at"}},
		{"a leaf from the old root", func(t *testing.T, c *checkedCluster, old, cur *testCA) {
			fcs := issue(t, c, cur, FortuneService, uri(FortuneService))
			issue(t, c, old, ConsumerService, uri(ConsumerService))
			c.lab.route("198.18.0.20:9191", sidecarListener(t, fcs, true))
		}, false, []string{"fcc: not from the active root, or not its own name"}},
		{"a leaf with another service's name", func(t *testing.T, c *checkedCluster, old, cur *testCA) {
			fcs := issue(t, c, cur, FortuneService, uri(FortuneService))
			issue(t, c, cur, ConsumerService, uri(FortuneService))
			c.lab.route("198.18.0.20:9191", sidecarListener(t, fcs, true))
		}, false, []string{"fcc: not from the active root, or not its own name"}},
		{"a sidecar that serves an outsider", func(t *testing.T, c *checkedCluster, old, cur *testCA) {
			fcs := issue(t, c, cur, FortuneService, uri(FortuneService))
			issue(t, c, cur, ConsumerService, uri(ConsumerService))
			c.lab.route("198.18.0.20:9191", sidecarListener(t, fcs, false))
		}, false, []string{"198.18.0.20:9191 gave data to an outsider with no certificate"}},
		{"no sidecar listening", func(t *testing.T, c *checkedCluster, old, cur *testCA) {
			issue(t, c, cur, FortuneService, uri(FortuneService))
			issue(t, c, cur, ConsumerService, uri(ConsumerService))
		}, false, []string{"probe 198.18.0.20:9191: no certificate from 198.18.0.20:9191", "connection refused"}},
		{"an agent with no leaf", func(t *testing.T, c *checkedCluster, old, cur *testCA) {
			fcs := issue(t, c, cur, FortuneService, uri(FortuneService))
			c.lab.route("198.18.0.20:9191", sidecarListener(t, fcs, true))
		}, false, []string{"leaf of fcc from fcc00:"}},
		{"no active root", func(t *testing.T, c *checkedCluster, old, cur *testCA) {
			c.st.set(func(s *consulState) {
				for _, r := range s.roots.Roots {
					r.Active = false
				}
			})
		}, false, []string{"the CA has no active root"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, cur := newTestCA(t, "r0"), newTestCA(t, "r1")
			st := goodConsul()
			st.roots = api.CARootList{ActiveRootID: "r1", TrustDomain: testTrustDomain, Roots: []*api.CARoot{old.root(false), cur.root(true)}}
			c := newCheckedCluster(t, st)
			tc.setup(t, c, old, cur)
			requireCheck(t, c.CheckIdentities(context.Background()), tc.pass, tc.why...)
		})
	}
}

// issue has ca sign service's leaf, as its agent hands it out.
func issue(t *testing.T, c *checkedCluster, ca *testCA, service, uri string) tls.Certificate {
	l, cert := ca.leaf(t, service, uri)
	c.st.set(func(s *consulState) { s.leaves[service] = l })
	return cert
}

func TestCheckRotation(t *testing.T) {
	oldRoot, newRoot := Root{ID: "r0", Fingerprint: "AA:00"}, Root{ID: "r1", Fingerprint: "BB:11"}
	good := func() Rotation {
		return Rotation{
			Old: oldRoot, New: newRoot,
			Before:     map[string]Identity{FortuneService: {Serial: "10", Root: "r0"}, ConsumerService: {Serial: "11", Root: "r0"}},
			After:      map[string]Identity{FortuneService: {Serial: "20", Root: "r1"}, ConsumerService: {Serial: "21", Root: "r1"}},
			Presented:  Identity{Serial: "20", Root: "r1"},
			RootActive: 40 * time.Millisecond, Reissued: 12 * time.Second,
			Fetched: 25,
		}
	}
	for _, tc := range []struct {
		name   string
		break_ func(*Rotation)
		now    fetchAnswer
		pass   bool
		why    []string
	}{
		{"a new root, every leaf re-issued, no fetch lost", func(*Rotation) {}, fetchAnswer{out: meshFortune}, true,
			[]string{"fcs leaf 10 → 20", "fcs's sidecar presents the new leaf 20", "25 fortunes read through the mesh during the rotation, 0 failed", "a fortune now: " + strings.TrimSpace(meshFortune)}},
		{"the root never changed", func(r *Rotation) { r.New = r.Old }, fetchAnswer{out: meshFortune}, false,
			[]string{"the CA's active root did not change"}},
		{"a leaf still from the old root", func(r *Rotation) { r.After[ConsumerService] = Identity{Serial: "21", Root: "r0"} }, fetchAnswer{out: meshFortune}, false,
			[]string{"fcc's leaf was not re-issued from the new root"}},
		{"a leaf never re-issued", func(r *Rotation) { r.After[FortuneService] = Identity{Serial: "10", Root: "r1"} }, fetchAnswer{out: meshFortune}, false,
			[]string{"fcs leaf 10 → 10", "fcs's leaf was not re-issued from the new root"}},
		{"the sidecar still presents the old leaf", func(r *Rotation) { r.Presented = Identity{Serial: "10", Root: "r0"} }, fetchAnswer{out: meshFortune}, false,
			[]string{`fcs's sidecar presents "10", not from the new root`}},
		{"fetches failed during the rotation", func(r *Rotation) { r.Failures = []string{"18:40:01.200 read 127.0.0.1:9191: connection reset by peer"} }, fetchAnswer{out: meshFortune}, false,
			[]string{"25 fortunes read through the mesh during the rotation, 1 failed", "failed 18:40:01.200 read 127.0.0.1:9191: connection reset by peer"}},
		{"no fetch during the rotation", func(r *Rotation) { r.Fetched = 0 }, fetchAnswer{out: meshFortune}, false,
			[]string{"0 fortunes read through the mesh during the rotation"}},
		{"no fortune after it", func(*Rotation) {}, fetchAnswer{fail: "read 127.0.0.1:9191: connection reset by peer"}, false,
			[]string{"a fortune now:", "connection reset by peer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCheckedCluster(t, goodConsul())
			c.host("fcc00").run = fetches(map[string]fetchAnswer{"127.0.0.1:9191": tc.now})
			rot := good()
			tc.break_(&rot)
			requireCheck(t, c.CheckRotation(context.Background(), rot), tc.pass, tc.why...)
		})
	}
}

// CheckWire hands each flow to the sniffer's hook and keeps its verdict,
// failing ones included.
func TestCheckWireKeepsTheSniffersFailures(t *testing.T) {
	c := newCheckedCluster(t, goodConsul())
	c.opts.Wire = func(_ context.Context, f Flow) check.Check {
		if f.Port == SerfPort && f.Proto == "udp" {
			return check.Failed("encrypted: "+f.Name, "PLAINTEXT (Consul gossip): memberlist messages in the clear")
		}
		return check.Passf("encrypted: "+f.Name, "ENCRYPTED")
	}
	checks := c.CheckWire(context.Background())
	failed := 0
	for _, ch := range checks {
		if !ch.Pass {
			failed++
			requireCheck(t, ch, false, "memberlist messages in the clear")
		}
	}
	if failed != 1 || len(checks) != len(c.Flows()) {
		t.Errorf("CheckWire gave %d checks, %d failed, for %d flows: %v", len(checks), failed, len(c.Flows()), checks)
	}
}
