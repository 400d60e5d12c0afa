package tui

import (
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/ztlab/zt-lab/scenes"
)

// screen is a model running in teatest, and a way to wait on its state.
type screen struct {
	t  *testing.T
	m  *Model
	tm *teatest.TestModel

	mu    sync.Mutex
	conds []*cond
}

type cond struct {
	ok   func(*Model) bool
	done chan struct{}
}

// start runs a model over the test scenes at w×h.
func start(t *testing.T, src labSource, opts Options, w, h int) *screen {
	t.Helper()
	return startEngine(t, newTestEngine(testScenes()), src, opts, w, h)
}

// startEngine runs a model over engine's scenes at w×h.
func startEngine(t *testing.T, engine *scenes.Engine, src labSource, opts Options, w, h int) *screen {
	t.Helper()
	if opts.Theme == "" {
		opts.NoColor = true
	}
	s := &screen{t: t}
	s.m = newModel(engine, src, opts)
	s.m.now = func() time.Time { return seedTime }
	s.m.observe = s.check
	s.tm = teatest.NewTestModel(t, s.m, teatest.WithInitialTermSize(w, h))
	t.Cleanup(func() { s.tm.Quit() })
	return s
}

// check runs on the program's goroutine after every update.
func (s *screen) check(m *Model) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := s.conds[:0]
	for _, c := range s.conds {
		if c.ok(m) {
			close(c.done)
			continue
		}
		keep = append(keep, c)
	}
	s.conds = keep
}

// wait waits until ok holds of the model (the tick re-checks it at least
// ten times a second).
func (s *screen) wait(what string, ok func(*Model) bool) {
	s.t.Helper()
	c := &cond{ok: ok, done: make(chan struct{})}
	s.mu.Lock()
	s.conds = append(s.conds, c)
	s.mu.Unlock()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		s.t.Fatalf("timed out waiting for %s", what)
	}
}

func (s *screen) keys(keys ...string) {
	for _, k := range keys {
		s.tm.Send(keyPress(k))
	}
}

func keyPress(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

// idle is the model with nothing running, the panels read, the narration
// rendered.
func idle(m *Model) bool {
	return !m.busy && !m.refreshing && m.md.get(m.cur, m.showNotes, max(m.geometry().narrW-2, 1)) != nil
}

// settled is every step's event read: the engine's results, which the
// report card shows, are whole before the events that mark the scene list
// have all reached the model.
func settled(m *Model) bool {
	n := 0
	for _, sc := range m.scenes {
		for _, st := range sc.steps {
			if st.status != stepPending && st.status != stepRunning {
				n++
			}
		}
	}
	return n == len(m.results)
}

// final stops the program and renders its last screen.
func (s *screen) final() string {
	s.t.Helper()
	if err := s.tm.Quit(); err != nil {
		s.t.Fatal(err)
	}
	fm := s.tm.FinalModel(s.t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	return fm.render()
}

// requireScreen compares a screen with its golden file, without styles
// (NO_COLOR keeps bold and reverse; the goldens read as text), and checks
// that it fills the terminal exactly.
func requireScreen(t *testing.T, out string, w, h int) {
	t.Helper()
	requireSize(t, out, w, h)
	golden.RequireEqual(t, ansi.Strip(out))
}

func requireSize(t *testing.T, out string, w, h int) {
	t.Helper()
	lines := strings.Split(out, "\n")
	if len(lines) != h {
		t.Errorf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n != w {
			t.Errorf("line %d is %d columns, want %d: %q", i+1, n, w, ansi.Strip(l))
		}
	}
}

var sizes = []struct{ w, h int }{{80, 24}, {160, 48}}

func sizeName(w, h int) string { return itoa(w) + "x" + itoa(h) }

func TestScreens(t *testing.T) {
	for _, sz := range sizes {
		t.Run("first_"+sizeName(sz.w, sz.h), func(t *testing.T) {
			s := start(t, &fakeSource{}, Options{}, sz.w, sz.h)
			s.wait("the first screen", idle)
			requireScreen(t, s.final(), sz.w, sz.h)
		})
		t.Run("checks_"+sizeName(sz.w, sz.h), func(t *testing.T) {
			// The fortune scene: one check passes, one fails, with evidence.
			s := start(t, &fakeSource{lab: newFakeLab(), consumer: []string{"You love peace."}, served: []string{"You love peace."}}, Options{}, sz.w, sz.h)
			s.keys("n", "a")
			s.wait("the scene's two checks", func(m *Model) bool {
				st := m.scenes[1].steps
				return idle(m) && st[0].status == stepPassed && st[1].status == stepFailed
			})
			requireScreen(t, s.final(), sz.w, sz.h)
		})
		t.Run("notes_"+sizeName(sz.w, sz.h), func(t *testing.T) {
			s := start(t, &fakeSource{}, Options{}, sz.w, sz.h)
			s.keys("N")
			s.wait("the speaker notes", func(m *Model) bool { return m.showNotes && idle(m) })
			requireScreen(t, s.final(), sz.w, sz.h)
		})
		t.Run("help_"+sizeName(sz.w, sz.h), func(t *testing.T) {
			s := start(t, &fakeSource{}, Options{}, sz.w, sz.h)
			s.keys("?")
			s.wait("the help", func(m *Model) bool { return m.showHelp && idle(m) })
			requireScreen(t, s.final(), sz.w, sz.h)
		})
		t.Run("report_"+sizeName(sz.w, sz.h), func(t *testing.T) {
			s := start(t, &fakeSource{lab: newFakeLab()}, Options{}, sz.w, sz.h)
			s.keys("n", "n", "n", "a")
			s.wait("the report card", func(m *Model) bool {
				return m.cur == 3 && idle(m) && len(m.results) == 4 && settled(m)
			})
			requireScreen(t, s.final(), sz.w, sz.h)
		})
		t.Run("sniffer_"+sizeName(sz.w, sz.h), func(t *testing.T) {
			s := start(t, sniffed(t, 3), Options{}, sz.w, sz.h)
			s.keys("n", "n")
			s.wait("the sniffer", func(m *Model) bool { return m.cur == 2 && idle(m) && len(m.snap.dump) > 0 })
			requireScreen(t, s.final(), sz.w, sz.h)
		})
	}
}

// The stolen fortune is marked in the ASCII column in the high-contrast
// theme: this golden keeps the styles.
func TestSnifferHighContrast(t *testing.T) {
	s := start(t, sniffed(t, 1), Options{Theme: ThemeHighContrast}, 80, 24)
	s.keys("n", "n")
	s.wait("the sniffer", func(m *Model) bool { return m.cur == 2 && idle(m) && len(m.snap.dump) > 0 })
	out := s.final()
	requireSize(t, out, 80, 24)
	golden.RequireEqual(t, out)
	if want := s.m.st.Stolen.Render("The.holy.pas"); !strings.Contains(out, want) {
		t.Errorf("the stolen fortune is not marked: want %q in\n%s", want, out)
	}
}

func TestTopologyShowsLocksOnceMeshed(t *testing.T) {
	st := newStyles(ThemeDefault, true)
	d := topoData{hosts: (&refresher{src: &fakeSource{lab: newFakeLab()}}).read(snapshotWant{panel: scenes.PanelTopology}).hosts, deployed: true}
	plain := ansi.Strip(strings.Join(topology(st, d, 76, 12), "\n"))
	if !strings.Contains(plain, "plaintext :8181") || strings.Contains(plain, "🔒 mTLS") {
		t.Errorf("before the mesh the link is plaintext:\n%s", plain)
	}
	d.meshed, d.leader = true, "consul01"
	locked := ansi.Strip(strings.Join(topology(st, d, 76, 12), "\n"))
	for _, want := range []string{"🔒 mTLS :9191", "fcs00 🔒", "fcc00 🔒", "consul01 ★ leader"} {
		if !strings.Contains(locked, want) {
			t.Errorf("meshed topology lacks %q:\n%s", want, locked)
		}
	}
	for _, w := range []int{40, 60, 76, 120, 200} {
		for _, h := range []int{3, 8, 11, 12, 30} {
			lines := topology(st, d, w, h)
			if len(lines) != h {
				t.Errorf("%d×%d: %d lines", w, h, len(lines))
			}
			for i, l := range lines {
				if n := ansi.StringWidth(l); n != w {
					t.Errorf("%d×%d: line %d is %d wide: %q", w, h, i, n, ansi.Strip(l))
				}
			}
		}
	}
}
