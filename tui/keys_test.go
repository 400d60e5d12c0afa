package tui

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ztlab/zt-lab/infra"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/ztlab/zt-lab/mesh"
	"github.com/ztlab/zt-lab/scenes"
)

func TestNextAndPreviousMoveBetweenScenes(t *testing.T) {
	s := start(t, &fakeSource{}, Options{}, 80, 24)
	// One key at a time, each waited for with a scene the screen was not
	// on before that key: a key that did nothing cannot pass as one that
	// moved. (n n p in one go would pass on the first n alone.)
	for i, tc := range []struct {
		key  string
		want int
	}{
		{"n", 1}, {"n", 2}, {"p", 1},
		{"right", 2}, {"right", 3},
		{"left", 2}, {"p", 1}, {"p", 0},
	} {
		s.keys(tc.key)
		s.wait(fmt.Sprintf("key %d (%s): scene %d", i+1, tc.key, tc.want+1), func(m *Model) bool { return m.cur == tc.want })
	}
	// At either end a key that would leave the walkthrough stays put.
	s.keys("p", "right", "right", "right", "right")
	s.wait("the last scene", func(m *Model) bool { return m.cur == 3 })
	s.keys("left", "p", "p", "p", "p")
	s.wait("the first scene", func(m *Model) bool { return m.cur == 0 })
}

func TestEnterRunsAStepAndMarksIt(t *testing.T) {
	s := start(t, &fakeSource{lab: newFakeLab()}, Options{}, 80, 24)
	s.keys("enter")
	s.wait("the step's check", func(m *Model) bool { return !m.busy && m.scenes[0].steps[0].status == stepPassed })
	out := ansi.Strip(s.final())
	for _, want := range []string{"✓ 1 five hosts up on one wire", "▶✓ 1 │"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q on screen:\n%s", want, out)
		}
	}
}

func TestEnterWalksIntoTheNextSceneWhenDone(t *testing.T) {
	s := start(t, &fakeSource{lab: newFakeLab()}, Options{}, 80, 24)
	s.keys("enter")
	s.wait("the step's check", func(m *Model) bool { return !m.busy && m.scenes[0].steps[0].status == stepPassed })
	s.keys("enter")
	s.wait("scene 2", func(m *Model) bool { return m.cur == 1 })
}

func TestQuitEndsTheProgram(t *testing.T) {
	s := start(t, &fakeSource{}, Options{}, 80, 24)
	s.keys("q")
	fm := s.tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	if !fm.quitting || fm.ctx.Err() == nil {
		t.Fatalf("q did not quit (quitting=%v, ctx=%v)", fm.quitting, fm.ctx.Err())
	}
}

// A step that fails shows its error and its output (the log tails) where
// the panel was, and the screen stays usable.
func TestAFailingStepShowsItsOutputAndTheScreenGoesOn(t *testing.T) {
	sc := testScenes()
	sc[0].Steps[0].Do = func(_ context.Context, env *scenes.Env) error {
		env.Logf("consul00: starting agent")
		env.Logf("consul00: agent log: bind: address already in use")
		return errors.New("start agent on consul00: exit status 1")
	}
	s := &screen{t: t}
	s.m = newModel(newTestEngine(sc), &fakeSource{}, Options{NoColor: true})
	s.m.observe = s.check
	s.tm = teatest.NewTestModel(t, s.m, teatest.WithInitialTermSize(80, 24))
	t.Cleanup(func() { s.tm.Quit() })
	s.keys("enter")
	s.wait("the error", func(m *Model) bool { return !m.busy && m.failure != nil && len(m.failure.output) == 2 })
	s.keys("n")
	s.wait("scene 2", func(m *Model) bool { return m.cur == 1 })
	s.keys("p")
	s.wait("scene 1", func(m *Model) bool { return m.cur == 0 && idle(m) })
	out := ansi.Strip(s.final())
	for _, want := range []string{
		"✗ step 1 (Deploy five hosts) failed",
		"start agent on consul00: exit status 1",
		"consul00: agent log: bind: address already in use",
		"✗ 1 Deploy five hosts",
		"enter retries the step",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q on screen:\n%s", want, out)
		}
	}
}

func TestAutoplayRunsEverySceneAndQuits(t *testing.T) {
	m := newModel(newTestEngine(testScenes()), &fakeSource{lab: newFakeLab()}, Options{Autoplay: true, Pace: time.Millisecond, NoColor: true})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
	if !fm.Failed() {
		t.Error("the fortune scene's check failed, autoplay says nothing failed")
	}
	// Every scene ran: the failing check of scene 2 stops nothing.
	if got := len(fm.engine.Results()); got != 4 {
		t.Errorf("%d steps ran, want 4", got)
	}
}

func TestWritePcapNamesTheFileByTime(t *testing.T) {
	src := sniffed(t, 1)
	dir := t.TempDir()
	s := start(t, src, Options{PcapDir: dir}, 80, 24)
	s.keys("w")
	want := filepath.Join(dir, "zt-lab-20210304-012020.pcap")
	s.wait("the pcap", func(m *Model) bool { return m.status == "capture written to "+want })
	if len(src.pcaps) != 1 || src.pcaps[0] != want {
		t.Errorf("pcaps written: %q, want %q", src.pcaps, want)
	}
}

func TestShellOnAHostSuspendsAndComesBack(t *testing.T) {
	var asked []string
	opts := Options{ShellFunc: func(host string) *exec.Cmd {
		asked = append(asked, host)
		return exec.Command("true")
	}}
	s := start(t, &fakeSource{lab: newFakeLab()}, opts, 80, 24)
	s.wait("the hosts", func(m *Model) bool { return len(m.snap.hosts) == 5 })
	s.keys("s")
	s.wait("the host picker", func(m *Model) bool { return m.picker != nil })
	s.keys("2")
	s.wait("the shell's end", func(m *Model) bool { return strings.HasPrefix(m.status, "back from the shell on consul01") })
	if len(asked) != 1 || asked[0] != "consul01" {
		t.Errorf("shells asked for: %q", asked)
	}
}

func TestXFailsAHostOneWayAndThenRecoversIt(t *testing.T) {
	lab := newFakeLab()
	s := start(t, &fakeSource{lab: lab}, Options{}, 80, 24)
	s.wait("the hosts", func(m *Model) bool { return len(m.snap.hosts) == 5 })
	s.keys("x")
	s.wait("the host picker", func(m *Model) bool { return m.picker != nil && strings.Contains(m.picker.title, "which host") })
	s.keys("4") // fcs00
	s.wait("the modes", func(m *Model) bool { return m.picker != nil && strings.Contains(m.picker.title, "fcs00") })
	s.keys("2") // partition
	s.wait("the failure", func(m *Model) bool { return strings.HasPrefix(m.status, "fcs00: partition.") })
	fcs, _ := lab.Host("fcs00")
	if fcs.State() != infra.StatePartitioned {
		t.Fatalf("fcs00 is %s after x 4 2, want partitioned", fcs.State())
	}
	s.wait("the partition on screen", func(m *Model) bool {
		for _, h := range m.snap.hosts {
			if h.Name == "fcs00" {
				return h.State == infra.StatePartitioned
			}
		}
		return false
	})
	s.keys("x")
	s.wait("the host picker", func(m *Model) bool { return m.picker != nil })
	s.keys("4") // fcs00, failed: recover
	s.wait("the recovery", func(m *Model) bool { return m.status == "fcs00 recovered" })
	if fcs.State() != infra.StateUp {
		t.Errorf("fcs00 is %s after recovering, want up", fcs.State())
	}
}

func TestPreparingShowsEachHostsProgress(t *testing.T) {
	m := newModel(newTestEngine(testScenes()), &fakeSource{}, Options{NoColor: true})
	m.begin(opStep, 1, 0)
	m.update(eventsMsg{
		{Kind: scenes.Preparing, Scene: 1, Text: "catching up: The lab"},
		{Kind: scenes.Output, Text: "consul00: namespace"},
		{Kind: scenes.Output, Text: "fcs00 198.18.0.13 up"},
		{Kind: scenes.Output, Text: "consul00: ready"},
		{Kind: scenes.Output, Text: "five hosts in 310 ms"},
	})
	out := ansi.Strip(m.render())
	for _, want := range []string{"preparing: catching up: The lab", "consul00 ready · fcs00 198.18.0.13 up"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q on screen:\n%s", want, out)
		}
	}
}

func TestNoColorFromTheEnvironment(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	m := newModel(newTestEngine(testScenes()), &fakeSource{}, Options{Theme: ThemeHighContrast})
	if !m.opts.NoColor {
		t.Fatal("NO_COLOR is set, the screen has colours")
	}
	if strings.Contains(m.render(), "\x1b[38;") {
		t.Error("a foreground colour on a NO_COLOR screen")
	}
}

// Every panel, at every size from the smallest to a projector's, fills
// the terminal exactly: nothing wraps, nothing overflows.
func TestEveryPanelFitsEverySize(t *testing.T) {
	src := sniffed(t, 3)
	m := newModel(newTestEngine(testScenes()), src, Options{NoColor: true})
	m.mesh, m.haveMesh = mesh.View{
		Secured: true, Leader: "consul01", Peers: []string{"consul00", "consul01", "consul02"},
		Members:    []mesh.Member{{Name: "consul00", Addr: "198.18.0.10:8301", Role: "server", Status: "alive"}, {Name: "fcs00", Addr: "147.75.98.161:8301", Role: "client", Status: "failed"}},
		Roots:      []mesh.Root{{ID: "r1", Name: "Consul CA Primary Cert", Active: true, Fingerprint: strings.Repeat("ab:", 31) + "ab", NotAfter: seedTime}},
		Leaves:     []mesh.Identity{{Service: "fcs", URI: "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/fcs", Serial: "3a:1f", NotBefore: seedTime, NotAfter: seedTime.Add(72 * time.Hour), Root: "r1"}},
		Intentions: []string{"* => * (deny)", "fcc => fcs (allow)"},
	}, true
	m.failure = nil
	for _, sz := range [][2]int{{40, 12}, {60, 16}, {80, 24}, {100, 30}, {120, 40}, {160, 48}, {200, 60}, {250, 80}, {30, 8}} {
		m.width, m.height = sz[0], sz[1]
		for _, row := range panels {
			p := row.id
			m.panel = p
			m.snap = m.refr.read(m.want())
			m.ensureMarkdown()
			for _, overlay := range []string{"", "help", "notes", "busy"} {
				m.showHelp, m.showNotes, m.busy = overlay == "help", overlay == "notes", overlay == "busy"
				out := m.render()
				lines := strings.Split(out, "\n")
				if len(lines) != sz[1] {
					t.Fatalf("%v %s %s: %d lines", sz, p, overlay, len(lines))
				}
				for i, l := range lines {
					if n := ansi.StringWidth(l); n != sz[0] {
						t.Fatalf("%v %s %s: line %d is %d wide: %q", sz, p, overlay, i, n, ansi.Strip(l))
					}
				}
			}
		}
	}
}

// The cluster panel shows what mesh reads of the cluster: the raft peers
// with the leader marked, the members as `consul members` prints them,
// the intentions; and before the mesh, the servers to be.
func TestClusterPanelShowsRaftMembersAndIntentions(t *testing.T) {
	st := newStyles(ThemeDefault, true)
	d := clusterData{have: true, view: mesh.View{
		Leader: "consul01", Peers: []string{"consul00", "consul01", "consul02"},
		Members:    []mesh.Member{{Name: "consul01", Addr: "198.18.0.11", Role: "server", Status: "alive"}, {Name: "fcs00", Addr: "198.18.0.13", Role: "client", Status: "failed"}},
		Intentions: []string{"fcc => fcs (allow)"},
	}}
	out := ansi.Strip(strings.Join(clusterPanel(st, d, 60), "\n"))
	for _, want := range []string{"Raft  leader ★ consul01", "★ consul01 voter", "consul01  198.18.0.11  alive    server", "fcs00     198.18.0.13  failed   client", "fcc => fcs (allow)"} {
		if !strings.Contains(out, want) {
			t.Errorf("cluster panel lacks %q:\n%s", want, out)
		}
	}
	none := clusterData{have: true, servers: []scenes.HostView{{Name: "consul00", State: infra.StateUp}}, deployed: true}
	out = ansi.Strip(strings.Join(clusterPanel(st, none, 60), "\n"))
	if !strings.Contains(out, "No cluster to show yet.") || !strings.Contains(out, "consul00 ● up") {
		t.Errorf("cluster panel before the mesh:\n%s", out)
	}
}

// A cloud machine can also lose power: the picker offers it, for that
// host only, and says what it does.
func TestXOffersPowerOffOnACloudMachine(t *testing.T) {
	lab := newFakeLab()
	lab.hosts[3] = cloudHost{lab.hosts[3].(*fakeHost)} // fcs00
	s := start(t, &fakeSource{lab: lab}, Options{}, 80, 24)
	s.wait("the hosts", func(m *Model) bool { return len(m.snap.hosts) == 5 })
	s.keys("x")
	s.wait("the host picker", func(m *Model) bool { return m.picker != nil && strings.Contains(m.picker.title, "which host") })
	s.keys("5") // fcc00: no power switch
	s.wait("fcc00's modes", func(m *Model) bool { return m.picker != nil && strings.Contains(m.picker.title, "fcc00") })
	s.wait("three modes", func(m *Model) bool {
		return len(m.picker.items) == 3 && !strings.Contains(m.picker.note, "poweroff")
	})
	s.keys("esc")
	s.wait("no picker", func(m *Model) bool { return m.picker == nil })
	s.keys("x")
	s.wait("the host picker", func(m *Model) bool { return m.picker != nil && strings.Contains(m.picker.title, "which host") })
	s.keys("4") // fcs00
	s.wait("fcs00's modes", func(m *Model) bool {
		return m.picker != nil && strings.Contains(m.picker.title, "fcs00") && len(m.picker.items) == 4 &&
			m.picker.items[3] == "poweroff" && strings.Contains(m.picker.note, "poweroff cuts its power")
	})
	s.keys("4")
	s.wait("the power-off", func(m *Model) bool { return strings.HasPrefix(m.status, "fcs00: poweroff.") })
	if st := lab.hosts[3].State(); st != infra.StatePoweredOff {
		t.Errorf("fcs00 is %s after x 4 4, want off", st)
	}
}

// x goes through the engine: the fault and the recovery are events, in
// the timeline and on the report card, like a step's.
func TestXShowsInTheTimelineAndTheReportCard(t *testing.T) {
	engine := newTestEngine(testScenes())
	if err := engine.Env().Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := startEngine(t, engine, envSource{env: engine.Env(), engine: engine}, Options{}, 160, 48)
	s.wait("the hosts", func(m *Model) bool { return len(m.snap.hosts) == 5 })
	s.keys("x", "4", "2") // fcs00, partition
	s.wait("the fault", func(m *Model) bool { return strings.HasPrefix(m.status, "fcs00: partition.") && len(m.faults) == 1 })
	fcs, err := engine.Env().Host("fcs00")
	if err != nil {
		t.Fatal(err)
	}
	if fcs.State() != infra.StatePartitioned {
		t.Fatalf("fcs00 is %s after x 4 2, want partitioned", fcs.State())
	}
	s.wait("the partition on screen", func(m *Model) bool {
		return len(m.snap.hosts) == 5 && m.snap.hosts[3].State == infra.StatePartitioned
	})
	s.keys("x", "4") // fcs00, failed: recover
	s.wait("the recovery", func(m *Model) bool { return m.status == "fcs00 recovered" && len(m.faults) == 2 })
	if fcs.State() != infra.StateUp {
		t.Errorf("fcs00 is %s after recovering, want up", fcs.State())
	}
	screenShows := func(m *Model, want ...string) bool {
		out := ansi.Strip(m.render())
		for _, w := range want {
			if !strings.Contains(out, w) {
				return false
			}
		}
		return true
	}
	s.keys("tab", "tab", "tab", "tab", "tab", "tab") // topology → timeline
	s.wait("the faults in the timeline", func(m *Model) bool {
		return m.currentPanel() == scenes.PanelTimeline &&
			screenShows(m, "⚡ fcs00 partition · by hand", "↺ fcs00 recovered from partition · by hand")
	})
	s.keys("tab")
	s.wait("the faults on the report card", func(m *Model) bool {
		return m.currentPanel() == scenes.PanelReport &&
			screenShows(m, "0 passed · 0 failed · 1 fault injected", "Faults", "⚡ fcs00 partition · by hand · at ", "↺ fcs00 recovered from partition · by hand · at ")
	})
}
