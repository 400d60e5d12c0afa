package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/ztlab/zt-lab/infra"
)

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
	case key.Matches(k, ks.Fail):
		return m.openFailPicker()
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

// picker is a short list to choose from: a host to open a shell on, a
// host to fail or recover, a way for it to fail.
type picker struct {
	title, note string
	items       []string
	sel         int
	choose      func(item string) tea.Cmd
}

// hostNames lists the lab's hosts, or says why there are none.
func (m *Model) hostNames() ([]string, bool) {
	if !m.snap.lab || len(m.snap.hosts) == 0 {
		m.setStatus("no lab yet: run the first scene", true)
		return nil, false
	}
	var names []string
	for _, h := range m.snap.hosts {
		names = append(names, h.Name)
	}
	return names, true
}

func (m *Model) openPicker() tea.Cmd {
	if m.opts.ShellFunc == nil {
		m.setStatus("no shell here: the lab was started without one", true)
		return nil
	}
	hosts, ok := m.hostNames()
	if !ok {
		return nil
	}
	m.picker = &picker{title: "Open a shell on which host?", note: "The screen comes back when the shell exits.", items: hosts, choose: m.openShell}
	return nil
}

// openFailPicker picks a host, then fails it one of three ways — or, for
// a host that has failed, recovers it.
func (m *Model) openFailPicker() tea.Cmd {
	hosts, ok := m.hostNames()
	if !ok {
		return nil
	}
	items := make([]string, len(hosts))
	for i, h := range m.snap.hosts {
		items[i] = hosts[i]
		if h.State != infra.StateUp {
			items[i] += " (" + string(h.State) + ": recover)"
		}
	}
	m.picker = &picker{title: "Fail or recover which host?", note: "The mesh notices; watch the topology and the checks.", items: items,
		choose: func(item string) tea.Cmd {
			host, _, failed := strings.Cut(item, " ")
			if failed {
				m.picker = nil
				m.setStatus("recovering "+host+" …", false)
				return failCmd(m.src, host, "")
			}
			var modes []string
			note := "crash kills its processes, partition cuts its link, freeze stops them"
			for _, h := range m.snap.hosts {
				if h.Name != host {
					continue
				}
				for _, f := range h.Modes {
					modes = append(modes, string(f))
					if f == infra.PowerOff {
						note += ", poweroff cuts its power"
					}
				}
			}
			m.picker = &picker{title: "How does " + host + " fail?", note: note + ".", items: modes,
				choose: func(mode string) tea.Cmd {
					m.picker = nil
					m.setStatus(host+": "+mode+" …", false)
					return failCmd(m.src, host, infra.FailMode(mode))
				}}
			return nil
		}}
	return nil
}

func (m *Model) pickerKey(k tea.KeyPressMsg) tea.Cmd {
	p := m.picker
	switch {
	case key.Matches(k, m.keys.Cancel):
		m.picker = nil
	case key.Matches(k, m.keys.Up):
		p.sel = (p.sel + len(p.items) - 1) % len(p.items)
	case key.Matches(k, m.keys.Down):
		p.sel = (p.sel + 1) % len(p.items)
	case key.Matches(k, m.keys.Pick):
		return p.choose(p.items[p.sel])
	default:
		if s := k.String(); len(s) == 1 && s[0] >= '1' && s[0] <= '9' {
			if i := int(s[0] - '1'); i < len(p.items) {
				return p.choose(p.items[i])
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
