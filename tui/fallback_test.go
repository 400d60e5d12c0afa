package tui

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/ztlab/zt-lab/cast"
	"github.com/ztlab/zt-lab/presenter"
	"github.com/ztlab/zt-lab/scenes"
)

// castTerminal is the terminal a recorded TUI writes to: every write one
// event of the cast, a tenth of a second after the one before, the
// scenes marked by their window titles, as zt-lab record marks them. A
// program without a terminal for its input leaves the terminal's output
// cooked and counts on it to turn "\n" into "\r\n" (a pty's ONLCR): this
// one does too.
type castTerminal struct {
	mu  sync.Mutex
	w   *cast.Writer
	at  time.Duration
	err error
}

func (c *castTerminal) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at += 100 * time.Millisecond
	if err := c.w.Output(c.at, bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n"))); err != nil && c.err == nil {
		c.err = err
	}
	return len(p), nil
}

// recordWalkthrough plays the test walkthrough by itself (autoplay) in a
// w×h terminal and returns the cast of what it showed.
func recordWalkthrough(t *testing.T, w, h int) []byte {
	t.Helper()
	sc := testScenes()
	// The first step takes a while, as deploying hosts does: the
	// recording shows it running before it shows its check.
	sc[0].Steps[0].Do = func(_ context.Context, env *scenes.Env) error {
		env.Logf("consul00 198.18.0.10 up")
		time.Sleep(300 * time.Millisecond)
		return nil
	}
	engine := newTestEngine(sc)
	marks := map[string]string{}
	for _, s := range engine.Scenes {
		marks[WindowTitle(s.Title)] = cast.MarkLabel(s.ID, s.Title)
	}
	var buf bytes.Buffer
	cw, err := cast.NewWriter(&buf, cast.Header{Cols: w, Rows: h, Started: seedTime, Env: map[string]string{"TERM": "xterm-256color"}})
	if err != nil {
		t.Fatal(err)
	}
	cw.MarkTitles(func(title string) (string, bool) { l, ok := marks[title]; return l, ok })
	term := &castTerminal{w: cw}
	// A pace long enough for each scene's last frame to reach the screen
	// before the next scene's.
	m := newModel(engine, &fakeSource{lab: newFakeLab(), consumer: []string{"You love peace."}, served: []string{"You love peace."}},
		Options{Autoplay: true, Pace: 500 * time.Millisecond, NoColor: true})
	m.now = func() time.Time { return seedTime }
	p := tea.NewProgram(m, tea.WithInput(nil), tea.WithOutput(term), tea.WithoutSignals(), tea.WithWindowSize(w, h),
		tea.WithEnvironment([]string{"TERM=xterm-256color"}))
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		p.Kill()
		t.Fatal("the autoplay did not end")
	}
	if term.err != nil {
		t.Fatal(term.err)
	}
	return buf.Bytes()
}

// startFallback runs the live screen over the test walkthrough with the
// recording rec behind F.
func startFallback(t *testing.T, rec *cast.Player, w, h int, publish func(presenter.State)) (*screen, *fallbackModel) {
	t.Helper()
	s := &screen{t: t}
	s.m = newModel(newTestEngine(testScenes()), &fakeSource{lab: newFakeLab()}, Options{NoColor: true, Fallback: rec, Publish: publish})
	s.m.now = func() time.Time { return seedTime }
	s.m.observe = s.check
	f := newFallbackModel(s.m, rec)
	s.tm = teatest.NewTestModel(t, f, teatest.WithInitialTermSize(w, h))
	t.Cleanup(func() { s.tm.Quit() })
	return s, f
}

func TestFallbackShowsTheRecordingAtTheLiveScene(t *testing.T) {
	c, err := cast.Parse(bytes.NewReader(recordWalkthrough(t, 80, 24)))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := cast.NewPlayer(c)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	if n := len(rec.Scenes()); n != 4 {
		t.Fatalf("the recording has %d scenes, want the walkthrough's 4", n)
	}

	var notes presenter.State
	s, f := startFallback(t, rec, 80, 24, func(st presenter.State) { notes = st })
	s.keys("n")
	s.wait("the live fortune scene", func(m *Model) bool { return m.cur == 1 && idle(m) })
	s.keys("F")
	var out string
	s.wait("the recording", func(*Model) bool { out = f.render(); return f.showing })
	requireSize(t, out, 80, 24)
	plain := ansi.Strip(out)
	for _, want := range []string{
		BannerText,
		"2/4 The Fortune Cookie Service · end",
		// What the recorded scene proved, and failed to.
		"fcs00 listens on 8181",
		"consumer received a fortune",
	} {
		if !strings.Contains(plain, want) {
			t.Errorf("the recording lacks %q:\n%s", want, plain)
		}
	}
	requireScreen(t, out, 80, 24)

	// The notes screen says what n, p and enter do now: move the
	// recording.
	s.wait("the notes on the recording's keys", func(*Model) bool {
		return len(notes.Keys) == 3 && notes.Keys[0].Does == "the recording of scene 3: Man in the middle"
	})
	// n moves the recording, not the live lab.
	s.keys("n")
	s.wait("the recording's next scene", func(*Model) bool { out = f.render(); return f.scene == 2 })
	plain = ansi.Strip(out)
	for _, want := range []string{BannerText, "3/4 Man in the middle · end", "sniffer read fortune text in the clear"} {
		if !strings.Contains(plain, want) {
			t.Errorf("the recording's next scene lacks %q:\n%s", want, plain)
		}
	}
	// Keys the live screen would act on move only the recording: a (run
	// the scene) runs nothing; p, n, and enter from a scene's end go on to
	// the next scene's start.
	s.keys("a", "p", "n", "enter")
	s.wait("the recording's last scene", func(*Model) bool { return f.scene == 3 && f.note == "start" })

	s.keys("F")
	var cur int
	var busy bool
	var step stepStatus
	s.wait("the live lab", func(m *Model) bool {
		out, cur, busy, step = ansi.Strip(m.render()), m.cur, m.busy, m.scenes[1].steps[0].status
		return !f.showing
	})
	if strings.Contains(out, BannerText) || !strings.Contains(out, "2/4 The Fortune Cookie Service") {
		t.Errorf("F did not bring back the live fortune scene:\n%s", out)
	}
	s.wait("the notes on the live keys", func(*Model) bool {
		return len(notes.Keys) == 3 && notes.Keys[0].Does == "scene 3: Man in the middle"
	})
	if cur != 1 || busy || step != stepPending {
		t.Errorf("the live lab changed behind the recording: scene %d, busy %v, step %v", cur, busy, step)
	}
}

func TestFallbackStepsThroughARecordedScene(t *testing.T) {
	c, err := cast.Parse(bytes.NewReader(recordWalkthrough(t, 80, 24)))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := cast.NewPlayer(c)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	s, f := startFallback(t, rec, 120, 36, nil)
	var live string
	s.wait("the first screen", func(m *Model) bool { live = ansi.Strip(m.render()); return idle(m) })
	if !strings.Contains(live, "F recording") || !strings.Contains(live, "F shows the recording of this scene") {
		t.Errorf("the live screen does not say F shows the recording:\n%s", live)
	}
	s.keys("?")
	s.wait("the help", func(m *Model) bool { live = ansi.Strip(m.render()); return m.showHelp })
	if !strings.Contains(live, "the recording of this scene") {
		t.Errorf("the help does not name F:\n%s", live)
	}
	s.keys("esc", "F", "r")
	var out string
	scene, pos, end, note := 0, -1, rec.End(0), ""
	s.wait("the scene's start", func(*Model) bool {
		out, pos = f.render(), f.pos
		return f.showing && f.note == "start"
	})
	if plain := ansi.Strip(out); !strings.Contains(plain, "Deploy five hosts") || strings.Contains(plain, "five hosts up on one wire") {
		t.Errorf("the first scene's start shows its check already, or no step:\n%s", plain)
	}
	requireSize(t, out, 120, 36)
	// enter steps through to the scene's end, then on into the next.
	sawEnd := false
	for range 1000 {
		s.keys("enter")
		was, wasScene := pos, scene
		s.wait("a step", func(*Model) bool {
			scene, pos, note, out = f.scene, f.pos, f.note, f.render()
			return pos != was || scene != wasScene
		})
		if scene == 0 && pos == end {
			sawEnd = true
			if plain := ansi.Strip(out); !strings.Contains(plain, "five hosts up on one wire") {
				t.Errorf("the first scene's end lacks its check:\n%s", plain)
			}
		}
		if scene != 0 {
			break
		}
	}
	if !sawEnd || scene != 1 || note != "start" {
		t.Errorf("enter went to scene %d (%s), the first scene's end seen: %v; want its end, then the next one's start", scene, note, sawEnd)
	}
}
