package tui

import (
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/ztlab/zt-lab/scenes"
)

// The README's recipe for a new panel, followed once: a row in panels and
// a renderer of its own. Tab reaches it after the others and leaves it for
// the first, its title and its lines are on screen, and a
// scene that names it opens on it.
func TestANewPanelIsARowAndARenderer(t *testing.T) {
	// The row goes in a copy of the table that only this test's models
	// see: other tests' programs may still be rendering with the real one.
	saved := panels
	const panelHosts scenes.Panel = "hosts"
	table := append(slices.Clone(saved), livePanel{
		id:    panelHosts,
		title: "hosts · every host and its state",
		list: func(m *Model, w, _ int) []string {
			var lines []string
			for _, h := range m.snap.hosts {
				lines = append(lines, " "+h.Name+" is "+string(h.State))
			}
			return lines
		},
	})

	m := newModel(newTestEngine(testScenes()), &fakeSource{lab: newFakeLab()}, Options{NoColor: true})
	m.panels = table
	m.width, m.height = 120, 20
	for range saved {
		m.handleKey(keyPress("tab"))
	}
	if m.currentPanel() != panelHosts {
		t.Fatalf("after %d tabs the panel is %s, want the new one", len(saved), m.currentPanel())
	}
	if w := m.want(); w.panel != panelHosts || w.dumpLines+w.flows+w.consumer != 0 {
		t.Errorf("the new panel reads %+v: it asked for nothing", w)
	}
	m.snap = m.refr.read(m.want())
	out := ansi.Strip(m.render())
	for _, want := range []string{"── hosts · every host and its state ──", " consul00 is up", " fcc00 is up"} {
		if !strings.Contains(out, want) {
			t.Errorf("the new panel lacks %q:\n%s", want, out)
		}
	}
	requireSize(t, m.render(), 120, 20)
	m.handleKey(keyPress("tab"))
	if m.currentPanel() != saved[0].id {
		t.Errorf("tab after the new panel shows %s, want %s", m.currentPanel(), saved[0].id)
	}

	// A scene that names the panel shows it.
	sc := testScenes()
	sc[0].Panel = panelHosts
	m = newModel(newTestEngine(sc), &fakeSource{lab: newFakeLab()}, Options{NoColor: true})
	m.panels = table
	m.width, m.height = 120, 20
	m.snap = m.refr.read(m.want())
	if out := ansi.Strip(m.render()); !strings.Contains(out, " fcs00 is up") {
		t.Errorf("a scene with the new panel does not show it:\n%s", out)
	}
}

// Every panel has a title and one way to be drawn, and no two share an id.
func TestEveryPanelRowIsWhole(t *testing.T) {
	seen := map[scenes.Panel]bool{}
	for _, p := range panels {
		if p.id == "" || p.title == "" || (p.draw == nil) == (p.list == nil) || seen[p.id] {
			t.Errorf("panel %q: id, title, and draw or list (not both), once each: %+v", p.id, p)
		}
		if p.fromEnd && p.list == nil {
			t.Errorf("panel %q shows its end but is no list", p.id)
		}
		seen[p.id] = true
	}
	for _, id := range []scenes.Panel{scenes.PanelTopology, scenes.PanelSniffer, scenes.PanelConsumer, scenes.PanelCluster, scenes.PanelCerts, scenes.PanelTimeline, scenes.PanelReport} {
		if !seen[id] {
			t.Errorf("scenes can ask for panel %q, which no row draws", id)
		}
	}
}
