package tui

import (
	"fmt"
	"strings"

	"github.com/ztlab/zt-lab/scenes"
)

// attacked says the fortune's path now runs through the attacker: it is
// in the path, or a victim's cache still sends to it.
func attacked(a *scenes.AttackView) bool { return a != nil && (a.InPath || a.Poisoned()) }

// pathLink is the fortune's path from fcs to fcc: through mallory while
// it is in the middle, the plain or locked link otherwise.
func pathLink(st *Styles, d topoData, w int) string {
	a := d.attack
	if !attacked(a) {
		return link(st, d.meshed, w)
	}
	if w < 6 {
		return strings.Repeat(" ", max(w, 0))
	}
	text := " ☠ via " + a.Attacker + " "
	inner := w - 2
	if cols(text) > inner-2 {
		text = " ☠ " + a.Attacker + " "
	}
	if cols(text) > inner-2 {
		text = ""
	}
	n := inner - cols(text)
	l := n / 2
	return " " + st.Plaintext.Render(strings.Repeat("┅", l)+text+strings.Repeat("┅", n-l-1)+"▶") + " "
}

// arpLines are the victims' ARP entries for each other, as their kernels
// last reported them: a warning for each that names the attacker's MAC, a
// tick for each that names the right host's; and what became of an
// attacker that died.
func arpLines(st *Styles, a *scenes.AttackView) []string {
	if a == nil || len(a.Entries) == 0 {
		return nil
	}
	var out []string
	for _, n := range a.Entries {
		out = append(out, " "+arpEntry(st, n))
	}
	switch {
	case a.InPath:
		out = append(out, " "+st.Plaintext.Render(fmt.Sprintf("%s in the path: %d connections taken, %d fortunes tampered", a.Attacker, a.Relayed, a.Tampered)))
	case a.Recovered():
		out = append(out, " "+st.HostUp.Render(fmt.Sprintf("%s died; the lab undid its attack in %d ms", a.Attacker, a.Restored.Sub(a.Died).Milliseconds())))
	case !a.Died.IsZero():
		out = append(out, " "+st.HostFailed.Render(a.Attacker+" died; the lab is undoing its attack"))
	}
	return out
}

// arpEntry is one entry: "⚠ fcc00: fcs00 → mallory's MAC 02:…" or
// "✓ fcc00: fcs00 → fcs00's MAC 02:…".
func arpEntry(st *Styles, n scenes.NeighbourEntry) string {
	switch {
	case n.MAC == "":
		return st.Dim.Render(fmt.Sprintf("· %s: no ARP entry for %s", n.Host, n.Of))
	case n.Poisoned:
		return st.Plaintext.Render(fmt.Sprintf("⚠ %s: %s → %s's MAC %s  (ARP poisoned)", n.Host, n.Of, n.Owner, n.MAC))
	case n.Owner == n.Of:
		return st.HostUp.Render(fmt.Sprintf("✓ %s: %s → %s's MAC %s", n.Host, n.Of, n.Owner, n.MAC))
	}
	return st.HostFailed.Render(fmt.Sprintf("? %s: %s → %s, no host's MAC", n.Host, n.Of, n.MAC))
}

// arpSummary is the entries in one line, for the compact topology.
func arpSummary(st *Styles, a *scenes.AttackView) string {
	var parts []string
	for _, n := range a.Entries {
		owner := n.Owner
		if owner == "" {
			owner = "?"
		}
		p := fmt.Sprintf("%s: %s→%s", n.Host, n.Of, owner)
		if n.Poisoned {
			p = st.Plaintext.Render("⚠ " + p)
		} else {
			p = st.HostUp.Render("✓ " + p)
		}
		parts = append(parts, p)
	}
	return " ARP " + strings.Join(parts, "  ")
}
