package mesh

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"strconv"
	"testing"

	"github.com/ztlab/zt-lab/assets"
	"github.com/ztlab/zt-lab/infra"
)

// TestServersNotesSayWhatTheConfigHolds ties the servers scene's speaker
// notes to the configuration the lab's servers get: the presenter says
// bootstrap_expect=3 and raft_multiplier=1, and a server of the default
// topology is configured with exactly those. Change one and the other
// must follow.
func TestServersNotesSayWhatTheConfigHolds(t *testing.T) {
	notes, err := fs.ReadFile(assets.FS, "scenes/servers.notes.md")
	if err != nil {
		t.Fatal(err)
	}
	said := func(key string) int {
		t.Helper()
		m := regexp.MustCompile(key + `=(\d+)`).FindSubmatch(notes)
		if m == nil {
			t.Fatalf("the servers notes no longer say %s=N: drop this test's claim with it", key)
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	var servers int
	for _, h := range infra.DefaultTopology().Hosts {
		if h.Role == infra.RoleConsul {
			servers++
		}
	}
	spec := AgentSpec{Node: "consul00", Addr: labServers[0], Server: true, Servers: labServers[:servers],
		Datacenter: "dc1", GossipKey: testGossipKey, Dir: "/d", AgentToken: testAgentToken, ManagementToken: testManagement}
	b, err := spec.Config()
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		BootstrapExpect int `json:"bootstrap_expect"`
		Performance     struct {
			RaftMultiplier int `json:"raft_multiplier"`
		} `json:"performance"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if n := said("bootstrap_expect"); n != cfg.BootstrapExpect || n != servers {
		t.Errorf("the notes say bootstrap_expect=%d; the default topology has %d servers, configured with bootstrap_expect %d", n, servers, cfg.BootstrapExpect)
	}
	if n := said("raft_multiplier"); n != cfg.Performance.RaftMultiplier {
		t.Errorf("the notes say raft_multiplier=%d; a server's configuration has %d", n, cfg.Performance.RaftMultiplier)
	}
}
