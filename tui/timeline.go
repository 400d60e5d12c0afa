package tui

import (
	"github.com/ztlab/zt-lab/scenes"
)

// timelinePanel is the timeline panel: every event the screen kept,
// newest last.
func (m *Model) timelinePanel(w, limit int) []string {
	return timelinePanel(m.st, m.engine.Scenes, tail(m.timeline, limit), w)
}

// timelinePanel lists what happened, newest last: steps, checks, output,
// errors.
func timelinePanel(st *Styles, sc []scenes.Scene, tl []timelineEntry, w int) []string {
	if len(tl) == 0 {
		return []string{" " + st.Dim.Render("nothing has happened yet")}
	}
	lines := make([]string, 0, len(tl))
	for _, e := range tl {
		ev := e.ev
		at := st.Dim.Render(pad(seconds(e.at), 8))
		where := ""
		if ev.Scene >= 0 && ev.Scene < len(sc) {
			where = st.Dim.Render(itoa(ev.Scene+1) + "." + itoa(ev.Step+1) + " ")
		}
		var what string
		switch ev.Kind {
		case scenes.SceneStarted:
			what = st.Title.Render("scene " + ev.Text)
			where = st.Dim.Render(itoa(ev.Scene+1) + "   ")
		case scenes.StepStarted:
			what = st.Bold.Render(ev.Text)
		case scenes.Output:
			what = st.Dim.Render(ev.Text)
		case scenes.CheckDone:
			if ev.Check != nil {
				switch {
				case ev.Check.Pass:
					what = st.Pass.Render("✓ " + ev.Check.Name)
				case ev.Check.Skipped != "":
					what = st.Dim.Render("– " + ev.Check.Name)
				default:
					what = st.Fail.Render("✗ " + ev.Check.Name)
				}
				if len(ev.Check.Evidence) > 0 {
					what += st.Dim.Render(": " + firstLine(ev.Check.Evidence[0]))
				}
			}
		case scenes.StepDone:
			if ev.Err != "" {
				what = st.Error.Render("error: " + firstLine(ev.Err))
			} else {
				what = st.Dim.Render("done in " + seconds(ev.Took))
			}
		case scenes.SceneDone:
			where = st.Dim.Render(itoa(ev.Scene+1) + "   ")
			what = st.Dim.Render("scene done in " + seconds(ev.Took))
			if ev.Err != "" {
				what = st.Error.Render("scene stopped: " + firstLine(ev.Err))
			}
		case scenes.LabChanged:
			what = st.Status.Render("the lab changed")
		case scenes.Preparing:
			what = st.Running.Render("preparing: " + ev.Text)
		case scenes.FaultInjected, scenes.FaultRecovered:
			what = faultText(st, ev)
			if ev.Fault != nil && ev.Fault.ByHand {
				what += st.Dim.Render(" · by hand")
			}
		}
		lines = append(lines, " "+at+where+what)
	}
	return lines
}

// faultText says what a fault event did: "⚡ fcs00 partition", "↺ fcs00
// recovered from partition", or why it could not.
func faultText(st *Styles, ev scenes.Event) string {
	f := ev.Fault
	if f == nil {
		return ""
	}
	var what string
	style, mark := st.Fail, "⚡ "
	if ev.Kind == scenes.FaultRecovered {
		style, mark, what = st.HostUp, "↺ ", f.Host+" recovered"
		if f.Mode != "" {
			what += " from " + string(f.Mode)
		}
	} else {
		what = f.Host + " " + string(f.Mode)
	}
	if ev.Err != "" {
		return st.Error.Render("✗ " + what + " failed: " + firstLine(ev.Err))
	}
	return style.Render(mark + what)
}
