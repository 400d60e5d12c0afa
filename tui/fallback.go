package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/ztlab/zt-lab/cast"
	"github.com/ztlab/zt-lab/presenter"
)

// BannerText is what the recording's top line says first: whoever looks
// at the screen knows it is not the live lab.
const BannerText = "RECORDING — press F for the live lab"

// recordingKeys are the keys the screen answers to while the recording
// shows; every other key is dropped, so the live lab behind it is not
// changed by them.
type recordingKeys struct {
	Toggle, Next, Prev, Step, Restart, Quit key.Binding
}

func newRecordingKeys() recordingKeys {
	return recordingKeys{
		Toggle:  key.NewBinding(key.WithKeys("F", "shift+f"), key.WithHelp("F", "live lab")),
		Next:    key.NewBinding(key.WithKeys("right", "n"), key.WithHelp("→/n", "next scene")),
		Prev:    key.NewBinding(key.WithKeys("left", "p"), key.WithHelp("←/p", "prev scene")),
		Step:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "step")),
		Restart: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "scene from its start")),
		Quit:    key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}
}

func (k recordingKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Toggle, k.Next, k.Prev, k.Step, k.Restart, k.Quit}
}

// fallbackModel is the live screen with a recording F swaps in for it.
// Everything but the keys reaches the live screen whichever shows: its
// engine's events, its ticks, its size; the lab runs on behind the
// recording.
type fallbackModel struct {
	live *Model
	rec  *cast.Player
	keys recordingKeys

	showing bool
	scene   int // the recording's scene on screen
	pos     int // the recording's position (see cast.Player.At)
	steps   int // enter presses since the scene's start
	frame   cast.Frame
	note    string // what the banner adds: where in the scene, or why not
}

func newFallbackModel(live *Model, rec *cast.Player) *fallbackModel {
	live.setStatus("F shows the recording of this scene", false)
	live.keys.Fallback.SetEnabled(true)
	f := &fallbackModel{live: live, rec: rec, keys: newRecordingKeys()}
	if publish := live.opts.Publish; publish != nil {
		// The notes screen says what n, p and enter do: while the
		// recording shows, they move the recording.
		live.opts.Publish = func(st presenter.State) {
			if f.showing {
				st.Keys = f.keysDo()
			}
			publish(st)
		}
	}
	return f
}

// keysDo is what n, p and enter do while the recording shows, for the
// notes screen.
func (f *fallbackModel) keysDo() []presenter.Key {
	sc, last := f.rec.Scenes(), len(f.rec.Scenes())-1
	scene := func(i int) string { return "the recording of scene " + itoa(i+1) + ": " + sc[i].Title }
	n, p := "nothing: the recording's last scene shows", "nothing: the recording's first scene shows"
	if f.scene < last {
		n = scene(f.scene + 1)
	}
	if f.scene > 0 {
		p = scene(f.scene - 1)
	}
	enter := "the recording's next frame"
	switch {
	case f.pos < f.rec.End(f.scene):
	case f.scene < last:
		enter = "the start of " + scene(f.scene+1)
	default:
		enter = "nothing: the recording is over"
	}
	// Three keys, as the notes screen has room for; F is said with enter.
	return []presenter.Key{{Key: "n", Does: n}, {Key: "p", Does: p}, {Key: "enter", Does: enter + " (the recording shows: F for the live lab)"}}
}

func (f *fallbackModel) Init() tea.Cmd { return f.live.Init() }

func (f *fallbackModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, f.keys.Toggle) && (f.showing || f.live.picker == nil):
			f.toggle()
			f.observe()
			return f, nil
		case f.showing:
			cmd := f.key(k)
			f.observe()
			return f, cmd
		}
	}
	_, cmd := f.live.Update(msg)
	return f, cmd
}

// observe runs the live screen's test hook after a key it did not see.
func (f *fallbackModel) observe() {
	if f.live.observe != nil {
		f.live.observe(f.live)
	}
}

// toggle swaps the recording in, at the live scene (matched by ID, else
// by number), or back out.
func (f *fallbackModel) toggle() {
	if f.showing {
		f.showing = false
		return
	}
	f.showing = true
	i := -1
	if len(f.live.engine.Scenes) > 0 {
		i = f.rec.Find(f.live.engine.Scenes[f.live.cur].ID)
	}
	if i < 0 {
		i = min(f.live.cur, len(f.rec.Scenes())-1)
	}
	f.showEnd(i)
}

// showEnd shows scene i as it was at the end of its last step.
func (f *fallbackModel) showEnd(i int) {
	f.scene, f.pos, f.steps = i, f.rec.End(i), 0
	f.frame, f.note = f.rec.At(f.pos), "end"
}

func (f *fallbackModel) showStart(i int) {
	f.scene, f.pos, f.steps = i, f.rec.Start(i), 0
	f.frame, f.note = f.rec.At(f.pos), "start"
}

func (f *fallbackModel) key(k tea.KeyPressMsg) tea.Cmd {
	ks, last := f.keys, len(f.rec.Scenes())-1
	switch {
	case key.Matches(k, ks.Quit):
		return f.live.quit()
	case key.Matches(k, ks.Next):
		if f.scene < last {
			f.showEnd(f.scene + 1)
		} else {
			f.note = "that was the recording's last scene"
		}
	case key.Matches(k, ks.Prev):
		if f.scene > 0 {
			f.showEnd(f.scene - 1)
		} else {
			f.note = "that was the recording's first scene"
		}
	case key.Matches(k, ks.Restart):
		f.showStart(f.scene)
	case key.Matches(k, ks.Step):
		// One change of the screen at a time; from the end of a scene,
		// on into the next, as enter does on the live screen.
		end := f.rec.End(f.scene)
		if f.pos >= end {
			if f.scene < last {
				f.showStart(f.scene + 1)
			} else {
				f.note = "the end of the recording"
			}
			return nil
		}
		pos, _ := f.rec.Next(f.pos, end)
		f.pos, f.frame, f.steps = pos, f.rec.At(pos), f.steps+1
		f.note = "step " + itoa(f.steps)
		if pos >= end {
			f.note = "end"
		}
	default:
		f.note = "the recording shows: F for the live lab, n/p scenes, enter steps"
	}
	return nil
}

func (f *fallbackModel) View() tea.View {
	if !f.showing {
		return f.live.View()
	}
	v := tea.NewView(f.render())
	v.AltScreen = true
	v.WindowTitle = "zt-lab · recording · " + f.rec.Scenes()[f.scene].Title
	return v
}

// render is the recorded frame under the banner, which takes the place
// of the recording's own header, and the recording's keys in place of
// its key help: w×h whatever the recording's size.
func (f *fallbackModel) render() string {
	m := f.live
	if m.quitting {
		return ""
	}
	w, h := m.width, m.height
	sc := f.rec.Scenes()[f.scene]
	left := " " + BannerText + " "
	right := " " + itoa(f.scene+1) + "/" + itoa(len(f.rec.Scenes())) + " " + sc.Title + " · " + f.note + " "
	gap := max(w-cols(left)-cols(right), 0)
	lines := []string{m.st.Banner.Render(fit(left+strings.Repeat(" ", gap)+right, w))}
	body := f.frame.Lines
	if len(body) > 2 {
		body = body[1 : len(body)-1]
	}
	for _, l := range block(body, w, max(h-2, 0)) {
		lines = append(lines, l+"\x1b[m")
	}
	lines = append(lines, fit(" "+m.help.ShortHelpView(f.keys.ShortHelp()), w))
	return strings.Join(lines[:min(len(lines), h)], "\n")
}
