package tui

import (
	"strings"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/scenes"
)

// topoData is what the topology shows.
type topoData struct {
	hosts     []scenes.HostView
	deployed  bool
	meshed    bool // the fortune goes through the sidecars: locks
	leader    string
	capturing bool
	attack    *scenes.AttackView
}

// topologyPanel is the topology panel: the lab's hosts on their wire.
func (m *Model) topologyPanel(w, h int) []string { return topology(m.st, m.topologyData(), w, h) }

func (m *Model) topologyData() topoData {
	d := topoData{
		hosts:     m.snap.hosts,
		deployed:  m.snap.lab,
		meshed:    m.snap.meshed || m.mesh.Secured,
		leader:    m.mesh.Leader,
		capturing: m.snap.capturing,
		attack:    m.snap.attack,
	}
	if !d.deployed {
		d.hosts = defaultHosts()
	}
	return d
}

// defaultHosts are the seeds' five hosts, shown before the lab exists.
func defaultHosts() []scenes.HostView {
	t := infra.DefaultTopology()
	var hs []scenes.HostView
	for _, h := range t.Hosts {
		a, _ := t.Addr(h)
		hs = append(hs, scenes.HostView{Name: h.Name, Role: h.Role, Addr: a, State: infra.StateDown})
	}
	return hs
}

// Box geometry: 5 lines (borders and three lines inside).
const (
	boxLines  = 5
	boxGap    = 2
	minBoxW   = 13
	maxBoxW   = 22
	labelW    = 24 // room for the link between fcs and fcc
	fullTopoH = 2*boxLines + 1
)

// topology draws the lab as the seeds do: the Consul servers above the
// wire, the service and its consumer below, the fortune's path between
// them, plaintext or locked.
func topology(st *Styles, d topoData, w, h int) []string {
	var servers, services, rest []scenes.HostView
	for _, hv := range d.hosts {
		switch hv.Role {
		case infra.RoleConsul:
			servers = append(servers, hv)
		case infra.RoleService:
			services = append(services, hv)
		default:
			rest = append(rest, hv)
		}
	}
	// Consumers sit at the right end, as in the seeds.
	bottom := len(services) + len(rest)
	topW := boxWidth(w, len(servers), 0)
	botW := boxWidth(w, bottom, labelW)
	withLabel := true
	if botW < minBoxW {
		botW, withLabel = boxWidth(w, bottom, 0), false
	}
	if h < fullTopoH || topW < minBoxW || botW < minBoxW {
		return compactTopology(st, d, servers, services, rest, w, h)
	}
	var lines []string
	// Servers.
	var top [][]string
	var centers []int
	x := 1
	for _, s := range servers {
		top = append(top, hostBox(st, d, s, topW, false, true))
		centers = append(centers, x+topW/2)
		x += topW + boxGap
	}
	lines = append(lines, indent(beside(strings.Repeat(" ", boxGap), top...), 1)...)
	if len(top) == 0 {
		lines = append(lines, block(nil, w, boxLines)...)
	}
	// The wire.
	var below []int
	x = 1
	for range services {
		below = append(below, x+botW/2)
		x += botW + boxGap
	}
	rightStart := w - len(rest)*(botW+boxGap) + boxGap - 1
	x = rightStart
	for range rest {
		below = append(below, x+botW/2)
		x += botW + boxGap
	}
	lines = append(lines, wireLine(st, d, w, centers, below))
	// Services, the link, the consumers.
	var left, right [][]string
	for _, s := range services {
		left = append(left, hostBox(st, d, s, botW, true, false))
	}
	for _, s := range rest {
		right = append(right, hostBox(st, d, s, botW, true, false))
	}
	leftW := max(len(services)*(botW+boxGap)-boxGap, 0)
	gapW := rightStart - 1 - leftW
	gap := block(nil, gapW, boxLines)
	if withLabel && len(services) > 0 && len(rest) > 0 {
		gap[2] = pathLink(st, d, gapW)
	}
	row := beside("", indent(block(beside(strings.Repeat(" ", boxGap), left...), leftW, boxLines), 1),
		gap, beside(strings.Repeat(" ", boxGap), right...))
	lines = append(lines, row...)
	// The attack's evidence before the legend: as many lines as fit.
	arp := arpLines(st, d.attack)
	lines = append(lines, arp[:min(len(arp), max(h-len(lines), 0))]...)
	if len(lines) < h {
		lines = append(lines, "", legend(st))
	}
	return block(lines, w, h)
}

// boxWidth fits n boxes (and room for a label) into w columns.
func boxWidth(w, n, label int) int {
	if n == 0 {
		return maxBoxW
	}
	return min(maxBoxW, (w-2-label-(n-1)*boxGap)/n)
}

func indent(lines []string, n int) []string {
	pad := strings.Repeat(" ", n)
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = pad + l
	}
	return out
}

// hostBox draws a host: its name (a lock once meshed, a star for the
// raft leader), its state and address, what it runs.
func hostBox(st *Styles, d topoData, hv scenes.HostView, bw int, up, down bool) []string {
	cw := bw - 2
	name := st.Bold.Render(hv.Name)
	if d.meshed && (hv.Role == infra.RoleService || hv.Role == infra.RoleConsumer) && d.deployed {
		name += " " + st.Lock.Render("🔒")
	}
	if d.leader != "" && hv.Name == d.leader {
		name += " " + st.Leader.Render("★ leader")
	}
	state := hostState(st, hv, d.deployed)
	if addr := hv.Addr.String(); hv.Addr.IsValid() && cols(state)+1+len(addr) <= cw-2 {
		state += strings.Repeat(" ", cw-2-cols(state)-len(addr)) + st.Dim.Render(addr)
	}
	detail := st.Dim.Render(roleDetail(hv.Role, d.meshed))
	topEdge, botEdge := "┌"+strings.Repeat("─", cw)+"┐", "└"+strings.Repeat("─", cw)+"┘"
	if up {
		topEdge = "┌" + strings.Repeat("─", cw/2) + "┴" + strings.Repeat("─", cw-cw/2-1) + "┐"
	}
	if down {
		botEdge = "└" + strings.Repeat("─", cw/2) + "┬" + strings.Repeat("─", cw-cw/2-1) + "┘"
	}
	side := st.Box.Render("│")
	return []string{
		st.Box.Render(topEdge),
		side + " " + fit(name, cw-2) + " " + side,
		side + " " + fit(state, cw-2) + " " + side,
		side + " " + fit(detail, cw-2) + " " + side,
		st.Box.Render(botEdge),
	}
}

func roleDetail(r infra.Role, meshed bool) string {
	switch r {
	case infra.RoleConsul:
		return "consul server"
	case infra.RoleService:
		if meshed {
			return "fortune 127.0.0.1:8181"
		}
		return "fortune :8181"
	case infra.RoleConsumer:
		if meshed {
			return "consumer via :9191"
		}
		return "consumer"
	}
	return string(r)
}

// hostState is a host's state mark and word.
func hostState(st *Styles, hv scenes.HostView, deployed bool) string {
	if !deployed {
		return st.HostDown.Render("○ not deployed")
	}
	switch hv.State {
	case infra.StateUp:
		return st.HostUp.Render("● up")
	case infra.StateCrashed:
		return st.HostFailed.Render("✗ failed")
	case infra.StatePartitioned:
		return st.HostPartitioned.Render("⊘ partitioned")
	case infra.StateFrozen:
		return st.HostFrozen.Render("‖ frozen")
	case infra.StateDown:
		return st.HostDown.Render("○ down")
	}
	return st.HostDown.Render("? " + string(hv.State))
}

// wireLine is the lab's wire, with a tap for every host above and below.
func wireLine(st *Styles, d topoData, w int, above, below []int) string {
	line := []rune(strings.Repeat("═", w))
	for _, c := range above {
		if c >= 0 && c < w {
			line[c] = '╧'
		}
	}
	for _, c := range below {
		if c >= 0 && c < w {
			if line[c] == '╧' {
				line[c] = '╪'
			} else {
				line[c] = '╤'
			}
		}
	}
	label := " wire "
	if d.capturing {
		label = " wire · tapped "
	}
	// The label goes in the widest stretch without a tap.
	start, best, run := -1, 0, 0
	for i, r := range line {
		if r == '═' {
			run++
			if run > best {
				best, start = run, i-run+1
			}
		} else {
			run = 0
		}
	}
	s := string(line)
	if n := len([]rune(label)); best >= n+4 {
		at := start + (best-n)/2
		r := []rune(s)
		return st.Wire.Render(string(r[:at])) + st.Dim.Render(label) + st.Wire.Render(string(r[at+n:]))
	}
	return st.Wire.Render(s)
}

// link is the fortune's path from fcs to fcc.
func link(st *Styles, meshed bool, w int) string {
	if w < 6 {
		return strings.Repeat(" ", max(w, 0))
	}
	text, style, bar := " plaintext :8181 ", st.Plaintext, "━"
	if meshed {
		text, style, bar = " 🔒 mTLS :9191 ", st.Lock, "═"
	}
	inner := w - 2
	if cols(text) > inner-2 {
		text = ""
	}
	n := inner - cols(text)
	l := n / 2
	return " " + style.Render(strings.Repeat(bar, l)+text+strings.Repeat(bar, n-l-1)+"▶") + " "
}

func legend(st *Styles) string {
	return " " + st.HostUp.Render("●") + " up  " + st.HostDown.Render("○") + " down  " +
		st.HostFailed.Render("✗") + " failed  " + st.HostPartitioned.Render("⊘") + " partitioned  " +
		st.HostFrozen.Render("‖") + " frozen  " + st.Leader.Render("★") + " leader  " + st.Lock.Render("🔒") + " mTLS"
}

// compactTopology is the topology in a few lines, for small screens.
func compactTopology(st *Styles, d topoData, servers, services, rest []scenes.HostView, w, h int) []string {
	short := func(hv scenes.HostView) string {
		s := st.Bold.Render(hv.Name) + " " + hostMark(st, hv, d.deployed)
		if d.leader == hv.Name && d.leader != "" {
			s += st.Leader.Render("★")
		}
		if d.meshed && d.deployed && (hv.Role == infra.RoleService || hv.Role == infra.RoleConsumer) {
			s += st.Lock.Render("🔒")
		}
		return s
	}
	join := func(hs []scenes.HostView) string {
		var parts []string
		for _, hv := range hs {
			parts = append(parts, short(hv))
		}
		return strings.Join(parts, "  ")
	}
	lines := []string{" " + join(servers), wireLine(st, d, w, nil, nil)}
	l, r := join(services), join(rest)
	mid := max(w-2-cols(l)-cols(r), 0)
	lines = append(lines, " "+l+pathLink(st, d, mid)+r)
	if a := d.attack; a != nil && h > 4 && len(a.Entries) > 0 {
		lines = append(lines, arpSummary(st, a))
	}
	if h > len(lines) {
		lines = append(lines, legend(st))
	}
	return block(lines, w, h)
}

// hostMark is a host's state as one mark.
func hostMark(st *Styles, hv scenes.HostView, deployed bool) string {
	if !deployed {
		return st.HostDown.Render("○")
	}
	switch hv.State {
	case infra.StateUp:
		return st.HostUp.Render("●")
	case infra.StateCrashed:
		return st.HostFailed.Render("✗")
	case infra.StatePartitioned:
		return st.HostPartitioned.Render("⊘")
	case infra.StateFrozen:
		return st.HostFrozen.Render("‖")
	}
	return st.HostDown.Render("○")
}
