// Package report checks a walkthrough's JSON report the same way for every
// provider: every step without error, every check passed with evidence,
// and every claim of the story checked.
package report

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// Claims are the checks a full walkthrough must make, by name.
var Claims = []string{
	"five hosts up on one wire",
	"consumer received a fortune",
	"the sniffer read the fortune in the clear",
	"leader elected",
	"5 members alive",
	"sidecars healthy",
	"consumer received a fortune through the mesh",
	"no fortune bytes on the wire through the mesh",
	"Consul gossip and RPC on the wire are encrypted",
	"fortune service listens on 127.0.0.1:8181",
	"fcc00 → fcs00:8181 refused",
	"fcc is still allowed to fcs",
	"rogue → fcs denied",
	"every service carries an identity from the active root",
	"fortunes flow through a CA rotation, with leaves from the new root",
	"three fcs instances healthy",
	"the consumer kept getting fortunes while instances failed",
	"a new leader took over and the mesh kept serving",
}

// ResilienceClaims are the claims of scene 11, the timed failures.
var ResilienceClaims = Claims[len(Claims)-3:]

// Check reads the report `zt-lab run --json path` wrote and fails t for
// every step that erred, every check that failed or has no evidence, and
// every claim never checked; stdout must hold the report card.
func Check(t testing.TB, path, stdout string) {
	t.Helper()
	CheckClaims(t, path, stdout, Claims)
}

// CheckClaims is Check for a run of some scenes: claims are those they
// make.
func CheckClaims(t testing.TB, path, stdout string, claims []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var results []struct {
		Scene int    `json:"scene"`
		Step  string `json:"step"`
		Error string `json:"error"`
		Check *struct {
			Name     string   `json:"name"`
			Pass     bool     `json:"pass"`
			Evidence []string `json:"evidence"`
		} `json:"check"`
	}
	if err := json.Unmarshal(b, &results); err != nil {
		t.Fatal(err)
	}
	checks := map[string]bool{}
	for _, res := range results {
		if res.Error != "" {
			t.Errorf("scene %d, %s: %s", res.Scene, res.Step, res.Error)
		}
		if res.Check == nil {
			continue
		}
		checks[res.Check.Name] = true
		if !res.Check.Pass || len(res.Check.Evidence) == 0 {
			t.Errorf("scene %d: check %q pass=%v evidence=%q", res.Scene, res.Check.Name, res.Check.Pass, res.Check.Evidence)
		}
	}
	for _, want := range claims {
		if !checks[want] {
			t.Errorf("the walkthrough never checked %q", want)
		}
	}
	if !strings.Contains(stdout, "checks passed, 0 failed") {
		t.Errorf("no report card in the output")
	}
}
