package tui

import (
	"testing"

	"github.com/ztlab/zt-lab/scenes"
)

// busiest is the sniffer scene at 200×60 with 10,000 packets buffered
// (1,250 fortune flows, each with the seed's packet): the dump of the
// newest fortunes, every stolen byte marked, and the verdicts.
func busiest(b *testing.B) *Model {
	src := sniffed(b, 1250)
	if n := len(src.packets); n != 10000 {
		b.Fatalf("%d packets buffered, want 10000", n)
	}
	m := newModel(newTestEngine(testScenes()), src, Options{})
	m.width, m.height = 200, 60
	m.cur = 2
	m.snap = m.refr.read(m.want())
	m.ensureMarkdown()
	if m.currentPanel() != scenes.PanelSniffer || len(m.snap.dump) == 0 {
		b.Fatal("the sniffer panel shows nothing")
	}
	return m
}

// BenchmarkView renders the busiest screen: View must stay cheap.
func BenchmarkView(b *testing.B) {
	m := busiest(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkRefresh reads what the busiest screen shows from the lab, as
// the tick does off the screen's goroutine.
func BenchmarkRefresh(b *testing.B) {
	m := busiest(b)
	want := m.want()
	b.ReportAllocs()
	for b.Loop() {
		_ = m.refr.read(want)
	}
}
