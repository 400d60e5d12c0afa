package tui

import (
	"strconv"
	"strings"
	"time"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/mesh"
	"github.com/ztlab/zt-lab/scenes"
)

// consumerLog is what the consumer on fcc00 received, newest last; only
// the last limit lines are rendered.
func consumerLog(st *Styles, s *snapshot, limit int) []string {
	lines := []string{" " + st.Dim.Render("fortunes served so far: ") + st.Bold.Render(itoa(s.served)), ""}
	if len(s.consumer) == 0 {
		return append(lines, " "+st.Dim.Render("the consumer has received nothing yet"))
	}
	if len(s.consumer) > limit {
		lines = lines[:0]
	}
	for _, l := range tail(s.consumer, limit) {
		lines = append(lines, " "+st.Text.Render(l))
	}
	return lines
}

// clusterData is what the cluster panel shows.
type clusterData struct {
	view     mesh.View
	have     bool
	err      string
	servers  []scenes.HostView
	deployed bool
}

func (m *Model) clusterData() clusterData {
	d := clusterData{view: m.mesh, have: m.haveMesh, err: m.meshErr, deployed: m.snap.lab}
	for _, h := range m.snap.hosts {
		if h.Role == infra.RoleConsul {
			d.servers = append(d.servers, h)
		}
	}
	return d
}

// clusterPanel shows the raft peers with the leader marked, the members
// as `consul members` does, and the intentions.
func clusterPanel(st *Styles, d clusterData, w int) []string {
	var lines []string
	if !d.have || len(d.view.Members) == 0 && len(d.view.Peers) == 0 {
		lines = append(lines, " "+st.Dim.Render("No cluster to show yet."))
		if d.err != "" {
			lines = append(lines, " "+st.Error.Render(d.err))
		}
		for _, h := range d.servers {
			lines = append(lines, "   "+st.Bold.Render(h.Name)+" "+hostState(st, h, d.deployed))
		}
		return lines
	}
	v := d.view
	leader := st.Fail.Render("none: no quorum")
	if v.Leader != "" {
		leader = st.Leader.Render("★ " + v.Leader)
	}
	lines = append(lines, " "+st.Title.Render("Raft")+st.Dim.Render("  leader ")+leader)
	for _, p := range v.Peers {
		mark := "  "
		if p == v.Leader {
			mark = st.Leader.Render("★ ")
		}
		lines = append(lines, "   "+mark+st.Text.Render(p)+st.Dim.Render(" voter"))
	}
	lines = append(lines, "", " "+st.Title.Render("Members")+st.Dim.Render("  consul members"))
	nameW, addrW := 8, 11
	for _, mb := range v.Members {
		nameW, addrW = max(nameW, len(mb.Name)), max(addrW, len(mb.Addr))
	}
	lines = append(lines, "   "+st.Dim.Render(pad("Node", nameW)+"  "+pad("Address", addrW)+"  "+pad("Status", 7)+"  Type"))
	for _, mb := range v.Members {
		status := st.HostUp.Render(pad(mb.Status, 7))
		if mb.Status != "alive" {
			status = st.HostFailed.Render(pad(mb.Status, 7))
		}
		lines = append(lines, "   "+st.Bold.Render(pad(mb.Name, nameW))+"  "+st.Text.Render(pad(mb.Addr, addrW))+"  "+status+"  "+st.Text.Render(mb.Role))
	}
	if len(v.Intentions) > 0 {
		lines = append(lines, "", " "+st.Title.Render("Intentions"))
		for _, in := range v.Intentions {
			style := st.Text
			if strings.Contains(in, "deny") {
				style = st.Fail
			} else if strings.Contains(in, "allow") {
				style = st.Pass
			}
			lines = append(lines, "   "+style.Render(in))
		}
	}
	return lines
}

func pad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(" ", n-len(s))
}

// certsPanel shows the Connect CA's roots and each service's identity.
func certsPanel(st *Styles, v mesh.View, have bool, errText string, w int) []string {
	if !have || len(v.Roots) == 0 && len(v.Leaves) == 0 {
		lines := []string{" " + st.Dim.Render("No certificates yet: the Connect CA signs them once the mesh is up.")}
		if errText != "" {
			lines = append(lines, " "+st.Error.Render(errText))
		}
		return lines
	}
	lines := []string{" " + st.Title.Render("Connect CA roots")}
	for _, r := range v.Roots {
		mark := "  "
		if r.Active {
			mark = st.Leader.Render("★ ")
		}
		lines = append(lines, "   "+mark+st.Bold.Render(r.Name)+st.Dim.Render(" until "+day(r.NotAfter)))
		lines = append(lines, "     "+st.Dim.Render("sha256 "+r.Fingerprint))
	}
	lines = append(lines, "", " "+st.Title.Render("Service identities")+st.Dim.Render("  leaf certificates"))
	for _, c := range v.Leaves {
		lines = append(lines, "   "+st.Lock.Render("🔒 ")+st.Bold.Render(c.Service)+"  "+st.Text.Render(c.URI))
		lines = append(lines, "      "+st.Dim.Render("serial "+c.Serial+" · valid "+stamp(c.NotBefore)+" to "+stamp(c.NotAfter)))
		if c.Root != "" {
			lines = append(lines, "      "+st.Dim.Render("signed by root "+c.Root))
		}
	}
	return lines
}

func day(t time.Time) string   { return t.UTC().Format("2006-01-02") }
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

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
				if ev.Check.Pass {
					what = st.Pass.Render("✓ " + ev.Check.Name)
				} else {
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

// plural is n and the word, with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return itoa(n) + " " + word + "s"
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
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
				if !r.Check.Pass {
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
