package mesh

import (
	"testing"
	"time"
)

func TestRaftTimeoutsFromAgentSelf(t *testing.T) {
	tests := []struct {
		name    string
		debug   map[string]any
		hb, el  time.Duration
		wantErr bool
	}{
		{"the lab's consul", map[string]any{"ConsulRaftHeartbeatTimeout": "500ms", "ConsulRaftElectionTimeout": "500ms"}, 500 * time.Millisecond, 500 * time.Millisecond, false},
		{"stock, raft_multiplier 5", map[string]any{"ConsulRaftHeartbeatTimeout": "5s", "ConsulRaftElectionTimeout": "5s"}, 5 * time.Second, 5 * time.Second, false},
		{"no election timeout", map[string]any{"ConsulRaftHeartbeatTimeout": "1s"}, 0, 0, true},
		{"not a string", map[string]any{"ConsulRaftHeartbeatTimeout": 1e9, "ConsulRaftElectionTimeout": "1s"}, 0, 0, true},
		{"not a duration", map[string]any{"ConsulRaftHeartbeatTimeout": "soon", "ConsulRaftElectionTimeout": "1s"}, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hb, el, err := raftTimeouts(map[string]map[string]any{"DebugConfig": tt.debug})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			if hb != tt.hb || el != tt.el {
				t.Errorf("got %s, %s; want %s, %s", hb, el, tt.hb, tt.el)
			}
		})
	}
}
