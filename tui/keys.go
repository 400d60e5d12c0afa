package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/ztlab/zt-lab/scenes"
)

// panelFlows is the flow table: every flow the sniffer follows, with its
// verdict and evidence. No scene asks for it; tab shows it.
const panelFlows scenes.Panel = "flows"

// panelOrder is the order tab cycles the live panels in.
var panelOrder = []scenes.Panel{
	scenes.PanelTopology, scenes.PanelSniffer, panelFlows, scenes.PanelConsumer,
	scenes.PanelCluster, scenes.PanelCerts, scenes.PanelTimeline, scenes.PanelReport,
}

func (m *Model) handleKey(k tea.KeyPressMsg) tea.Cmd {
	if m.picker != nil {
		return m.pickerKey(k)
	}
	if m.showHelp && !key.Matches(k, m.keys.Quit) {
		m.showHelp = false
		return nil
	}
	ks := m.keys
	switch {
	case key.Matches(k, ks.Quit):
		return m.quit()
	case key.Matches(k, ks.Help):
		m.showHelp = true
	case key.Matches(k, ks.Next):
		m.goTo(m.cur + 1)
	case key.Matches(k, ks.Prev):
		m.goTo(m.cur - 1)
	case key.Matches(k, ks.Step):
		return m.stepKey()
	case key.Matches(k, ks.Scene):
		if m.refuseBusy() {
			return nil
		}
		return m.runScene(m.cur)
	case key.Matches(k, ks.Reset):
		if m.refuseBusy() {
			return nil
		}
		return m.prepare(m.cur)
	case key.Matches(k, ks.Notes):
		m.showNotes = !m.showNotes
		m.scroll = 0
	case key.Matches(k, ks.Shell):
		return m.openPicker()
	case key.Matches(k, ks.Pcap):
		path := pcapName(m.opts.PcapDir, m.now())
		m.setStatus("writing "+path+" …", false)
		return writePcapCmd(m.src, path)
	case key.Matches(k, ks.Panel):
		m.cyclePanel()
	case key.Matches(k, ks.Back):
		m.panel, m.panelScroll = "", 0
	case key.Matches(k, ks.Frames):
		m.dataOnly = !m.dataOnly
	case key.Matches(k, ks.Up):
		m.scroll = max(m.scroll-1, 0)
	case key.Matches(k, ks.Down):
		m.scroll++
	case key.Matches(k, ks.PageUp):
		m.scrollPanel(-1)
	case key.Matches(k, ks.PageDn):
		m.scrollPanel(1)
	case key.Matches(k, ks.Cancel):
		m.dismissed = true
		m.status = ""
	}
	return nil
}

// refuseBusy says so when the engine is busy: one engine call at a time.
func (m *Model) refuseBusy() bool {
	if m.busy {
		m.setStatus("busy: wait for the running step to finish", true)
	}
	return m.busy
}

// stepKey runs the scene's next step, or moves on when the scene is
// through: a presenter can walk the whole story with enter.
func (m *Model) stepKey() tea.Cmd {
	if m.refuseBusy() || len(m.scenes) == 0 {
		return nil
	}
	j := m.scenes[m.cur].next()
	if j < 0 {
		if m.cur+1 < len(m.scenes) {
			m.goTo(m.cur + 1)
		} else {
			m.setStatus("that was the last scene", false)
		}
		return nil
	}
	if len(m.scenes[m.cur].steps) == 0 {
		return nil
	}
	return m.runStep(m.cur, j)
}

func (m *Model) cyclePanel() {
	cur := m.currentPanel()
	next := panelOrder[0]
	for i, p := range panelOrder {
		if p == cur {
			next = panelOrder[(i+1)%len(panelOrder)]
		}
	}
	m.panel, m.panelScroll = next, 0
}

// hostPicker chooses the host `s` opens a shell on.
type hostPicker struct {
	hosts []string
	sel   int
}

func (m *Model) openPicker() tea.Cmd {
	if m.opts.ShellFunc == nil {
		m.setStatus("no shell here: the lab was started without one", true)
		return nil
	}
	if !m.snap.lab || len(m.snap.hosts) == 0 {
		m.setStatus("no lab yet: run the first scene", true)
		return nil
	}
	p := &hostPicker{}
	for _, h := range m.snap.hosts {
		p.hosts = append(p.hosts, h.name)
	}
	m.picker = p
	return nil
}

func (m *Model) pickerKey(k tea.KeyPressMsg) tea.Cmd {
	p := m.picker
	switch {
	case key.Matches(k, m.keys.Cancel):
		m.picker = nil
	case key.Matches(k, m.keys.Up):
		p.sel = (p.sel + len(p.hosts) - 1) % len(p.hosts)
	case key.Matches(k, m.keys.Down):
		p.sel = (p.sel + 1) % len(p.hosts)
	case key.Matches(k, m.keys.Pick):
		return m.openShell(p.hosts[p.sel])
	default:
		if s := k.String(); len(s) == 1 && s[0] >= '1' && s[0] <= '9' {
			if i := int(s[0] - '1'); i < len(p.hosts) {
				return m.openShell(p.hosts[i])
			}
		}
	}
	return nil
}

func (m *Model) openShell(host string) tea.Cmd {
	m.picker = nil
	c := m.opts.ShellFunc(host)
	if c == nil {
		m.setStatus("no shell on "+host, true)
		return nil
	}
	m.setStatus("shell on "+host+" (exit to come back)", false)
	return shellCmd(c, host)
}
