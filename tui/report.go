package tui

import (
	"github.com/ztlab/zt-lab/scenes"
)

// reportPanel is the report card panel: every check, and every fault.
func (m *Model) reportPanel(w, _ int) []string {
	return reportCard(m.st, m.engine.Scenes, m.results, m.faults, w)
}

// reportCard lists every check of the walkthrough with its evidence: the
// summary scene, and what a presenter shows last.
func reportCard(st *Styles, sc []scenes.Scene, results []scenes.Result, faults []timelineEntry, w int) []string {
	byStep := map[[2]int]scenes.Result{}
	passed, failed, errs := 0, 0, 0
	for _, r := range results {
		byStep[[2]int{r.Scene, r.Step}] = r
		switch {
		case r.Err != nil:
			errs++
		case r.Check != nil && r.Check.Pass:
			passed++
		case r.Check != nil && r.Check.Skipped != "":
		case r.Check != nil:
			failed++
		}
	}
	sum := st.Pass.Render(itoa(passed)+" passed") + st.Dim.Render(" · ")
	if failed > 0 {
		sum += st.Fail.Render(itoa(failed) + " failed")
	} else {
		sum += st.Text.Render("0 failed")
	}
	if errs > 0 {
		sum += st.Dim.Render(" · ") + st.Error.Render(itoa(errs)+" errors")
	}
	injected := 0
	for _, f := range faults {
		if f.ev.Kind == scenes.FaultInjected && f.ev.Err == "" {
			injected++
		}
	}
	if injected > 0 {
		sum += st.Dim.Render(" · ") + st.Fail.Render(plural(injected, "fault")+" injected")
	}
	lines := []string{" " + sum}
	ew := max(w-7, 10)
	for i, s := range sc {
		var rows []string
		for j, step := range s.Steps {
			r, ran := byStep[[2]int{i, j}]
			switch {
			case !ran && step.Verify != nil:
				rows = append(rows, "   "+st.Pending.Render("○ "+step.Title+" (not run)"))
			case !ran:
			case r.Err != nil:
				rows = append(rows, "   "+st.Fail.Render("✗ "+step.Title))
				for _, l := range wrap(r.Err.Error(), ew) {
					rows = append(rows, "       "+st.Error.Render(l))
				}
			case r.Check != nil:
				mark, style := "✓ ", st.Pass
				switch {
				case r.Check.Skipped != "":
					mark, style = "– ", st.Dim
				case !r.Check.Pass:
					mark, style = "✗ ", st.Fail
				}
				rows = append(rows, "   "+style.Render(mark+r.Check.Name))
				for _, e := range r.Check.Evidence {
					for _, l := range wrap(e, ew) {
						rows = append(rows, "       "+st.Text.Render(l))
					}
				}
			}
		}
		if len(rows) == 0 {
			continue
		}
		lines = append(lines, "", " "+st.Title.Render(itoa(i+1)+" "+s.Title))
		lines = append(lines, rows...)
	}
	if len(faults) > 0 {
		lines = append(lines, "", " "+st.Title.Render("Faults")+st.Dim.Render("  every host made to fail, and recovered"))
		for _, f := range faults {
			who := "by hand"
			if ev := f.ev; ev.Fault != nil && !ev.Fault.ByHand && ev.Scene >= 0 && ev.Scene < len(sc) {
				who = "scene " + itoa(ev.Scene+1)
				if ev.Step >= 0 && ev.Step < len(sc[ev.Scene].Steps) {
					who += ", " + sc[ev.Scene].Steps[ev.Step].Title
				}
			}
			lines = append(lines, "   "+faultText(st, f.ev)+st.Dim.Render(" · "+who+" · at "+seconds(f.at)))
		}
	}
	return lines
}

// plural is n and the word, with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return itoa(n) + " " + word + "s"
}
