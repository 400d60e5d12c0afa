package scenes

import (
	"context"
	"strings"

	"github.com/ztlab/zt-lab/check"
)

// sceneSummary is the report card: every check run so far, on whatever
// lab there is, and a last check that counts them.
func sceneSummary() Scene {
	return Scene{
		ID: "summary", Title: "Summary", Panel: PanelReport,
		AnyStage: true,
		Steps: []Step{{
			Title: "Report card",
			Shell: "zt-lab run --json report.json",
			Verify: func(_ context.Context, env *Env) check.Check {
				return reportCard(env.Tally(), env.Provider)
			},
		}},
	}
}

// reportCard is the summary's claim, made of what ran and nothing more:
// every check that ran passed, so many of them, on this provider, in these
// scenes. A run with no check, or a failed one, does not pass.
func reportCard(t Tally, provider string) check.Check {
	const name = "every check that ran passed"
	if provider == "" {
		provider = "a lab whose provider was not named"
	}
	c := check.Check{Name: name}
	c.Seen("on %s: %d checks passed, %d failed, %d skipped", provider, t.Passed, t.Failed, t.Skipped)
	c.Seen("%d of %d scenes ran a step", len(t.Ran), len(t.Ran)+len(t.NotRun))
	if len(t.NotRun) > 0 {
		c.Seen("not run, so not proved here: %s", strings.Join(t.NotRun, ", "))
	}
	if t.Skipped > 0 {
		c.Seen("%d checks could not be put to the test on this lab: skipped, not passed", t.Skipped)
	}
	switch {
	case t.Passed+t.Failed+t.Skipped == 0:
		c.Seen("no check ran before the report card: it proves nothing")
	case t.Failed > 0:
		c.Seen("%d failed: the walkthrough's claims do not all hold here", t.Failed)
	default:
		c.Pass = true
	}
	return c
}
