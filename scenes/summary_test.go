package scenes

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ztlab/zt-lab/check"
)

// summaryRun runs the given scenes of a small walkthrough, then the
// built-in report card, on a lab named provider, and returns the report
// card's check.
func summaryRun(t *testing.T, provider string, failing bool, run ...int) check.Check {
	t.Helper()
	verdict := func(name string, pass bool) Step {
		return Step{Title: name, Verify: func(context.Context, *Env) check.Check {
			if pass {
				return check.Passf(name, "saw %s", name)
			}
			return check.Failf(name, "did not see %s", name)
		}}
	}
	ws := []Scene{
		{ID: "fortune", Title: "The fortune", AnyStage: true, Steps: []Step{verdict("consumer received a fortune", true)}},
		{ID: "mitm", Title: "The man in the middle", AnyStage: true, Steps: []Step{
			verdict("the sniffer read the fortune in the clear", !failing),
			{Title: "no attacker", Verify: func(context.Context, *Env) check.Check {
				return check.Skipf("mallory tampers", "this lab has no attacker host")
			}},
		}},
		{ID: "servers", Title: "Three servers", AnyStage: true, Steps: []Step{verdict("leader elected", true)}},
		sceneSummary(),
	}
	e := New(&Env{Provider: provider}, ws)
	for _, i := range append(run, len(ws)-1) {
		if err := e.RunScene(context.Background(), i); err != nil && !errors.Is(err, ErrCheckFailed) {
			t.Fatal(err)
		}
	}
	res := e.Results()
	last := res[len(res)-1]
	if last.Scene != len(ws)-1 || last.Check == nil {
		t.Fatalf("the report card made no check: %+v", last)
	}
	return *last.Check
}

func TestTheReportCardClaimsOnlyWhatRan(t *testing.T) {
	for _, tc := range []struct {
		name     string
		provider string
		failing  bool
		run      []int
		pass     bool
		want     []string
		not      []string
	}{
		{"everything ran and passed, on the local lab", "local (namespaces on this machine)", false, []int{0, 1, 2}, true,
			[]string{"on local (namespaces on this machine): 3 checks passed, 0 failed, 1 skipped", "3 of 3 scenes ran a step",
				"1 checks could not be put to the test on this lab: skipped, not passed"},
			[]string{"not run", "equinix", "Equinix"}},
		{"a run of two scenes names the one that did not run", "ssh (your own hosts)", false, []int{0, 2}, true,
			[]string{"on ssh (your own hosts): 2 checks passed, 0 failed, 0 skipped", "2 of 3 scenes ran a step",
				"not run, so not proved here: The man in the middle"},
			[]string{"skipped, not passed"}},
		{"a failed check fails the report card", "equinix (Equinix Metal)", true, []int{0, 1, 2}, false,
			[]string{"on equinix (Equinix Metal): 2 checks passed, 1 failed, 1 skipped", "1 failed: the walkthrough's claims do not all hold here"},
			nil},
		{"the report card alone proves nothing", "local (namespaces on this machine)", false, nil, false,
			[]string{"0 checks passed, 0 failed, 0 skipped", "0 of 3 scenes ran a step", "no check ran before the report card: it proves nothing"},
			nil},
		{"an unnamed provider is not given a name", "", false, []int{0}, true,
			[]string{"on a lab whose provider was not named: 1 checks passed"},
			[]string{"local", "equinix"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := summaryRun(t, tc.provider, tc.failing, tc.run...)
			if c.Name != "every check that ran passed" || c.Pass != tc.pass {
				t.Errorf("check %s, want pass=%v", c, tc.pass)
			}
			ev := strings.Join(c.Evidence, "\n")
			for _, w := range tc.want {
				if !strings.Contains(ev, w) {
					t.Errorf("evidence lacks %q:\n%s", w, ev)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(ev, w) {
					t.Errorf("evidence says %q, which did not happen:\n%s", w, ev)
				}
			}
		})
	}
}

// TestTheSummaryNarrationClaimsNoProvider keeps the report card's text
// true of every run: what ran and where is the last check's to say, from
// the run's own results, and the narration names no provider and claims
// no check that may not have run.
func TestTheSummaryNarrationClaimsNoProvider(t *testing.T) {
	ws := Walkthrough()
	if err := LoadContent(ws, ""); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ws, func(s Scene) bool { return s.ID == "summary" })
	if i < 0 {
		t.Fatal("no summary scene")
	}
	text := strings.ToLower(ws[i].Narrative + ws[i].Notes)
	for _, claim := range []string{"equinix", "metal", "every claim", "all checks", "every check ran", "ssh", "namespaces"} {
		if strings.Contains(text, claim) {
			t.Errorf("the summary's narration says %q, true of some runs only: leave it to the report card's check", claim)
		}
	}
	steps := ws[i].Steps
	if len(steps) != 1 || steps[0].Verify == nil {
		t.Fatalf("the summary's report card has no check")
	}
}
