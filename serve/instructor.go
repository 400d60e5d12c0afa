//go:build linux

package serve

import (
	"fmt"
	"sort"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"charm.land/ssh"
)

// AttendeeRow is one attendee as the instructor sees them.
type AttendeeRow struct {
	ID             string
	Name           string
	Scene, Reached int // the scene last started and the furthest, from 1
	Passed, Failed int // checks
	State          string
	Idle           time.Duration
}

// classSource is what the class view reads and does.
type classSource interface {
	Class() []AttendeeRow
	Screen(id string) (string, bool)
	End(id string) bool
}

// classView is the instructor's screen: a live table of the class, the
// totals per scene, and one attendee's screen, read-only.
type classView struct {
	src      classSource
	rows     []AttendeeRow
	sel      int
	width    int
	height   int
	watching string // the attendee whose screen is shown
	confirm  string // the attendee whose lab ends on y
	status   string
	now      func() time.Time
}

type classTick struct{}

func classTickCmd() tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return classTick{} })
}

func newClassView(src classSource) *classView {
	v := &classView{src: src, width: 100, height: 30, now: time.Now}
	v.rows = src.Class()
	return v
}

func (v *classView) Init() tea.Cmd { return classTickCmd() }

func (v *classView) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		v.width, v.height = msg.Width, msg.Height
	case classTick:
		v.refresh()
		return v, classTickCmd()
	case tea.KeyPressMsg:
		return v, v.key(msg.String())
	}
	return v, nil
}

func (v *classView) refresh() {
	v.rows = v.src.Class()
	if v.sel >= len(v.rows) {
		v.sel = max(0, len(v.rows)-1)
	}
}

func (v *classView) selected() (AttendeeRow, bool) {
	if v.sel < len(v.rows) {
		return v.rows[v.sel], true
	}
	return AttendeeRow{}, false
}

func (v *classView) key(k string) tea.Cmd {
	if v.confirm != "" {
		if k == "y" {
			if v.src.End(v.confirm) {
				v.status = "ending that lab"
			} else {
				v.status = "that attendee has no lab"
			}
		} else {
			v.status = "kept"
		}
		v.confirm = ""
		return nil
	}
	switch k {
	case "q", "ctrl+c":
		return tea.Quit
	case "esc":
		v.watching, v.status = "", ""
	case "up", "k":
		v.sel = max(0, v.sel-1)
	case "down", "j":
		v.sel = min(max(0, len(v.rows)-1), v.sel+1)
	case "enter":
		if r, ok := v.selected(); ok {
			v.watching = r.ID
		}
	case "x":
		if r, ok := v.selected(); ok {
			v.confirm = r.ID
			v.status = "end " + r.Name + "'s lab? y ends it, any other key keeps it"
		}
	}
	return nil
}

var (
	classTitle = lipgloss.NewStyle().Bold(true)
	classHead  = lipgloss.NewStyle().Bold(true).Underline(true)
	classSel   = lipgloss.NewStyle().Reverse(true)
	classDim   = lipgloss.NewStyle().Faint(true)
)

func (v *classView) View() tea.View {
	view := tea.NewView(v.render())
	view.AltScreen = true
	return view
}

func (v *classView) render() string {
	if v.watching != "" {
		return v.renderScreen()
	}
	var b strings.Builder
	b.WriteString(classTitle.Render(fmt.Sprintf("zt-lab serve — the class (%d)", len(v.rows))) + "\n\n")
	head := fmt.Sprintf("%-20s %-7s %-7s %-14s %-26s %s", "ATTENDEE", "SCENE", "REACHED", "CHECKS", "LAB", "IDLE")
	b.WriteString(classHead.Render(head) + "\n")
	if len(v.rows) == 0 {
		b.WriteString(classDim.Render("nobody yet: give the room the ssh line") + "\n")
	}
	for i, r := range v.rows {
		scene, reached := "-", "-"
		if r.Scene > 0 {
			scene, reached = fmt.Sprint(r.Scene), fmt.Sprint(r.Reached)
		}
		checks := fmt.Sprintf("✓%d ✗%d", r.Passed, r.Failed)
		line := fmt.Sprintf("%-20s %-7s %-7s %-14s %-26s %s", clip(r.Name, 20), scene, reached, checks, clip(r.State, 26), r.Idle.Round(time.Second))
		if i == v.sel {
			line = classSel.Render(line)
		}
		b.WriteString(line + "\n")
	}
	b.WriteString("\n" + v.totals() + "\n\n")
	if v.status != "" {
		b.WriteString(v.status + "\n")
	}
	b.WriteString(classDim.Render("↑/↓ pick • enter watch their screen • x end their lab • q quit"))
	return b.String()
}

// totals counts the class per scene reached.
func (v *classView) totals() string {
	per := map[int]int{}
	for _, r := range v.rows {
		per[r.Reached]++
	}
	var scenes []int
	for s := range per {
		scenes = append(scenes, s)
	}
	sort.Ints(scenes)
	var parts []string
	for _, s := range scenes {
		if s == 0 {
			parts = append(parts, fmt.Sprintf("not started: %d", per[s]))
			continue
		}
		parts = append(parts, fmt.Sprintf("scene %d: %d", s, per[s]))
	}
	if len(parts) == 0 {
		return "reached: nobody yet"
	}
	return "reached: " + strings.Join(parts, " · ")
}

func (v *classView) renderScreen() string {
	name := v.watching
	for _, r := range v.rows {
		if r.ID == v.watching {
			name = r.Name
		}
	}
	screen, ok := v.src.Screen(v.watching)
	if !ok {
		screen = classDim.Render("(no lab: in the queue, or ended)")
	}
	lines := strings.Split(screen, "\n")
	if room := v.height - 2; room > 0 && len(lines) > room {
		lines = lines[:room]
	}
	for i, l := range lines {
		lines[i] = clip(l, v.width)
	}
	return classTitle.Render(name+"'s screen, read-only") + classDim.Render("  esc back") + "\n" + strings.Join(lines, "\n")
}

func clip(s string, n int) string {
	r := []rune(s)
	if n > 0 && len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// instructor serves the class view to an instructor's session; nil for
// anyone else, whose session goes on to the attendee handler.
func (s *server) instructor(sess ssh.Session) (tea.Model, []tea.ProgramOption) {
	d := decisionOf(sess)
	if d.Role != RoleInstructor {
		return nil, nil
	}
	s.log.Info("join", "name", d.Name, "key", d.Fingerprint, "addr", sess.RemoteAddr().String(), "as", "instructor")
	return newClassView(s), nil
}

// Class is every attendee as the instructor sees them.
func (s *server) Class() []AttendeeRow {
	now := time.Now()
	var rows []AttendeeRow
	for _, a := range s.reg.Attendees() {
		r := AttendeeRow{ID: a.ID, Name: a.Name, Idle: now.Sub(a.LastInput())}
		l := a.Lab()
		switch {
		case l == nil:
			r.State = "in the queue"
		default:
			p := l.Progress()
			r.Scene, r.Reached, r.Passed, r.Failed = p.Scene, p.Reached, p.Passed, p.Failed
			switch {
			case isDone(l):
				r.State = "ended"
			case p.Running:
				r.State = "running a step"
			case p.Err != "":
				r.State = "step failed: " + p.Err
			case p.Failed > 0:
				r.State = "a check failed"
			default:
				r.State = "ok"
			}
			if a.Sessions() == 0 {
				r.State = "disconnected, " + r.State
			}
		}
		rows = append(rows, r)
	}
	return rows
}

func isDone(l *Lab) bool {
	select {
	case <-l.Done():
		return true
	default:
		return false
	}
}

func (s *server) find(id string) *Attendee {
	for _, a := range s.reg.Attendees() {
		if a.ID == id {
			return a
		}
	}
	return nil
}

// Screen is what the attendee's screen shows now.
func (s *server) Screen(id string) (string, bool) {
	a := s.find(id)
	if a == nil || a.Lab() == nil {
		return "", false
	}
	return a.Lab().Screen(), true
}

// End ends the attendee's lab, from the class view.
func (s *server) End(id string) bool {
	a := s.find(id)
	if a == nil || a.Lab() == nil {
		return false
	}
	s.log.Info("lab ended by the instructor", "name", a.Name)
	go a.Lab().End()
	return true
}
