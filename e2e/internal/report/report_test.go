package report

import (
	"strings"
	"testing"
)

// The tampering claims are exactly those of the two attacker scenes.
func TestTamperingClaimsAreTheAttackersScenes(t *testing.T) {
	if len(TamperingClaims) != 10 {
		t.Fatalf("%d tampering claims: %q", len(TamperingClaims), TamperingClaims)
	}
	for _, c := range TamperingClaims {
		if !strings.Contains(c, "mallory") && !strings.Contains(c, "tampered") && !strings.Contains(c, "never served") {
			t.Errorf("claim %q is not the attacker's", c)
		}
	}
}

// The report card's check must name the report's provider and count the
// other scenes' checks as they are.
func TestTheReportCardIsHeldToTheRunsData(t *testing.T) {
	scenes := func(card string) []reportScene {
		var sc []reportScene
		for i, c := range []struct {
			name     string
			pass     bool
			evidence string
		}{
			{"consumer received a fortune", true, "fcc00 printed one"},
			{"leader elected", false, "no leader"},
			{SummaryClaims[0], false, card},
		} {
			s := reportScene{Number: i + 1}
			s.Steps = append(s.Steps, reportStep{Title: c.name,
				Check: &reportCheck{Name: c.name, Pass: c.pass, Evidence: []string{c.evidence}}})
			sc = append(sc, s)
		}
		return sc
	}
	for _, tc := range []struct {
		provider, card string
		ok             bool
	}{
		{"local", "on local (namespaces on this machine): 1 checks passed, 1 failed, 0 skipped", true},
		{"local", "on equinix (Equinix Metal): 1 checks passed, 1 failed, 0 skipped", false},
		{"local", "on local (namespaces on this machine): 2 checks passed, 0 failed, 0 skipped", false},
	} {
		if got := summaryFailures(tc.provider, scenes(tc.card)); (len(got) == 0) != tc.ok {
			t.Errorf("provider %s, card %q: failures %q, want ok=%v", tc.provider, tc.card, got, tc.ok)
		}
	}
}
