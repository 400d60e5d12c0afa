package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// geometry is where each pane goes at the terminal's size.
type geometry struct {
	w, h       int
	listW      int // 0: the scene list is hidden
	listNarrow bool
	contentW   int
	bodyH      int
	side       bool // narration and panel side by side
	narrW      int
	narrH      int
	panelW     int
	panelH     int // without the panel's title line
	checksH    int
}

// Sizes below which the screen gives up on its layout.
const (
	minWidth  = 40
	minHeight = 12
)

func (m *Model) geometry() geometry {
	g := geometry{w: m.width, h: m.height}
	steps := 0
	if len(m.scenes) > 0 {
		steps = len(m.scenes[m.cur].steps)
	}
	g.checksH = 3
	if g.h >= 40 {
		g.checksH = 1 + min(max(steps, 2), 7)
	}
	g.bodyH = max(g.h-2-g.checksH, 1)
	switch {
	case g.w < 60:
	case g.w < 110:
		g.listW, g.listNarrow = 5, true
	default:
		longest := 0
		for _, s := range m.engine.Scenes {
			longest = max(longest, len([]rune(s.Title)))
		}
		g.listW = min(max(longest+7, 22), 36)
	}
	g.contentW = g.w
	if g.listW > 0 {
		g.contentW = g.w - g.listW - 1
	}
	if g.contentW >= 120 {
		g.side = true
		g.narrW = min(max(g.contentW/3, 36), 60)
		g.panelW = g.contentW - g.narrW - 1
		g.narrH = g.bodyH
		g.panelH = g.bodyH - 1
	} else {
		g.narrW, g.panelW = g.contentW, g.contentW
		g.narrH = min(max(g.bodyH*2/5, 4), 16)
		g.panelH = max(g.bodyH-g.narrH-1, 1)
	}
	return g
}

// View renders the screen from the model's state; it reads nothing from
// the lab and renders no markdown.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	if len(m.engine.Scenes) > 0 {
		v.WindowTitle = WindowTitle(m.engine.Scenes[m.cur].Title)
	}
	return v
}

// WindowTitle is the terminal's window title while the scene titled
// scene shows. It is set in the write that draws the scene's first
// frame, so a recorder marks each scene's start where it changes.
func WindowTitle(scene string) string { return "zt-lab · " + scene }

func (m *Model) render() string {
	if m.quitting {
		return ""
	}
	g := m.geometry()
	if g.w < minWidth || g.h < minHeight {
		return strings.Join(block([]string{
			m.st.HeaderTitle.Render("zt-lab"),
			"The terminal is " + itoa(g.w) + "×" + itoa(g.h) + ".",
			"It needs " + itoa(minWidth) + "×" + itoa(minHeight) + " at least.",
		}, g.w, g.h), "\n")
	}
	lines := make([]string, 0, g.h)
	lines = append(lines, m.header(g.w))
	lines = append(lines, m.body(g)...)
	lines = append(lines, m.checksBar(g.w, g.checksH)...)
	lines = append(lines, fit(m.helpBar(), g.w))
	return strings.Join(lines, "\n")
}

func (m *Model) header(w int) string {
	st := m.st
	left := " " + st.HeaderTitle.Render("zt-lab")
	if n := len(m.engine.Scenes); n > 0 {
		left += st.Rule.Render(" │ ") + st.HeaderScene.Render(itoa(m.cur+1)+"/"+itoa(n)+" "+m.engine.Scenes[m.cur].Title)
	}
	var right string
	switch {
	case m.busy:
		right = m.spin.View() + " " + st.Running.Render(m.busyText())
	case m.status != "" && m.statusErr:
		right = st.Error.Render(m.status)
	case m.status != "":
		right = st.Status.Render(m.status)
	case m.autoplay:
		right = st.Dim.Render("autoplay")
	default:
		right = st.Dim.Render("ready · enter runs the next step")
	}
	right += " "
	lw, rw := cols(left), cols(right)
	if lw+rw+1 > w {
		// The status matters more than the title while something runs.
		right = fit(right, max(w-lw-1, w/2))
		rw = cols(right)
		left = fit(left, max(w-rw-1, 0))
		lw = cols(left)
	}
	return fit(left+strings.Repeat(" ", max(w-lw-rw, 0))+right, w)
}

// busyText says what the engine is doing.
func (m *Model) busyText() string {
	if m.preparing != "" {
		return "preparing: " + m.preparing
	}
	sc := m.engine.Scenes[m.opScene]
	switch m.op {
	case opPrepare:
		return "resetting scene " + itoa(m.opScene+1)
	case opScene:
		for j, s := range m.scenes[m.opScene].steps {
			if s.status == stepRunning {
				return "step " + itoa(j+1) + "/" + itoa(len(sc.Steps)) + ": " + sc.Steps[j].Title
			}
		}
		return "running scene " + itoa(m.opScene+1)
	}
	if m.opStep >= 0 && m.opStep < len(sc.Steps) {
		return "step " + itoa(m.opStep+1) + "/" + itoa(len(sc.Steps)) + ": " + sc.Steps[m.opStep].Title
	}
	return "running"
}

func (m *Model) body(g geometry) []string {
	if m.showHelp {
		return m.helpScreen(g.w, g.bodyH)
	}
	var content []string
	narr := m.narration(g.narrW, g.narrH)
	panel := m.panelBox(g.panelW, g.panelH)
	title := fit(m.st.Rule.Render(rule(m.panelTitle(), g.panelW)), g.panelW)
	if g.side {
		content = beside(m.st.Rule.Render("│"), narr, append([]string{title}, panel...))
	} else {
		content = append(append(narr, title), panel...)
	}
	if g.listW == 0 {
		return block(content, g.w, g.bodyH)
	}
	list := m.sceneList(g.listW, g.bodyH, g.listNarrow)
	return beside(m.st.Rule.Render("│"), list, block(content, g.contentW, g.bodyH))
}

// sceneMark is a scene's mark in the list: ✓ every step passed, ✗ a step
// failed, a spinner while it runs, · partly run.
func (m *Model) sceneMark(i int) string {
	st := m.st
	if m.busy && m.opScene == i || m.sceneRunning(i) {
		return m.spin.View()
	}
	sc := &m.scenes[i]
	ran, all := 0, len(sc.steps)
	bad := sc.err != ""
	for _, s := range sc.steps {
		switch s.status {
		case stepFailed, stepErrored:
			bad = true
			ran++
		case stepPassed, stepDone:
			ran++
		}
	}
	switch {
	case bad:
		return st.Fail.Render("✗")
	case ran == all && all > 0:
		return st.Pass.Render("✓")
	case ran > 0:
		return st.Dim.Render("·")
	}
	return " "
}

func (m *Model) sceneRunning(i int) bool {
	for _, s := range m.scenes[i].steps {
		if s.status == stepRunning {
			return true
		}
	}
	return false
}

func (m *Model) sceneList(w, h int, narrow bool) []string {
	st := m.st
	var lines []string
	if !narrow {
		lines = append(lines, st.Title.Render(" Scenes"))
	}
	rows := h - len(lines)
	first := 0
	if m.cur >= rows {
		first = m.cur - rows + 1
	}
	for i := first; i < len(m.engine.Scenes) && len(lines) < h; i++ {
		cursor := " "
		if i == m.cur {
			cursor = st.Cursor.Render("▶")
		}
		num := itoa(i + 1)
		if len(num) < 2 {
			num = " " + num
		}
		if narrow {
			if i == m.cur {
				num = st.Current.Render(num)
			}
			lines = append(lines, cursor+m.sceneMark(i)+num)
			continue
		}
		title := num + " " + m.engine.Scenes[i].Title
		title = fit(title, w-4)
		if i == m.cur {
			title = st.Current.Render(title)
		} else {
			title = st.Text.Render(title)
		}
		lines = append(lines, cursor+m.sceneMark(i)+" "+title)
	}
	return block(lines, w, h)
}

// narration is the scene's title and its markdown (or the speaker notes),
// rendered once per width and scene, scrolled with ↑/↓.
func (m *Model) narration(w, h int) []string {
	if len(m.engine.Scenes) == 0 {
		return block([]string{m.st.Dim.Render("no scenes")}, w, h)
	}
	sc := m.engine.Scenes[m.cur]
	inner := max(w-2, 1)
	title := " " + m.st.Title.Render(itoa(m.cur+1)+" · "+sc.Title)
	if m.showNotes {
		title = " " + m.st.Title.Render("Speaker notes · "+itoa(m.cur+1)+" "+sc.Title)
	}
	text := m.md.get(m.cur, m.showNotes, inner)
	if text == nil {
		src := sc.Narrative
		if m.showNotes {
			src = sc.Notes
		}
		text = wrap(src, inner) // until the markdown is rendered
	}
	if m.showNotes && len(text) == 0 {
		text = []string{m.st.Dim.Render("No speaker notes for this scene.")}
	}
	lines := []string{title}
	if h >= 10 {
		lines = append(lines, "")
	}
	rows := h - len(lines)
	off := min(m.scroll, max(len(text)-rows, 0))
	text = text[off:]
	for i, l := range text {
		if i == rows-1 && len(text) > rows {
			lines = append(lines, " "+m.st.Dim.Render("↓ more (j)"))
			break
		}
		lines = append(lines, " "+l)
	}
	return block(lines, w, h)
}

// checksBar shows the current scene's steps: their marks, and the check,
// the error or the shell command of each.
func (m *Model) checksBar(w, h int) []string {
	st := m.st
	lines := []string{st.Rule.Render(rule("Checks", w))}
	if len(m.scenes) == 0 {
		return block(lines, w, h)
	}
	if m.busy && len(m.progress) > 0 {
		lines = append(lines, m.progressLine())
	}
	sc := &m.scenes[m.cur]
	steps := m.engine.Scenes[m.cur].Steps
	rows := h - len(lines)
	if len(steps) == 0 {
		lines = append(lines, " "+st.Dim.Render("This scene has no steps."))
		return block(lines, w, h)
	}
	if rows >= len(steps) {
		for j := range steps {
			lines = append(lines, m.stepLine(j, w))
		}
		return block(lines, w, h)
	}
	// Too little room for a line per step: the marks on one line, then the
	// step that matters most.
	var b strings.Builder
	b.WriteString(" ")
	for j := range steps {
		b.WriteString(m.stepMark(sc.steps[j].status))
		b.WriteString(st.Dim.Render(itoa(j + 1)))
		b.WriteString(" ")
	}
	focus := m.focusStep()
	marks := b.String()
	if rows == 1 {
		lines = append(lines, marks+m.stepDetail(focus, max(w-cols(marks), 0)))
		return block(lines, w, h)
	}
	lines = append(lines, marks+st.Dim.Render("steps"))
	for j := max(focus-rows+2, 0); j <= focus && len(lines) < h; j++ {
		lines = append(lines, m.stepLine(j, w))
	}
	return block(lines, w, h)
}

// focusStep is the step the narrow checks bar shows: the running one,
// else the last that failed, else the next to run, else the last.
func (m *Model) focusStep() int {
	sc := &m.scenes[m.cur]
	for j, s := range sc.steps {
		if s.status == stepRunning {
			return j
		}
	}
	for j := len(sc.steps) - 1; j >= 0; j-- {
		if s := sc.steps[j].status; s == stepFailed || s == stepErrored {
			return j
		}
	}
	if j := sc.next(); j >= 0 {
		return j
	}
	return len(sc.steps) - 1
}

func (m *Model) stepMark(s stepStatus) string {
	st := m.st
	switch s {
	case stepRunning:
		return m.spin.View()
	case stepPassed:
		return st.Pass.Render("✓")
	case stepFailed, stepErrored:
		return st.Fail.Render("✗")
	case stepDone:
		return st.Done.Render("•")
	}
	return st.Pending.Render("○")
}

// stepLine is one step: mark, number, and what it proved (the check's
// claim and evidence) once it ran, or its title and shell command before.
func (m *Model) stepLine(j, w int) string {
	s := &m.scenes[m.cur].steps[j]
	head := " " + m.stepMark(s.status) + " " + m.st.Dim.Render(itoa(j+1)) + " "
	if s.check != nil && s.status != stepErrored {
		return head + m.stepDetail(j, max(w-cols(head), 0))
	}
	steps := m.engine.Scenes[m.cur].Steps
	longest := 0
	for _, st := range steps {
		longest = max(longest, cols(st.Title))
	}
	title := fit(m.st.Text.Render(steps[j].Title), min(longest+1, w*2/5)) + " "
	return head + title + m.stepDetail(j, max(w-cols(head)-cols(title), 0))
}

// stepDetail is what a step proved (the check and its evidence), why it
// failed, or what a learner would type to do it by hand.
func (m *Model) stepDetail(j, w int) string {
	st := m.st
	s := &m.scenes[m.cur].steps[j]
	step := m.engine.Scenes[m.cur].Steps[j]
	var out string
	switch {
	case s.status == stepErrored:
		out = st.Error.Render("error: " + firstLine(s.err))
	case s.check != nil:
		style := st.Pass
		switch {
		case s.check.Skipped != "":
			style = st.Dim
		case !s.check.Pass:
			style = st.Fail
		}
		out = style.Render(s.check.Name)
		if len(s.check.Evidence) > 0 {
			out += st.Dim.Render(" · ") + st.Text.Render(firstLine(s.check.Evidence[0]))
		}
	case s.status == stepRunning && len(s.output) > 0:
		out = st.Dim.Render(s.output[len(s.output)-1])
	case step.Shell != "":
		out = st.Key.Render("$ ") + st.Text.Render(firstLine(step.Shell))
	}
	return fit(out, w)
}

// progressLine is each host's progress while the lab is built (by the
// first scene, or to catch up).
func (m *Model) progressLine() string {
	var b strings.Builder
	b.WriteString(" ")
	for i, p := range m.progress {
		if i > 0 {
			b.WriteString(m.st.Dim.Render(" · "))
		}
		b.WriteString(m.st.Bold.Render(p.host))
		b.WriteString(" ")
		b.WriteString(m.st.Dim.Render(p.text))
	}
	return b.String()
}

func (m *Model) helpBar() string {
	if m.picker != nil {
		return " " + m.help.ShortHelpView(m.keys.pickerHelp())
	}
	whole := m.help
	whole.SetWidth(0) // measure without the help's own cut
	keys := m.keys.shortHelpFor(m.width-1, func(b []key.Binding) int {
		return cols(whole.ShortHelpView(b))
	})
	return " " + m.help.ShortHelpView(keys)
}

func (m *Model) helpScreen(w, h int) []string {
	st := m.st
	lines := []string{"", " " + st.Title.Render("Keys"), ""}
	n := 3
	if w < 120 {
		n = 2
	}
	hm := m.help
	hm.SetWidth(w - 3)
	for _, l := range splitLines(hm.FullHelpView(m.keys.fullHelpColumns(n))) {
		lines = append(lines, "   "+l)
	}
	marks := []string{
		st.Cursor.Render("▶") + " this scene",
		st.Pass.Render("✓") + " every check passed",
		st.Fail.Render("✗") + " a check failed, or a step erred",
		st.Dim.Render("·") + " partly run",
		st.Pending.Render("○") + " not run yet",
		st.Done.Render("•") + " done, nothing to prove",
	}
	lines = append(lines, "", " "+st.Title.Render("Marks"), "")
	if w >= 120 {
		lines = append(lines, "   "+strings.Join(marks, "   "))
	} else {
		for i := 0; i < len(marks); i += 2 {
			lines = append(lines, "   "+fit(marks[i], 34)+"  "+marks[i+1])
		}
	}
	lines = append(lines, "", " "+st.Dim.Render("Any key closes this help."))
	return block(lines, w, h)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
