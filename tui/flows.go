package tui

import (
	"strings"

	"github.com/ztlab/zt-lab/scenes"
	"github.com/ztlab/zt-lab/sniffer"
)

// panelFlows is the flow table: every flow the sniffer follows, with its
// verdict and evidence. No scene asks for it; tab shows it.
const panelFlows scenes.Panel = "flows"

// flowsPanel is the flows panel: every flow the sniffer follows.
func (m *Model) flowsPanel(w, _ int) []string { return flowTable(m.st, m.snap, w) }

// readFlows reads the newest flows for it.
func readFlows(w *snapshotWant, _ int) { w.flows = 64 }

// flowTable lists every flow with its verdict and all its evidence.
func flowTable(st *Styles, s *snapshot, w int) []string {
	if len(s.flows) == 0 {
		return []string{" " + st.Dim.Render("no flows yet: the sniffer starts with the man in the middle")}
	}
	var lines []string
	for _, f := range s.flows {
		head := " " + verdictWord(st, f.Verdict.Kind) + " " + st.Bold.Render(f.Direction(s.names, 0)) +
			st.Dim.Render("  "+count(f.Packets[0]+f.Packets[1])+" packets · "+count(f.Payload[0]+f.Payload[1])+" bytes of payload")
		if f.Verdict.Protocol != "" {
			head += st.Dim.Render(" · " + f.Verdict.Protocol)
		}
		lines = append(lines, head)
		for _, e := range f.Verdict.Evidence {
			for i, l := range wrap(e, max(w-6, 10)) {
				pre := "   · "
				if i > 0 {
					pre = "     "
				}
				if f.Verdict.Kind == sniffer.Plaintext && f.Verdict.Fortune != "" && strings.Contains(f.Verdict.Fortune, l) && l != "" {
					lines = append(lines, pre+st.Stolen.Render(l))
					continue
				}
				lines = append(lines, pre+st.Text.Render(l))
			}
		}
	}
	return lines
}
