package tui

import (
	"strings"

	"github.com/ztlab/zt-lab/sniffer"
)

// snifferPanel is the sniffer panel: the wire as tcpdump -X shows it.
func (m *Model) snifferPanel(w, h int) []string { return snifferPanel(m.st, m.snap, w, h) }

// readSniffer reads as many frames and flows as it has room for.
func readSniffer(w *snapshotWant, h int) { w.dumpLines, w.flows = snifferRows(h) }

// snifferRows splits the sniffer panel's h lines: the dump, and the
// verdict rows under it (after the counters line and a rule).
func snifferRows(h int) (dump, flows int) {
	flows = 1
	switch {
	case h >= 30:
		flows = 4
	case h >= 18:
		flows = 2
	}
	dump = max(h-2-flows, 1)
	return dump, flows
}

// snifferPanel is the capture as tcpdump -X prints it, the stolen fortune
// marked in the ASCII column, the capture's counters, and the verdict of
// the newest flows.
func snifferPanel(st *Styles, s *snapshot, w, h int) []string {
	dumpH, flowsH := snifferRows(h)
	lines := make([]string, 0, h)
	lines = append(lines, captureLine(st, s))
	dump := s.dump
	if len(dump) > dumpH {
		dump = dump[len(dump)-dumpH:]
	}
	for _, l := range dump {
		lines = append(lines, dumpText(st, l))
	}
	if len(dump) == 0 {
		msg := "no frames yet"
		if s.dataOnly {
			msg = "no frames with data yet (f shows every frame)"
		}
		lines = append(lines, " "+st.Dim.Render(msg))
	}
	for len(lines) < 1+dumpH {
		lines = append(lines, "")
	}
	lines = append(lines, st.Rule.Render(rule("verdicts", w)))
	if len(s.flows) == 0 {
		lines = append(lines, " "+st.Dim.Render("no flows yet"))
	}
	for i, f := range s.flows {
		if i == flowsH {
			break
		}
		lines = append(lines, verdictLine(st, f, s.names, w))
	}
	return block(lines, w, h)
}

// captureLine is the capture's counters: what a presenter points at when
// asked whether the sniffer missed anything.
func captureLine(st *Styles, s *snapshot) string {
	if !s.capturing {
		return " " + st.Dim.Render("no capture running")
	}
	which := "frames with data"
	if !s.dataOnly {
		which = "every frame"
	}
	drops := func(n uint64) string {
		if n > 0 {
			return st.Fail.Render(count(n))
		}
		return st.Text.Render("0")
	}
	return " " + st.Dim.Render("seen ") + st.Bold.Render(count(s.stats.Seen)) +
		st.Dim.Render(" · kernel drops ") + drops(s.stats.KernelDrops) +
		st.Dim.Render(" · buffer drops ") + drops(s.stats.BufferDrops) +
		st.Dim.Render(" · showing "+which+" (f)")
}

// dumpText styles one line of the dump: headers in colour, known fortune
// text in the ASCII column marked.
func dumpText(st *Styles, l dumpLine) string {
	if l.header {
		return st.PacketHeader.Render(l.text)
	}
	if len(l.stolen) == 0 || len(l.text) <= asciiCol {
		return l.text
	}
	hex, ascii := l.text[:asciiCol], l.text[asciiCol:]
	var b strings.Builder
	b.WriteString(hex)
	at := 0
	for _, sp := range l.stolen {
		s, e := min(int(sp[0]), len(ascii)), min(int(sp[1]), len(ascii))
		if s < at || s >= e {
			continue
		}
		b.WriteString(ascii[at:s])
		b.WriteString(st.Stolen.Render(ascii[s:e]))
		at = e
	}
	b.WriteString(ascii[at:])
	return b.String()
}

// verdictLine is one flow in one line: verdict, direction, why.
func verdictLine(st *Styles, f sniffer.FlowSummary, names sniffer.Names, w int) string {
	v := f.Verdict
	line := " " + verdictWord(st, v.Kind) + " " + st.Bold.Render(f.Direction(names, 0))
	if v.Protocol != "" {
		line += st.Dim.Render(" " + v.Protocol)
	}
	if len(v.Evidence) > 0 {
		line += st.Dim.Render(" · ") + st.Text.Render(firstLine(v.Evidence[0]))
	}
	return fit(line, w)
}

// verdictWord is the verdict, padded so that the rows line up.
func verdictWord(st *Styles, k sniffer.Kind) string {
	word := k.String()
	pad := strings.Repeat(" ", max(9-len(word), 0))
	switch k {
	case sniffer.Plaintext:
		return st.Plaintext.Render(word) + pad
	case sniffer.Encrypted:
		return st.Encrypted.Render(word) + pad
	}
	return st.Unknown.Render(word) + pad
}
