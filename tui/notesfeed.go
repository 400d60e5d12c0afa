package tui

import (
	"strconv"
	"time"

	"github.com/ztlab/zt-lab/presenter"
	"github.com/ztlab/zt-lab/scenes"
)

// notesFeed is what the screen remembers to tell the notes screen: the
// time spent on each scene before, when the scene on screen came, and the
// newest check (the timeline it is read from keeps only so many events).
type notesFeed struct {
	outline []presenter.Outline
	spent   []time.Duration
	scene   int
	since   time.Time
	check   *presenter.Check
}

// publishNotes hands the presenter's state to Options.Publish, after every
// update: the notes screen follows n, p and enter as they happen.
func (m *Model) publishNotes() {
	if m.opts.Publish == nil || len(m.engine.Scenes) == 0 {
		return
	}
	f := &m.feed
	if f.outline == nil {
		f.scene, f.since = m.cur, m.start
		f.spent = make([]time.Duration, len(m.engine.Scenes))
		for _, s := range m.engine.Scenes {
			f.outline = append(f.outline, presenter.Outline{ID: s.ID, Title: s.Title, Budget: s.Budget})
		}
	}
	if m.cur != f.scene {
		// A scene's clock counts every visit: a look at the next scene
		// and back does not give this one its budget again.
		now := m.now()
		f.spent[f.scene] += now.Sub(f.since)
		f.scene, f.since = m.cur, now
	}
	if c := m.newestCheck(); c != nil {
		f.check = c
	}
	sc := m.engine.Scenes[m.cur]
	m.opts.Publish(presenter.State{
		Talk:   m.start,
		Scene:  presenter.Scene{Index: m.cur, ID: sc.ID, Title: sc.Title, Notes: sc.Notes, Since: f.since.Add(-f.spent[m.cur])},
		Scenes: f.outline,
		Step:   m.stepInProgress(),
		Check:  f.check,
		Keys:   m.keysDo(),
	})
}

// newestCheck is the newest check in the timeline, or nil.
func (m *Model) newestCheck() *presenter.Check {
	for i := len(m.timeline) - 1; i >= 0; i-- {
		ev := m.timeline[i].ev
		if ev.Kind != scenes.CheckDone || ev.Check == nil || ev.Scene < 0 || ev.Scene >= len(m.engine.Scenes) {
			continue
		}
		c := &presenter.Check{Scene: ev.Scene, Name: ev.Check.Name, Pass: ev.Check.Pass, Skipped: ev.Check.Skipped}
		if steps := m.engine.Scenes[ev.Scene].Steps; ev.Step >= 0 && ev.Step < len(steps) {
			c.Step = steps[ev.Step].Title
		}
		if len(ev.Check.Evidence) > 0 {
			c.Evidence = ev.Check.Evidence[0]
		}
		return c
	}
	return nil
}

// stepInProgress is what the engine is doing for the screen, or nil.
func (m *Model) stepInProgress() *presenter.Step {
	if !m.busy || m.opScene < 0 || m.opScene >= len(m.scenes) {
		return nil
	}
	steps := m.engine.Scenes[m.opScene].Steps
	st := &presenter.Step{Scene: m.opScene, Index: -1, Count: len(steps), Doing: m.preparing}
	for j, s := range m.scenes[m.opScene].steps {
		if s.status == stepRunning {
			st.Index, st.Title = j, steps[j].Title
			return st
		}
	}
	if m.op == opPrepare && st.Doing == "" {
		st.Doing = "resetting the scene"
	}
	if st.Doing == "" {
		st.Doing = "starting"
	}
	return st
}

// keysDo says what n, p and enter would do now, as handleKey decides.
func (m *Model) keysDo() []presenter.Key {
	keys := func(n, p, enter string) []presenter.Key {
		return []presenter.Key{{Key: "n", Does: n}, {Key: "p", Does: p}, {Key: "enter", Does: enter}}
	}
	switch {
	case m.picker != nil:
		return keys("nothing: a host picker is open (esc closes it)", "nothing: a host picker is open (esc closes it)", "choose "+m.picker.items[m.picker.sel])
	case m.showHelp:
		return keys("close the help", "close the help", "close the help")
	}
	scene := func(i int) string { return "scene " + strconv.Itoa(i+1) + ": " + m.engine.Scenes[i].Title }
	n, p := "nothing: this is the last scene", "nothing: this is the first scene"
	if m.cur+1 < len(m.scenes) {
		n = scene(m.cur + 1)
	}
	if m.cur > 0 {
		p = scene(m.cur - 1)
	}
	var enter string
	switch j := m.scenes[m.cur].next(); {
	case m.busy:
		enter = "nothing yet: wait for the running step"
	case j < 0 && m.cur+1 < len(m.scenes):
		enter = "this scene is done: " + scene(m.cur+1)
	case j < 0:
		enter = "nothing: that was the last scene"
	case len(m.scenes[m.cur].steps) == 0:
		enter = "nothing: this scene has no steps"
	default:
		steps := m.engine.Scenes[m.cur].Steps
		enter = "run step " + strconv.Itoa(j+1) + "/" + strconv.Itoa(len(steps)) + ": " + steps[j].Title
	}
	return keys(n, p, enter)
}
