package tui

import (
	"math"

	"github.com/ztlab/zt-lab/scenes"
)

// livePanel is one of the live panels beside the narration: the row of
// the panels table that says what it is called, how it is drawn, what it
// reads, and where tab finds it.
type livePanel struct {
	id    scenes.Panel
	title string
	// draw renders a panel that fills its box itself, in w×h.
	draw func(m *Model, w, h int) []string
	// list renders a panel that is a list, maybe longer than its box,
	// scrolled with pgup and pgdn. With fromEnd it shows its newest lines
	// (at its end) first, and limit says how many of its last lines can
	// be seen; otherwise limit is only a hint.
	list    func(m *Model, w, limit int) []string
	fromEnd bool
	// read says what the refresh reads of the lab for it, at h lines.
	read func(want *snapshotWant, h int)
	// mesh says it shows what Options.Mesh says: asked again once a second
	// while it is on screen.
	mesh bool
}

// panels are the live panels, in the order tab cycles them. A new panel is
// a row here and a file of its own with its renderer; a scene asks for it
// by its id (a scenes.Panel constant when a scene names it).
var panels = []livePanel{
	{id: scenes.PanelTopology, title: "topology · the lab's hosts and wire", draw: (*Model).topologyPanel, mesh: true},
	{id: scenes.PanelSniffer, title: "sniffer · the wire as tcpdump -X shows it", draw: (*Model).snifferPanel, read: readSniffer},
	{id: panelFlows, title: "flows · what the sniffer could read", list: (*Model).flowsPanel, read: readFlows},
	{id: scenes.PanelConsumer, title: "consumer · fortunes fcc00 received", list: (*Model).consumerPanel, fromEnd: true, read: readConsumer},
	{id: scenes.PanelCluster, title: "cluster · consul members and raft", list: (*Model).clusterPanel, mesh: true},
	{id: scenes.PanelCerts, title: "certificates · identities and the CA", list: (*Model).certsPanel, mesh: true},
	{id: scenes.PanelTimeline, title: "timeline", list: (*Model).timelinePanel, fromEnd: true},
	{id: scenes.PanelReport, title: "report card · every check and its evidence", list: (*Model).reportPanel},
}

// panelOf is the row of the panel id in the model's table (panels, unless
// a test gave it its own); the first (the topology) for an id no row has.
func (m *Model) panelOf(id scenes.Panel) livePanel {
	for _, p := range m.panels {
		if p.id == id {
			return p
		}
	}
	return m.panels[0]
}

// panelTitle names the live panel.
func (m *Model) panelTitle() string { return m.panelOf(m.currentPanel()).title }

// cyclePanel shows the panel after the one on screen, in the table's order
// (tab).
func (m *Model) cyclePanel() {
	cur := m.currentPanel()
	next := m.panels[0].id
	for i, p := range m.panels {
		if p.id == cur {
			next = m.panels[(i+1)%len(m.panels)].id
		}
	}
	m.panel, m.panelScroll = next, 0
}

// panelBox renders the live panel, or what stands in for it: the host
// picker, or the error of the scene's last run.
func (m *Model) panelBox(w, h int) []string {
	switch {
	case m.picker != nil:
		return m.pickerBox(w, h)
	case m.failure != nil && m.failure.scene == m.cur && !m.dismissed:
		return m.failureBox(w, h)
	}
	if p := m.panelOf(m.currentPanel()); p.draw != nil {
		return p.draw(m, w, h)
	}
	// A list that shows its end renders only what can be seen of it.
	lines, fromEnd := m.listPanel(w, h+max(-m.panelScroll, 0))
	return block(window(lines, h, m.panelScroll, fromEnd), w, h)
}

// listPanel renders a panel that is a list longer than the screen;
// fromEnd says it shows its newest lines first (scrolling back), and then
// only the last limit lines are rendered.
func (m *Model) listPanel(w, limit int) (lines []string, fromEnd bool) {
	p := m.panelOf(m.currentPanel())
	if p.list == nil {
		return nil, false
	}
	return p.list(m, w, limit), p.fromEnd
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
