package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/ztlab/zt-lab/presenter"
)

// The notes screen is `zt-lab notes`: the presenter's second terminal. It
// follows the guided lab's screen through presenter's socket and shows
// the speaker notes of the scene on screen, the next scene, the step the
// engine runs, the last check, the clocks of the talk and the scene, the
// scene's budget counting down, and what n, p and enter will do.

// NotesOptions shape the notes screen.
type NotesOptions struct {
	Theme   Theme
	NoColor bool
	// Budget, when set, is the whole talk's time, spread over the scenes
	// by presenter.Plan; otherwise each scene's notes give its own.
	Budget time.Duration
}

// StateFeed is where the notes screen reads the presenter's state:
// presenter.Feed. Next returns io.EOF when the presenter's screen closed.
type StateFeed interface {
	Next() (presenter.State, error)
}

// ErrPresenterClosed is RunNotes' answer when the presenter's screen
// closed while the notes followed it.
var ErrPresenterClosed = errors.New("the presenter's screen closed")

// notesFooter is the lines under the notes: a rule, step, check, next
// scene and the three keys.
const notesFooter = 7

// Notes is the notes screen. Build it with NewNotes.
type Notes struct {
	feed StateFeed
	opts NotesOptions
	st   *Styles
	md   *markdownCache
	keys notesKeys
	now  func() time.Time

	width, height int
	state         presenter.State
	have          bool
	budgets       []time.Duration
	scroll        int
	scrollScene   int
	ended         error // why the feed ended; nil while it runs

	// observe, when set, is called after every Update: tests wait on the
	// screen's state with it.
	observe func(*Notes)
}

type notesKeys struct{ Up, Down, Quit key.Binding }

type (
	notesStateMsg presenter.State
	notesEndMsg   struct{ err error }
	notesTickMsg  struct{}
)

// NewNotes is the notes screen over feed.
func NewNotes(feed StateFeed, opts NotesOptions) *Notes {
	if opts.Theme == "" {
		opts.Theme = ThemeDefault
	}
	if os.Getenv("NO_COLOR") != "" {
		opts.NoColor = true
	}
	st := newStyles(opts.Theme, opts.NoColor)
	return &Notes{
		feed: feed, opts: opts, st: st, md: newMarkdownCache(st.Markdown), now: time.Now,
		width: 80, height: 24,
		keys: notesKeys{
			Up:   key.NewBinding(key.WithKeys("up", "k")),
			Down: key.NewBinding(key.WithKeys("down", "j")),
			Quit: key.NewBinding(key.WithKeys("q", "ctrl+c")),
		},
	}
}

// RunNotes shows the notes screen until the user quits (nil), the
// presenter's screen closes (ErrPresenterClosed) or ctx ends.
func RunNotes(ctx context.Context, feed StateFeed, opts NotesOptions) error {
	n := NewNotes(feed, opts)
	if _, err := tea.NewProgram(n, tea.WithContext(ctx)).Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return err
	}
	switch {
	case errors.Is(n.ended, io.EOF):
		return ErrPresenterClosed
	case n.ended != nil:
		return n.ended
	}
	return ctx.Err()
}

// Talk is how long the talk has run by the newest state: for the line
// the command prints when the presenter's screen closed.
func (n *Notes) Talk() time.Duration {
	if !n.have {
		return 0
	}
	return n.now().Sub(n.state.Talk)
}

func (n *Notes) next() tea.Cmd {
	f := n.feed
	return func() tea.Msg {
		st, err := f.Next()
		if err != nil {
			return notesEndMsg{err}
		}
		return notesStateMsg(st)
	}
}

func notesTick() tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return notesTickMsg{} })
}

// Init starts following the presenter and the clocks.
func (n *Notes) Init() tea.Cmd { return tea.Batch(n.next(), notesTick()) }

// Update handles one message.
func (n *Notes) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := n.update(msg)
	if n.observe != nil {
		n.observe(n)
	}
	return n, cmd
}

func (n *Notes) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		n.width, n.height = max(msg.Width, 1), max(msg.Height, 1)
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, n.keys.Quit):
			return tea.Quit
		case key.Matches(msg, n.keys.Up):
			n.scroll = max(n.scroll-1, 0)
		case key.Matches(msg, n.keys.Down) && n.have:
			n.scroll = min(n.scroll+1, max(len(n.notesText(max(n.width-2, 1)))-n.bodyHeight(), 0))
		}
	case notesStateMsg:
		n.apply(presenter.State(msg))
		return n.next()
	case notesEndMsg:
		n.ended = msg.err
		return tea.Quit
	case notesTickMsg:
		return notesTick()
	}
	return nil
}

func (n *Notes) apply(st presenter.State) {
	n.state, n.have = st, true
	if st.Scene.Index != n.scrollScene {
		n.scroll, n.scrollScene = 0, st.Scene.Index
	}
	own := make([]time.Duration, len(st.Scenes))
	for i, s := range st.Scenes {
		own[i] = s.Budget
	}
	n.budgets = presenter.Plan(own, n.opts.Budget)
}

// View is the notes screen.
func (n *Notes) View() tea.View {
	v := tea.NewView(n.render())
	v.AltScreen = true
	v.WindowTitle = "zt-lab notes"
	if n.have {
		v.WindowTitle += " · " + n.state.Scene.Title
	}
	return v
}

func (n *Notes) render() string {
	w, h := n.width, n.height
	st := n.st
	if !n.have {
		return strings.Join(block([]string{
			" " + st.HeaderTitle.Render("zt-lab notes"),
			" " + st.Dim.Render("waiting for the presenter's screen …"),
		}, w, h), "\n")
	}
	s := n.state
	lines := make([]string, 0, h)
	bodyH := n.bodyHeight()
	text := n.notesText(max(w-2, 1))
	scroll := min(n.scroll, max(len(text)-bodyH, 0))
	title := "Notes"
	switch {
	case scroll+bodyH < len(text):
		title += " · ↓ more"
	case scroll > 0:
		title += " · ↑ more"
	}
	lines = append(lines, n.header(w), n.clocks(w), st.Rule.Render(rule(title, w)))
	for i := range bodyH {
		line := ""
		if j := scroll + i; j < len(text) {
			line = " " + text[j]
		}
		lines = append(lines, line)
	}
	lines = append(lines, st.Rule.Render(rule("", w)))
	lines = append(lines, n.field("step", n.stepText()), n.field("check", n.checkText()))
	next := st.Dim.Render("this is the last scene")
	if t := s.Next(); t != "" {
		next = st.Bold.Render(itoa(s.Scene.Index+2) + " " + t)
	}
	lines = append(lines, n.field("next", next))
	for _, k := range s.Keys {
		lines = append(lines, n.field(k.Key, st.Text.Render(k.Does), true))
	}
	return strings.Join(block(lines, w, h), "\n")
}

// bodyHeight is how many lines the notes have on screen.
func (n *Notes) bodyHeight() int { return max(n.height-3-notesFooter, 0) }

// field is one labelled line of the footer; a key's label is styled as
// a key.
func (n *Notes) field(label, text string, isKey ...bool) string {
	l := n.st.Dim.Render(pad(label, 6))
	if len(isKey) > 0 {
		l = n.st.Key.Render(pad(label, 6))
	}
	return " " + l + text
}

func (n *Notes) header(w int) string {
	st, s := n.st, n.state
	left := " " + st.HeaderTitle.Render("zt-lab notes") + st.Rule.Render(" │ ") +
		st.HeaderScene.Render(itoa(s.Scene.Index+1)+"/"+itoa(len(s.Scenes))+" "+s.Scene.Title)
	right := st.Dim.Render("talk ") + st.Bold.Render(clock(n.now().Sub(s.Talk))) + " "
	lw, rw := cols(left), cols(right)
	if lw+rw > w {
		left = fit(left, max(w-rw, 0))
		lw = cols(left)
	}
	return fit(left+strings.Repeat(" ", max(w-lw-rw, 0))+right, w)
}

// clocks is the scene's clock and its budget counting down; the
// countdown turns the warning colour once the scene overruns.
func (n *Notes) clocks(w int) string {
	st, s := n.st, n.state
	in := n.now().Sub(s.Scene.Since)
	line := " " + st.Dim.Render("scene ") + st.Bold.Render(clock(in))
	var budget time.Duration
	if i := s.Scene.Index; i >= 0 && i < len(n.budgets) {
		budget = n.budgets[i]
	}
	if budget <= 0 {
		return fit(line+st.Dim.Render(" · no budget"), w)
	}
	line += st.Dim.Render(" · budget " + clock(budget) + " · ")
	if left := budget - in; left >= 0 {
		line += st.Pass.Render(clock(left) + " left")
	} else {
		line += st.Overrun.Render(" " + clock(-left) + " over: move on ")
	}
	return fit(line, w)
}

func (n *Notes) notesText(w int) []string {
	s := n.state
	if strings.TrimSpace(s.Scene.Notes) == "" {
		return []string{n.st.Dim.Render("No speaker notes for this scene.")}
	}
	n.md.render(s.Scene.Index, true, w, s.Scene.Notes)
	return n.md.get(s.Scene.Index, true, w)
}

func (n *Notes) stepText() string {
	st, p := n.st, n.state.Step
	switch {
	case p == nil:
		return st.Dim.Render("idle")
	case p.Index < 0:
		return st.Running.Render("● " + p.Doing)
	}
	where := ""
	if p.Scene != n.state.Scene.Index {
		where = " (scene " + itoa(p.Scene+1) + ")"
	}
	return st.Running.Render("● "+itoa(p.Index+1)+"/"+itoa(p.Count)) + " " + st.Text.Render(p.Title+where)
}

func (n *Notes) checkText() string {
	st, c := n.st, n.state.Check
	if c == nil {
		return st.Dim.Render("none yet")
	}
	mark := st.Fail.Render("✗")
	switch {
	case c.Pass:
		mark = st.Pass.Render("✓")
	case c.Skipped != "":
		mark = st.Dim.Render("–")
	}
	text := mark + " " + st.Text.Render(c.Name)
	if c.Evidence != "" {
		text += st.Dim.Render(" · " + c.Evidence)
	}
	if c.Scene != n.state.Scene.Index {
		text += st.Dim.Render(" (scene " + itoa(c.Scene+1) + ")")
	}
	return text
}

// clock is d as m:ss, or h:mm:ss from an hour on.
func clock(d time.Duration) string {
	d = max(d, 0).Truncate(time.Second)
	h, m, s := int(d/time.Hour), int(d/time.Minute)%60, int(d/time.Second)%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}
