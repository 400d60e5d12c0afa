package tui

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/scenes"
)

// attackSource is a fake lab with mallory on its wire and the attack's
// view as the Env reports it.
type attackSource struct {
	*fakeSource
	attack *scenes.AttackView
}

func (s attackSource) Lab() (scenes.LabView, bool) {
	v, ok := s.fakeSource.Lab()
	v.Hosts = append(v.Hosts, scenes.HostView{Name: "mallory", Role: infra.RoleAttacker, Addr: netip.MustParseAddr("198.18.0.60"), State: infra.StateUp})
	v.Attack = s.attack
	return v, ok
}

const (
	fcsMAC     = "02:00:00:00:00:20"
	fccMAC     = "02:00:00:00:00:30"
	malloryMAC = "02:00:00:00:00:60"
)

func poisonedView() *scenes.AttackView {
	return &scenes.AttackView{
		Attacker: "mallory", MAC: malloryMAC, InPath: true, Relayed: 5, Tampered: 5,
		Entries: []scenes.NeighbourEntry{
			{Host: "fcc00", Of: "fcs00", MAC: malloryMAC, Owner: "mallory", Poisoned: true},
			{Host: "fcs00", Of: "fcc00", MAC: malloryMAC, Owner: "mallory", Poisoned: true},
		},
	}
}

func cleanView() *scenes.AttackView {
	return &scenes.AttackView{
		Attacker: "mallory", MAC: malloryMAC, Relayed: 5, Tampered: 5,
		Entries: []scenes.NeighbourEntry{
			{Host: "fcc00", Of: "fcs00", MAC: fcsMAC, Owner: "fcs00"},
			{Host: "fcs00", Of: "fcc00", MAC: fccMAC, Owner: "fcc00"},
		},
	}
}

// The topology shows the poisoned caches and the path through mallory
// while it is in the middle, and the caches clean once it is gone: read
// from the lab's view, as the refresher reads it.
func TestTopologyShowsTheAttack(t *testing.T) {
	died := time.Date(2026, 12, 4, 22, 0, 0, 0, time.UTC)
	recovered := cleanView()
	recovered.Died, recovered.Restored = died, died.Add(143*time.Millisecond)
	tests := []struct {
		name      string
		attack    *scenes.AttackView
		want, not []string
	}{
		{"poisoned", poisonedView(),
			[]string{"⚠ fcc00: fcs00 → mallory's MAC " + malloryMAC, "⚠ fcs00: fcc00 → mallory's MAC " + malloryMAC, "☠ via mallory", "mallory in the path: 5 connections taken, 5 fortunes tampered"},
			[]string{"plaintext :8181", "✓"}},
		{"clean", cleanView(),
			[]string{"✓ fcc00: fcs00 → fcs00's MAC " + fcsMAC, "✓ fcs00: fcc00 → fcc00's MAC " + fccMAC, "plaintext :8181"},
			[]string{"☠", "⚠"}},
		{"recovered", recovered,
			[]string{"✓ fcc00: fcs00 → fcs00's MAC", "mallory died; the lab undid its attack in 143 ms", "plaintext :8181"},
			[]string{"☠", "⚠"}},
	}
	st := newStyles(ThemeDefault, true)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := (&refresher{src: attackSource{&fakeSource{lab: newFakeLab()}, tt.attack}}).read(snapshotWant{panel: scenes.PanelTopology})
			if snap.attack != tt.attack {
				t.Fatalf("the snapshot does not carry the lab's attack view")
			}
			d := topoData{hosts: snap.hosts, deployed: true, attack: snap.attack}
			lines := topology(st, d, 96, 16)
			out := ansi.Strip(strings.Join(lines, "\n"))
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(out, w) {
					t.Errorf("shows %q:\n%s", w, out)
				}
			}
			golden.RequireEqual(t, out)
		})
	}
}

// Every size fills its box exactly, with the attack shown or not, and the
// compact topology still marks the poisoned entries.
func TestTopologyWithTheAttackFitsEverySize(t *testing.T) {
	st := newStyles(ThemeDefault, true)
	hosts := (attackSource{&fakeSource{lab: newFakeLab()}, nil})
	v, _ := hosts.Lab()
	for _, a := range []*scenes.AttackView{poisonedView(), cleanView()} {
		d := topoData{hosts: v.Hosts, deployed: true, attack: a}
		for _, w := range []int{40, 60, 76, 120, 200} {
			for _, h := range []int{3, 5, 8, 11, 12, 14, 30} {
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
	d := topoData{hosts: v.Hosts, deployed: true, attack: poisonedView()}
	// A panel one line taller than the boxes shows the first entry, not
	// the legend.
	if tight := ansi.Strip(strings.Join(topology(st, d, 96, 12), "\n")); !strings.Contains(tight, "⚠ fcc00: fcs00 → mallory's MAC") {
		t.Errorf("a 12-line topology hides the poisoning:\n%s", tight)
	}
	compact := ansi.Strip(strings.Join(topology(st, d, 60, 6), "\n"))
	if !strings.Contains(compact, "⚠ fcc00: fcs00→mallory") {
		t.Errorf("the compact topology hides the poisoning:\n%s", compact)
	}
}
