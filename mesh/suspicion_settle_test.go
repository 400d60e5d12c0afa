package mesh

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// TestAnAgentThatHoldsALiveNodeFailedJoinsItAgain: fcs00 alone holds fcc00
// failed. The wait for a settled mesh gives it staleAfter, then says what
// fcs00's log has on fcc00 and has fcs00 join it; once fcs00 sees fcc00
// alive, the mesh is settled. An agent that never comes round still fails
// the wait, saying who sees what.
func TestAnAgentThatHoldsALiveNodeFailedJoinsItAgain(t *testing.T) {
	for _, tc := range []struct {
		name    string
		heals   bool
		wantErr string
	}{
		{name: "the join heals the view", heals: true},
		{name: "the join does not", heals: false, wantErr: "fcs00 sees fcc00 failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := goodConsul()
			stale := make([]*api.AgentMember, len(st.members))
			for i, m := range st.members {
				c := *m
				if c.Name == "fcc00" {
					c.Status = 4 // failed
				}
				stale[i] = &c
			}
			var joins []string
			st.views = map[string][]*api.AgentMember{"fcs00": stale}
			st.joined = func(s *consulState, host, addr string) {
				joins = append(joins, host+"→"+addr)
				if tc.heals && host == "fcs00" && addr == "198.18.0.30" {
					delete(s.views, "fcs00")
				}
			}
			cc := newCheckedCluster(t, st)
			cc.agents["fcs00"].proc = newFakeProc(
				"2026-12-07T01:10:53.100Z [INFO]  agent.client.memberlist.lan: memberlist: Suspect fcc00 has failed, no acks received",
				"2026-12-07T01:10:53.500Z [INFO]  agent.client.memberlist.lan: memberlist: Marking fcc00 as failed, suspect timeout reached (0 peer confirmations)")
			var mu sync.Mutex
			var said []string
			cc.opts.Progress = func(line string) { mu.Lock(); said = append(said, line); mu.Unlock() }
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			err := cc.WaitSettled(ctx, "fcc00")
			mu.Lock()
			defer mu.Unlock()
			if tc.wantErr == "" && err != nil {
				t.Fatalf("WaitSettled: %v (said %q)", err, said)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("WaitSettled = %v, want an error saying %q", err, tc.wantErr)
			}
			st.mu.Lock()
			got := slices.Clone(joins)
			st.mu.Unlock()
			if !slices.Equal(got, []string{"fcs00→198.18.0.30"}) {
				t.Errorf("joins %q, want fcs00 to join fcc00 once", got)
			}
			if tc.heals && time.Since(start) < staleAfter {
				t.Errorf("settled after %s: fcs00 was asked to join before it had held fcc00 failed for %s", time.Since(start), staleAfter)
			}
			if len(said) == 0 || !strings.Contains(said[0], "fcs00 sees fcc00 failed after 5s: fcs00 joins it again") || !strings.Contains(said[0], "Marking fcc00 as failed") {
				t.Errorf("said %q: want why fcs00 joins fcc00, with its log's verdict", said)
			}
		})
	}
}
