package tui

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/ztlab/zt-lab/presenter"
)

// fakeFeed is a presenter's screen that is only a list of states: each
// one is handed out in turn, then io.EOF (the screen closed).
type fakeFeed struct{ states chan presenter.State }

func (f *fakeFeed) Next() (presenter.State, error) {
	st, ok := <-f.states
	if !ok {
		return presenter.State{}, io.EOF
	}
	return st, nil
}

// talkState is the presenter 7:30 into the talk, 2:10 into scene 2 of
// three, a step running and the last check passed.
func talkState() presenter.State {
	talk := seedTime.Add(-7*time.Minute - 30*time.Second)
	return presenter.State{
		Talk: talk,
		Scene: presenter.Scene{Index: 1, ID: "mitm", Title: "Man in the middle", Since: seedTime.Add(-2*time.Minute - 10*time.Second),
			Notes: "- Wait for the highlighted text in the ASCII column, then read it out loud.\n- `w` saves the capture as pcap for Wireshark.\n"},
		Scenes: []presenter.Outline{
			{ID: "fortune", Title: "The Fortune Cookie Service", Budget: 2 * time.Minute},
			{ID: "mitm", Title: "Man in the middle", Budget: 3 * time.Minute},
			{ID: "servers", Title: "The service mesh servers", Budget: 3 * time.Minute},
		},
		Step:  &presenter.Step{Scene: 1, Index: 0, Count: 2, Title: "Sniff the wire"},
		Check: &presenter.Check{Scene: 0, Step: "Fetch a fortune from fcc00", Name: "consumer received a fortune", Pass: true, Evidence: "fcc00 printed 4 lines"},
		Keys: []presenter.Key{
			{Key: "n", Does: "scene 3: The service mesh servers"},
			{Key: "p", Does: "scene 1: The Fortune Cookie Service"},
			{Key: "enter", Does: "nothing yet: wait for the running step"},
		},
	}
}

func notesAt(st presenter.State, opts NotesOptions, now time.Time, w, h int) *Notes {
	opts.NoColor = true
	n := NewNotes(&fakeFeed{}, opts)
	n.now = func() time.Time { return now }
	n.width, n.height = w, h
	n.apply(st)
	return n
}

func TestNotesScreens(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   func() presenter.State
		opts NotesOptions
		at   time.Duration // after seedTime
		w, h int
	}{
		{name: "in_budget_80x24", st: talkState, w: 80, h: 24},
		{name: "overrun_80x24", st: talkState, at: 75 * time.Second, w: 80, h: 24},
		{name: "talk_budget_120x30", st: talkState, opts: NotesOptions{Budget: 45 * time.Minute}, w: 120, h: 30},
		{name: "last_scene_idle_80x24", st: func() presenter.State {
			st := talkState()
			st.Scene = presenter.Scene{Index: 2, ID: "servers", Title: "The service mesh servers", Since: seedTime}
			st.Step = nil
			st.Check = &presenter.Check{Scene: 2, Name: "leader elected", Evidence: "no leader after 10s"}
			st.Keys[0].Does = "nothing: this is the last scene"
			return st
		}, w: 80, h: 24},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := notesAt(tc.st(), tc.opts, seedTime.Add(tc.at), tc.w, tc.h).render()
			requireScreen(t, out, tc.w, tc.h)
		})
	}
}

func TestTheCountdownTurnsTheWarningColourOnceTheSceneOverruns(t *testing.T) {
	n := notesAt(talkState(), NotesOptions{}, seedTime, 80, 24)
	n.st = newStyles(ThemeDefault, false)
	if line := n.clocks(80); strings.Contains(line, n.st.Overrun.Render(" 0:00 over: move on ")) || !strings.Contains(ansi.Strip(line), "0:50 left") {
		t.Errorf("50 s left, the countdown is %q", ansi.Strip(line))
	}
	n.now = func() time.Time { return seedTime.Add(75 * time.Second) }
	if line := n.clocks(80); !strings.Contains(line, n.st.Overrun.Render(" 0:25 over: move on ")) {
		t.Errorf("25 s over, the countdown is not in the warning style: %q", line)
	}
}

func TestClock(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{0, "0:00"}, {59 * time.Second, "0:59"}, {61*time.Second + 900*time.Millisecond, "1:01"}, {time.Hour + 2*time.Minute + 3*time.Second, "1:02:03"}, {-time.Second, "0:00"}} {
		if got := clock(tc.d); got != tc.want {
			t.Errorf("clock(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// notesScreen is a notes screen running in teatest, and a way to wait on
// its state.
type notesScreen struct {
	t  *testing.T
	n  *Notes
	tm *teatest.TestModel

	mu    sync.Mutex
	conds []*notesCond
}

type notesCond struct {
	ok   func(*Notes) bool
	done chan struct{}
}

func startNotes(t *testing.T, feed StateFeed, opts NotesOptions) *notesScreen {
	t.Helper()
	opts.NoColor = true
	s := &notesScreen{t: t, n: NewNotes(feed, opts)}
	s.n.now = func() time.Time { return seedTime }
	s.n.observe = func(n *Notes) {
		s.mu.Lock()
		defer s.mu.Unlock()
		keep := s.conds[:0]
		for _, c := range s.conds {
			if c.ok(n) {
				close(c.done)
				continue
			}
			keep = append(keep, c)
		}
		s.conds = keep
	}
	s.tm = teatest.NewTestModel(t, s.n, teatest.WithInitialTermSize(80, 24))
	return s
}

func (s *notesScreen) wait(what string, ok func(*Notes) bool) {
	s.t.Helper()
	c := &notesCond{ok: ok, done: make(chan struct{})}
	s.mu.Lock()
	s.conds = append(s.conds, c)
	s.mu.Unlock()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		s.t.Fatalf("timed out waiting for the notes to show %s", what)
	}
}

// final waits for the notes screen to end by itself and returns it.
func (s *notesScreen) final() *Notes {
	s.t.Helper()
	return s.tm.FinalModel(s.t, teatest.WithFinalTimeout(5*time.Second)).(*Notes)
}

func TestNotesFollowAFakePresenterAndEndWithIt(t *testing.T) {
	feed := &fakeFeed{states: make(chan presenter.State)}
	s := startNotes(t, feed, NotesOptions{})
	st := talkState()
	feed.states <- st
	s.wait("scene 2", func(n *Notes) bool { return n.have && n.state.Scene.Index == 1 })
	st.Scene.Index, st.Scene.Title = 2, "The service mesh servers"
	feed.states <- st
	s.wait("scene 3", func(n *Notes) bool { return n.state.Scene.Title == "The service mesh servers" })
	close(feed.states)
	n := s.final()
	if !errors.Is(n.ended, io.EOF) {
		t.Errorf("the feed ended with %v, want io.EOF", n.ended)
	}
	if got := ansi.Strip(n.render()); !strings.Contains(got, "3/3 The service mesh servers") || !strings.Contains(got, "this is the last scene") {
		t.Errorf("the last screen does not show scene 3 as the last:\n%s", got)
	}
}

// TestNotesFollowTheDrivenScreen drives the guided lab's screen with the
// presenter's keys and follows it through a real socket, as `zt-lab
// notes` does: n moves the notes, enter runs a step whose check they
// show, and when the screen closes the notes end.
func TestNotesFollowTheDrivenScreen(t *testing.T) {
	base, err := os.MkdirTemp("", "zn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	path := filepath.Join(base, "zt-lab", presenter.SocketName)
	srv, err := presenter.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	lab := start(t, &fakeSource{lab: newFakeLab()}, Options{Publish: srv.Publish}, 80, 24)
	lab.wait("the first screen", idle)
	feed, err := presenter.Follow(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	notes := startNotes(t, feed, NotesOptions{})
	var got []presenter.Key
	notes.wait("the first scene", func(n *Notes) bool {
		got = n.state.Keys
		return n.have && n.state.Scene.Title == "The lab" && strings.Contains(n.state.Scene.Notes, "five hosts")
	})
	if want := []presenter.Key{
		{Key: "n", Does: "scene 2: The Fortune Cookie Service"},
		{Key: "p", Does: "nothing: this is the first scene"},
		{Key: "enter", Does: "run step 1/1: Deploy five hosts"},
	}; !equalKeys(got, want) {
		t.Errorf("on the first scene the keys do %v, want %v", got, want)
	}

	lab.keys("n")
	notes.wait("scene 2 after n", func(n *Notes) bool {
		return n.state.Scene.Index == 1 && n.state.Next() == "Man in the middle"
	})
	lab.keys("enter") // scene 2's first step, after catching up on scene 1
	var enter, screen string
	notes.wait("the step's check", func(n *Notes) bool {
		c := n.state.Check
		// Read on the program's goroutine, as the screen is drawn.
		enter, screen = n.state.Keys[2].Does, ansi.Strip(n.render())
		return c != nil && c.Name == "fcs00 listens on 8181" && c.Pass && n.state.Step == nil
	})
	if enter != "run step 2/2: Fetch a fortune from fcc00" {
		t.Errorf("after step 1, enter does %q", enter)
	}
	for _, want := range []string{"2/4 The Fortune Cookie Service", "✓ fcs00 listens on 8181", "next  3 Man in the middle", "run step 2/2: Fetch a fortune from fcc00"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the notes screen lacks %q:\n%s", want, screen)
		}
	}

	lab.keys("q")
	lab.tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second))
	srv.Close() // what cmd/zt-lab does when the screen returns
	if n := notes.final(); !errors.Is(n.ended, io.EOF) {
		t.Errorf("after the screen closed the notes ended with %v, want io.EOF", n.ended)
	}
}

func equalKeys(a, b []presenter.Key) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestKeysSayWhatTheScreenWouldDo(t *testing.T) {
	s := start(t, &fakeSource{lab: newFakeLab()}, Options{}, 80, 24)
	s.wait("the first screen", idle)
	s.keys("n", "n", "n")
	s.wait("the last scene", func(m *Model) bool { return m.cur == 3 && idle(m) })
	s.keys("?")
	s.wait("the help", func(m *Model) bool { return m.showHelp })
	// Read on the program's goroutine: the next update is the check.
	var help, last []presenter.Key
	s.wait("the keys", func(m *Model) bool { help = m.keysDo(); return true })
	s.keys("esc")
	s.wait("the help closed", func(m *Model) bool { last = m.keysDo(); return !m.showHelp })
	if help[0].Does != "close the help" || help[2].Does != "close the help" {
		t.Errorf("with the help open the keys do %v", help)
	}
	if last[0].Does != "nothing: this is the last scene" || last[1].Does != "scene 3: Man in the middle" {
		t.Errorf("on the last scene the keys do %v", last)
	}
}

func TestASceneClockCountsEveryVisit(t *testing.T) {
	var last presenter.State
	m := newModel(newTestEngine(testScenes()), &fakeSource{}, Options{NoColor: true, Publish: func(st presenter.State) { last = st }})
	t.Cleanup(m.cancel)
	now := seedTime
	m.now = func() time.Time { return now }
	m.start = seedTime
	in := func() time.Duration { return now.Sub(last.Scene.Since) }
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if last.Scene.Index != 0 || in() != 0 || !last.Talk.Equal(seedTime) {
		t.Fatalf("at the start: scene %d, %v in it, talk from %v", last.Scene.Index, in(), last.Talk)
	}
	for _, tc := range []struct {
		after time.Duration
		key   string
		scene int
		in    time.Duration
	}{
		{30 * time.Second, "n", 1, 0},
		{20 * time.Second, "p", 0, 30 * time.Second}, // back: the first 30 s still count
		{5 * time.Second, "n", 1, 20 * time.Second},
		{time.Minute, "x", 1, 80 * time.Second}, // no move: the clock runs on
	} {
		now = now.Add(tc.after)
		m.Update(keyPress(tc.key))
		if last.Scene.Index != tc.scene || in() != tc.in {
			t.Errorf("after %s: scene %d, %v in it; want scene %d, %v", tc.key, last.Scene.Index, in(), tc.scene, tc.in)
		}
	}
}

func TestTheNotesScreenFillsAnySizeAndAnyState(t *testing.T) {
	long := talkState()
	long.Scene.Notes = strings.Repeat("- a line the presenter says out loud, long enough to wrap on a narrow screen\n", 40)
	odd := talkState()
	odd.Scene.Index, odd.Scenes, odd.Keys, odd.Step = 7, nil, nil, &presenter.Step{Scene: 9, Index: -1, Doing: "catching up: The lab"}
	for _, st := range []presenter.State{talkState(), long, odd, {}} {
		for _, sz := range []struct{ w, h int }{{1, 1}, {20, 5}, {40, 11}, {80, 24}, {200, 60}} {
			n := notesAt(st, NotesOptions{Budget: 45 * time.Minute}, seedTime, sz.w, sz.h)
			requireSize(t, n.render(), sz.w, sz.h)
		}
	}
}

func TestLongNotesScrollAndSaySo(t *testing.T) {
	st := talkState()
	st.Scene.Notes = strings.Repeat("- one more thing to say\n", 30)
	n := notesAt(st, NotesOptions{}, seedTime, 80, 24)
	if out := ansi.Strip(n.render()); !strings.Contains(out, "Notes · ↓ more") {
		t.Errorf("30 lines of notes on 14 rows do not say there is more:\n%s", out)
	}
	for range 40 {
		n.update(keyPress("j"))
	}
	if out := ansi.Strip(n.render()); !strings.Contains(out, "Notes · ↑ more") || strings.Contains(out, "↓ more") {
		t.Errorf("scrolled to the end, the notes do not say there is more above only:\n%s", out)
	}
	// Up from the end moves at once: scrolling down stopped at the end.
	n.update(keyPress("k"))
	if out := ansi.Strip(n.render()); !strings.Contains(out, "Notes · ↓ more") {
		t.Errorf("one line up from the end, the notes do not say there is more below:\n%s", out)
	}
}
