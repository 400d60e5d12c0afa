package tui

import (
	"math"

	"github.com/ztlab/zt-lab/scenes"
)

// panelBox renders the live panel, or what stands in for it: the host
// picker, or the error of the scene's last run.
func (m *Model) panelBox(w, h int) []string {
	switch {
	case m.picker != nil:
		return m.pickerBox(w, h)
	case m.failure != nil && m.failure.scene == m.cur && !m.dismissed:
		return m.failureBox(w, h)
	}
	switch p := m.currentPanel(); p {
	case scenes.PanelTopology:
		return topology(m.st, m.topologyData(), w, h)
	case scenes.PanelSniffer:
		return snifferPanel(m.st, m.snap, w, h)
	}
	// A list that shows its end renders only what can be seen of it.
	lines, fromEnd := m.listPanel(w, h+max(-m.panelScroll, 0))
	return block(window(lines, h, m.panelScroll, fromEnd), w, h)
}

// listPanel renders a panel that is a list longer than the screen;
// fromEnd says it shows its newest lines first (scrolling back), and then
// only the last limit lines are rendered.
func (m *Model) listPanel(w, limit int) (lines []string, fromEnd bool) {
	switch m.currentPanel() {
	case panelFlows:
		return flowTable(m.st, m.snap, w), false
	case scenes.PanelConsumer:
		return consumerLog(m.st, m.snap, limit), true
	case scenes.PanelCluster:
		return clusterPanel(m.st, m.clusterData(), w), false
	case scenes.PanelCerts:
		return certsPanel(m.st, m.mesh, m.haveMesh, m.meshErr, w), false
	case scenes.PanelTimeline:
		return timelinePanel(m.st, m.engine.Scenes, tail(m.timeline, limit), w), true
	case scenes.PanelReport:
		return reportCard(m.st, m.engine.Scenes, m.results, m.faults, w), false
	}
	return nil, false
}

// window shows h lines of a list: from the top, scrolled down by scroll;
// or, fromEnd, the last h lines scrolled back by -scroll.
func window(lines []string, h, scroll int, fromEnd bool) []string {
	extra := max(len(lines)-h, 0)
	if fromEnd {
		back := min(max(-scroll, 0), extra)
		return lines[extra-back : len(lines)-back]
	}
	off := min(max(scroll, 0), extra)
	return lines[off:min(off+h, len(lines))]
}

// scrollPanel moves a list panel by a page, up (-1) or down (1), within
// its length.
func (m *Model) scrollPanel(dir int) {
	g := m.geometry()
	page := max(g.panelH-2, 1)
	lines, fromEnd := m.listPanel(g.panelW, math.MaxInt)
	extra := max(len(lines)-g.panelH, 0)
	m.panelScroll += dir * page
	if fromEnd {
		m.panelScroll = min(max(m.panelScroll, -extra), 0)
	} else {
		m.panelScroll = min(max(m.panelScroll, 0), extra)
	}
}

func (m *Model) failureBox(w, h int) []string {
	st := m.st
	f := m.failure
	what := "scene " + itoa(f.scene+1)
	if f.title != "" {
		what = "step " + itoa(f.step+1) + " (" + f.title + ")"
	}
	lines := []string{" " + st.Error.Render("✗ "+what+" failed")}
	for _, l := range wrap(f.err, max(w-3, 1)) {
		lines = append(lines, "   "+st.Text.Render(l))
	}
	if len(f.output) > 0 {
		lines = append(lines, "", " "+st.Dim.Render("its last output:"))
		rows := max(h-len(lines)-1, 1)
		for _, l := range tail(f.output, rows) {
			lines = append(lines, "   "+st.Dim.Render(l))
		}
	}
	lines = append(lines, " "+st.Dim.Render("enter retries the step · esc shows the panel"))
	if len(lines) > h {
		// The hint and the error matter most; the output is cut.
		lines = append(lines[:h-1], lines[len(lines)-1])
	}
	return block(lines, w, h)
}

func (m *Model) pickerBox(w, h int) []string {
	st := m.st
	lines := []string{" " + st.Title.Render(m.picker.title), ""}
	for i, name := range m.picker.items {
		row := "  " + itoa(i+1) + "  " + name
		if i == m.picker.sel {
			row = st.Cursor.Render("▶") + st.Current.Render(" "+itoa(i+1)+"  "+name+" ")
		}
		lines = append(lines, row)
	}
	lines = append(lines, "", " "+st.Dim.Render(m.picker.note))
	start := 0
	if need := m.picker.sel + 3; need > h {
		start = need - h
	}
	return block(lines[start:], w, h)
}
