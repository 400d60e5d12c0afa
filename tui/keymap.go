package tui

import "charm.land/bubbles/v2/key"

// keyMap is every key the screen answers to, with its help text.
type keyMap struct {
	Next, Prev     key.Binding
	Step, Scene    key.Binding
	Reset          key.Binding
	Notes          key.Binding
	Shell          key.Binding
	Fail           key.Binding
	Pcap           key.Binding
	Panel, Back    key.Binding // cycle the live panel; back to the scene's own
	Frames         key.Binding // sniffer: frames with data only, or all
	Up, Down       key.Binding // scroll the narration; move in the host picker
	PageUp, PageDn key.Binding // scroll the live panel
	Help           key.Binding
	Quit           key.Binding
	Fallback       key.Binding // the recording instead of the live lab; enabled with Options.Fallback

	// In the host picker.
	Pick, Cancel key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Next:   key.NewBinding(key.WithKeys("right", "n"), key.WithHelp("→/n", "next")),
		Prev:   key.NewBinding(key.WithKeys("left", "p"), key.WithHelp("←/p", "prev")),
		Step:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "step")),
		Scene:  key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "run scene")),
		Reset:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reset")),
		Notes:  key.NewBinding(key.WithKeys("N", "shift+n"), key.WithHelp("N", "notes")),
		Shell:  key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "shell")),
		Fail:   key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "fail host")),
		Pcap:   key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "pcap")),
		Panel:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "other panel")),
		Back:   key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "scene's panel")),
		Frames: key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "frames")),
		Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll up")),
		Down:   key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll down")),
		PageUp: key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup/b", "panel up")),
		PageDn: key.NewBinding(key.WithKeys("pgdown", "space"), key.WithHelp("pgdn/space", "panel down")),
		Help:   key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:   key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		// fallbackModel answers F; the live screen only shows it in its help.
		Fallback: key.NewBinding(key.WithKeys("F"), key.WithHelp("F", "recording"), key.WithDisabled()),
		Pick:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "choose")),
		Cancel:   key.NewBinding(key.WithKeys("esc", "q"), key.WithHelp("esc", "close")),
	}
}

// ShortHelp is the key help bar, in the order it shows them.
func (k keyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Next, k.Prev, k.Step, k.Scene, k.Reset, k.Notes, k.Shell, k.Pcap, k.Fallback, k.Help, k.Quit}
}

// shortHelpFor is the key help bar that fits in w columns: the keys a
// presenter needs most stay, the rest are one ? away.
func (k keyMap) shortHelpFor(w int, width func([]key.Binding) int) []key.Binding {
	all := k.ShortHelp()
	drop := []key.Binding{k.Pcap, k.Shell, k.Reset, k.Notes, k.Scene, k.Prev}
	for _, d := range drop {
		if width(all) <= w {
			break
		}
		for i, b := range all {
			if b.Help() == d.Help() {
				all = append(all[:i:i], all[i+1:]...)
				break
			}
		}
	}
	return all
}

// FullHelp is the help screen, in columns, each key with what it does in
// words.
func (k keyMap) FullHelp() [][]key.Binding {
	long := func(b key.Binding, desc string) key.Binding {
		b.SetHelp(b.Help().Key, desc)
		return b
	}
	return [][]key.Binding{
		{
			long(k.Next, "next scene"), long(k.Prev, "previous scene"), long(k.Step, "run the next step"),
			long(k.Scene, "run the whole scene"), long(k.Reset, "reset the scene"), long(k.Notes, "speaker notes"),
		},
		{
			long(k.Shell, "shell on a host"), long(k.Fail, "fail or recover a host"), long(k.Pcap, "write the capture to a pcap"), long(k.Panel, "show another panel"),
			long(k.Back, "back to the scene's panel"), long(k.Frames, "sniffer: data frames or all"),
		},
		{
			long(k.Up, "scroll the narration up"), long(k.Down, "scroll the narration down"), long(k.PageUp, "scroll the panel up"),
			long(k.PageDn, "scroll the panel down"), long(k.Fallback, "the recording of this scene"), long(k.Help, "this help"), long(k.Quit, "quit"),
		},
	}
}

// fullHelpColumns regroups FullHelp into n columns.
func (k keyMap) fullHelpColumns(n int) [][]key.Binding {
	var all []key.Binding
	for _, g := range k.FullHelp() {
		for _, b := range g {
			if b.Enabled() {
				all = append(all, b)
			}
		}
	}
	per := (len(all) + n - 1) / n
	var out [][]key.Binding
	for i := 0; i < len(all); i += per {
		out = append(out, all[i:min(i+per, len(all))])
	}
	return out
}

// pickerHelp is the key help bar while a host is being picked.
func (k keyMap) pickerHelp() []key.Binding {
	up := key.NewBinding(key.WithKeys("up"), key.WithHelp("↑/↓", "choose"))
	return []key.Binding{up, k.Pick, k.Cancel}
}
