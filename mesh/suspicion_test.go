package mesh

import (
	"strings"
	"testing"
	"time"
)

func TestSuspicionReadsMemberlistVerdicts(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	since := at("2026-12-04T20:19:06.000Z")
	for _, tc := range []struct {
		name  string
		lines map[string][]string // agent -> its log
		want  Suspicion
		says  string
	}{
		{"a probe, then a failure confirmed by a peer", map[string][]string{
			"consul00": {
				"2026-12-04T20:19:06.210Z [INFO]  agent.server.memberlist.lan: memberlist: Suspect fcs01 has failed, no acks received",
				"2026-12-04T20:19:06.815Z [INFO]  agent.server.memberlist.lan: memberlist: Marking fcs01 as failed, suspect timeout reached (1 peer confirmations)",
			},
			"fcc00": {"2026-12-04T20:19:06.400Z [INFO]  agent.client.memberlist.lan: memberlist: Suspect fcs01 has failed, no acks received"},
		}, Suspicion{Node: "fcs01", Suspected: at("2026-12-04T20:19:06.210Z"), SuspectedBy: "consul00", Failed: at("2026-12-04T20:19:06.815Z"), FailedBy: "consul00", Confirmations: 1},
			"consul00 declared it failed at 20:19:06.815 with 1 peer confirmation(s), 605ms after the probe"},
		{"no confirmation: the longest timeout", map[string][]string{
			"consul01": {
				"2026-12-04T20:19:06.100Z [INFO]  agent.server.memberlist.lan: memberlist: Suspect fcs01 has failed, no acks received",
				"2026-12-04T20:19:09.700Z [INFO]  agent.server.memberlist.lan: memberlist: Marking fcs01 as failed, suspect timeout reached (0 peer confirmations)",
			},
		}, Suspicion{Node: "fcs01", Suspected: at("2026-12-04T20:19:06.100Z"), SuspectedBy: "consul01", Failed: at("2026-12-04T20:19:09.700Z"), FailedBy: "consul01"},
			"3.6s after the probe"},
		{"suspected from gossip only, before since, and other nodes ignored", map[string][]string{
			"consul02": {
				"2026-12-04T20:19:05.900Z [INFO]  agent.server.memberlist.lan: memberlist: Suspect fcs00 has failed, no acks received",
				"2026-12-04T20:19:06.300Z [INFO]  agent.server.memberlist.lan: memberlist: Suspect fcs02 has failed, no acks received",
				"2026-12-04T20:19:06.320Z [INFO]  agent.server.memberlist.lan: memberlist: Marking fcs00 as failed, suspect timeout reached (2 peer confirmations)",
				"not a log line",
				"2026-12-04T20:19:06.330Z [INFO]  agent.server: member failed, marking health critical: member=fcs00",
			},
		}, Suspicion{Node: "fcs00", Failed: at("2026-12-04T20:19:06.320Z"), FailedBy: "consul02", Confirmations: 2},
			"no agent logged a failed probe of fcs00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Suspicion{Node: tc.want.Node}
			for agent, lines := range tc.lines {
				for _, l := range lines {
					s.add(agent, l, since)
				}
			}
			if !s.Suspected.Equal(tc.want.Suspected) || s.SuspectedBy != tc.want.SuspectedBy || !s.Failed.Equal(tc.want.Failed) || s.FailedBy != tc.want.FailedBy || s.Confirmations != tc.want.Confirmations {
				t.Errorf("got %+v, want %+v", s, tc.want)
			}
			if !strings.Contains(s.String(), tc.says) {
				t.Errorf("%q does not say %q", s.String(), tc.says)
			}
		})
	}
}

func FuzzMemberlistVerdict(f *testing.F) {
	f.Add("2026-12-04T20:19:06.696Z [INFO]  agent.server.memberlist.lan: memberlist: Marking fcs01 as failed, suspect timeout reached (1 peer confirmations)")
	f.Add("2026-12-04T20:19:06.696Z [INFO]  agent.server.memberlist.lan: memberlist: Suspect fcs01 has failed, no acks received")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, line string) {
		s := Suspicion{Node: "fcs01"}
		s.add("consul00", line, time.Time{})
		if s.Confirmations < 0 {
			t.Errorf("%d confirmations read from %q", s.Confirmations, line)
		}
		if !s.Failed.IsZero() && !strings.Contains(line, "Marking fcs01 as failed, suspect timeout reached (") {
			t.Errorf("a failure read from %q", line)
		}
		if !s.Suspected.IsZero() && !strings.Contains(line, "Suspect fcs01 has failed, no acks received") {
			t.Errorf("a suspicion read from %q", line)
		}
		if !strings.Contains(s.String(), "fcs01") {
			t.Errorf("%q does not name the node", s.String())
		}
	})
}
