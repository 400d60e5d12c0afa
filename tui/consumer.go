package tui

// consumerPanel is the consumer panel: what fcc00 received, newest last.
func (m *Model) consumerPanel(w, limit int) []string { return consumerLog(m.st, m.snap, limit) }

// readConsumer reads the consumer's log for it.
func readConsumer(w *snapshotWant, _ int) { w.consumer = consumerKept }

// consumerLog is what the consumer on fcc00 received, newest last; only
// the last limit lines are rendered.
func consumerLog(st *Styles, s *snapshot, limit int) []string {
	lines := []string{" " + st.Dim.Render("fortunes served so far: ") + st.Bold.Render(itoa(s.served)), ""}
	if len(s.consumer) == 0 {
		return append(lines, " "+st.Dim.Render("the consumer has received nothing yet"))
	}
	if len(s.consumer) > limit {
		lines = lines[:0]
	}
	for _, l := range tail(s.consumer, limit) {
		lines = append(lines, " "+st.Text.Render(l))
	}
	return lines
}
