package mesh

import (
	"context"
	"testing"

	"github.com/hashicorp/consul/api"
)

func TestCheckRaftPeers(t *testing.T) {
	servers := []string{"consul00", "consul01", "consul02"}
	expecting := func(s *consulState, n int) {
		s.expect = map[string]int{}
		for _, h := range servers {
			s.expect[h] = n
		}
	}
	for _, tc := range []struct {
		name   string
		break_ func(*consulState)
		pass   bool
		why    []string
	}{
		{"three voters, each server agrees", func(*consulState) {}, true,
			[]string{"consul00: 3 raft peers, 3 voters: consul00, consul01, consul02",
				"consul02: 3 raft peers, 3 voters: consul00, consul01, consul02", "consul01: bootstrap_expect 3"}},
		{"one server is not a voter", func(s *consulState) { s.raft.Servers[2].Voter = false }, false,
			[]string{"consul00: raft peer consul02 is not a voter", "consul00: 3 raft peers, 2 voters: consul00, consul01"}},
		{"a server never joined raft", func(s *consulState) { s.raft.Servers = s.raft.Servers[:2] }, false,
			[]string{"consul00: 2 raft peers, want 3"}},
		{"a server is alone in its own raft", func(s *consulState) {
			s.rafts = map[string]api.RaftConfiguration{"consul02": {Servers: []*api.RaftServer{{ID: "consul02", Node: "consul02", Address: "198.18.0.12:8300", Voter: true, Leader: true}}}}
		}, false,
			[]string{"consul02: 1 raft peers, 1 voters: consul02", "consul02: 1 raft peers, want 3"}},
		{"a stranger in raft", func(s *consulState) {
			s.raft.Servers = append(s.raft.Servers, &api.RaftServer{ID: "x", Node: "mallory", Address: "198.18.0.66:8300", Voter: true})
		}, false,
			[]string{"raft peer mallory (198.18.0.66:8300) is not a consul host of the lab", "4 raft peers, want 3"}},
		{"a peer at another address", func(s *consulState) { s.raft.Servers[1].Address = "198.18.0.99:8300" }, false,
			[]string{"raft peer consul01 at 198.18.0.99:8300, want 198.18.0.11:8300"}},
		{"started expecting one server", func(s *consulState) { expecting(s, 1) }, false,
			[]string{"consul00: bootstrap_expect 1, want 3"}},
		{"self says nothing of bootstrap_expect", func(s *consulState) { s.expect = nil }, false,
			[]string{"consul00: /v1/agent/self has no DebugConfig.BootstrapExpect"}},
		{"raft does not answer", func(s *consulState) { s.broken = map[string]bool{"/v1/operator/raft/configuration": true} }, false,
			[]string{"consul00: raft configuration:", "500"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := goodConsul()
			expecting(st, 3)
			st.set(tc.break_)
			c := newCheckedCluster(t, st)
			requireCheck(t, c.CheckRaftPeers(context.Background(), 3), tc.pass, tc.why...)
		})
	}
	t.Run("a lab of one server", func(t *testing.T) {
		c := newCheckedCluster(t, goodConsul())
		requireCheck(t, c.CheckRaftPeers(context.Background(), 5), false, "the lab has 3 consul hosts, want 5")
	})
}
