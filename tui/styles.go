package tui

import (
	"encoding/json"
	"image/color"

	"charm.land/bubbles/v2/help"
	"charm.land/glamour/v2/ansi"
	glamourstyles "charm.land/glamour/v2/styles"
	"charm.land/lipgloss/v2"
)

// Theme picks the screen's colours.
type Theme string

// Themes.
const (
	ThemeDefault      Theme = "default"
	ThemeHighContrast Theme = "high-contrast"
)

// Themes lists every theme, in the order a flag's help shows them.
var Themes = []Theme{ThemeDefault, ThemeHighContrast}

// palette is a theme's colours; nil means "the terminal's own".
type palette struct {
	accent, text, dim, good, bad, warn, info, highlightFg, highlightBg color.Color
}

var palettes = map[Theme]palette{
	ThemeDefault: {
		accent:      lipgloss.Color("#7D56F4"),
		text:        lipgloss.Color("#DDDDDD"),
		dim:         lipgloss.Color("#8A8A8A"),
		good:        lipgloss.Color("#3FD68A"),
		bad:         lipgloss.Color("#FF5F5F"),
		warn:        lipgloss.Color("#F5C542"),
		info:        lipgloss.Color("#5FAFFF"),
		highlightFg: lipgloss.Color("#FFFFFF"),
		highlightBg: lipgloss.Color("#D70000"),
	},
	// High contrast: the brightest colours, nothing faint, for projectors
	// and for eyes that need it.
	ThemeHighContrast: {
		accent:      lipgloss.Color("#FFFF00"),
		text:        lipgloss.Color("#FFFFFF"),
		dim:         lipgloss.Color("#FFFFFF"),
		good:        lipgloss.Color("#00FF00"),
		bad:         lipgloss.Color("#FF3030"),
		warn:        lipgloss.Color("#FFFF00"),
		info:        lipgloss.Color("#00FFFF"),
		highlightFg: lipgloss.Color("#000000"),
		highlightBg: lipgloss.Color("#FFFF00"),
	},
}

// Styles holds every style of the screen. A colour change is this file.
type Styles struct {
	Header, HeaderTitle, HeaderScene lipgloss.Style
	Rule                             lipgloss.Style // separators between panes
	Title                            lipgloss.Style // a pane's title
	Text, Dim, Bold                  lipgloss.Style
	Key                              lipgloss.Style // a key in prose ("press enter")

	// Scene list.
	Cursor, Current lipgloss.Style

	// Outcomes: a passed check, a failed one, a step running, a step not
	// run yet, a step with no check that finished.
	Pass, Fail, Running, Pending, Done lipgloss.Style

	// Sniffer.
	Stolen                        lipgloss.Style // known fortune text in the ASCII column
	Plaintext, Encrypted, Unknown lipgloss.Style // verdicts
	PacketHeader                  lipgloss.Style

	// Topology.
	HostUp, HostDown, HostFailed, HostPartitioned, HostFrozen lipgloss.Style
	Box, Wire, Lock, Leader                                   lipgloss.Style

	// Messages.
	Status, Error lipgloss.Style

	// Banner says the screen shows a recording, not the live lab.
	Banner lipgloss.Style
	// Overrun is the notes screen's countdown once a scene ran over its
	// budget: reversed, so it shows without colours too.
	Overrun lipgloss.Style

	Help     help.Styles
	Markdown ansi.StyleConfig
}

// newStyles returns the styles of a theme; noColor keeps only bold,
// reverse and underline, so that NO_COLOR screens still show what
// matters (the stolen fortune, a failed check).
func newStyles(theme Theme, noColor bool) *Styles {
	p, ok := palettes[theme]
	if !ok {
		p = palettes[ThemeDefault]
	}
	fg := func(c color.Color) lipgloss.Style {
		s := lipgloss.NewStyle()
		if noColor || c == nil {
			return s
		}
		return s.Foreground(c)
	}
	hc := theme == ThemeHighContrast
	s := &Styles{}
	s.Text = fg(p.text)
	s.Dim = fg(p.dim)
	if !hc {
		s.Dim = s.Dim.Faint(noColor)
	}
	s.Bold = fg(p.text).Bold(true)
	s.Key = fg(p.accent).Bold(true)
	s.Header = lipgloss.NewStyle()
	s.HeaderTitle = fg(p.accent).Bold(true)
	s.HeaderScene = fg(p.text).Bold(true)
	s.Rule = fg(p.dim)
	s.Title = fg(p.accent).Bold(true)

	s.Cursor = fg(p.accent).Bold(true)
	s.Current = fg(p.text).Bold(true)
	if noColor || hc {
		s.Current = s.Current.Reverse(true)
	}

	s.Pass = fg(p.good).Bold(hc)
	s.Fail = fg(p.bad).Bold(true)
	s.Running = fg(p.warn).Bold(true)
	s.Pending = fg(p.dim)
	s.Done = fg(p.good)

	if noColor {
		s.Stolen = lipgloss.NewStyle().Reverse(true).Bold(true)
	} else {
		s.Stolen = lipgloss.NewStyle().Foreground(p.highlightFg).Background(p.highlightBg).Bold(true)
	}
	s.Plaintext = fg(p.bad).Bold(true)
	s.Encrypted = fg(p.good).Bold(true)
	s.Unknown = fg(p.dim)
	s.PacketHeader = fg(p.info)

	s.HostUp = fg(p.good)
	s.HostDown = fg(p.dim)
	s.HostFailed = fg(p.bad).Bold(true)
	s.HostPartitioned = fg(p.warn).Bold(true)
	s.HostFrozen = fg(p.info).Bold(true)
	s.Box = fg(p.text)
	s.Wire = fg(p.info)
	s.Lock = fg(p.good).Bold(true)
	s.Leader = fg(p.warn).Bold(true)

	s.Status = fg(p.info)
	s.Error = fg(p.bad).Bold(true)
	if noColor {
		s.Banner = lipgloss.NewStyle().Reverse(true).Bold(true)
	} else {
		s.Banner = lipgloss.NewStyle().Foreground(p.highlightFg).Background(p.highlightBg).Bold(true)
	}
	s.Overrun = fg(p.warn).Bold(true).Reverse(true)

	s.Help = help.Styles{
		ShortKey:       fg(p.accent).Bold(true),
		ShortDesc:      fg(p.dim),
		ShortSeparator: fg(p.dim),
		Ellipsis:       fg(p.dim),
		FullKey:        fg(p.accent).Bold(true),
		FullDesc:       fg(p.text),
		FullSeparator:  fg(p.dim),
	}
	s.Markdown = markdownStyle(theme, noColor)
	return s
}

// markdownStyle is glamour's style for the narration, without its own
// margins: the panes have theirs.
func markdownStyle(theme Theme, noColor bool) ansi.StyleConfig {
	c := glamourstyles.DarkStyleConfig
	if noColor {
		c = withoutColor(c)
		// Inline code is padded to show its background; without one the
		// padding is a gap in the sentence.
		c.Code.Prefix, c.Code.Suffix = "", ""
	}
	zero := uint(0)
	c.Document.Margin = &zero
	c.Document.BlockPrefix, c.Document.BlockSuffix = "", ""
	if theme == ThemeHighContrast && !noColor {
		white, yellow := "#FFFFFF", "#FFFF00"
		c.Document.Color = &white
		c.Text.Color = &white
		c.Heading.Color = &yellow
		c.H1.Color, c.H1.BackgroundColor = &yellow, nil
		c.Code.Color = &yellow
		c.Code.BackgroundColor = nil
		c.Link.Color = &yellow
	}
	return c
}

// withoutColor is c with every colour taken out (and no syntax
// highlighting): bold, italics and underlines stay, markdown's own marks
// (**, `) do not come back as they would in glamour's notty style.
func withoutColor(c ansi.StyleConfig) ansi.StyleConfig {
	b, err := json.Marshal(c)
	if err != nil {
		return c
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return c
	}
	var strip func(any)
	strip = func(v any) {
		if m, ok := v.(map[string]any); ok {
			delete(m, "color")
			delete(m, "background_color")
			delete(m, "chroma")
			delete(m, "theme")
			for _, x := range m {
				strip(x)
			}
		}
	}
	strip(v)
	if b, err = json.Marshal(v); err != nil {
		return c
	}
	var out ansi.StyleConfig
	if json.Unmarshal(b, &out) != nil {
		return c
	}
	return out
}
