package tui

import (
	"strings"

	"charm.land/glamour/v2"
	"charm.land/glamour/v2/ansi"
)

// markdownCache keeps the narration and notes rendered per scene and
// width: glamour takes milliseconds, a frame must not.
type markdownCache struct {
	style   ansi.StyleConfig
	entries map[markdownKey][]string
}

type markdownKey struct {
	scene int
	notes bool
	width int
}

// markdownKept bounds the cache; a resize renders again what is shown.
const markdownKept = 64

func newMarkdownCache(style ansi.StyleConfig) *markdownCache {
	return &markdownCache{style: style, entries: map[markdownKey][]string{}}
}

// get returns the rendered lines, or nil when they are not rendered yet.
func (c *markdownCache) get(scene int, notes bool, width int) []string {
	return c.entries[markdownKey{scene, notes, width}]
}

// render renders src at width unless it is cached.
func (c *markdownCache) render(scene int, notes bool, width int, src string) {
	k := markdownKey{scene, notes, width}
	if _, ok := c.entries[k]; ok {
		return
	}
	if len(c.entries) >= markdownKept {
		clear(c.entries)
	}
	c.entries[k] = c.markdown(src, width)
}

func (c *markdownCache) markdown(src string, width int) []string {
	src = withoutTitle(src)
	if strings.TrimSpace(src) == "" {
		return []string{}
	}
	r, err := glamour.NewTermRenderer(glamour.WithStyles(c.style), glamour.WithWordWrap(width))
	if err != nil {
		return wrap(src, width)
	}
	out, err := r.Render(src)
	if err != nil {
		return wrap(src, width)
	}
	lines := splitLines(out)
	for len(lines) > 0 && strings.TrimSpace(ansiStrip(lines[0])) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(ansiStrip(lines[len(lines)-1])) == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// ensureMarkdown renders what the screen is about to show, on the
// screen's goroutine but only when the scene, the pane or the width
// changed.
func (m *Model) ensureMarkdown() {
	if len(m.engine.Scenes) == 0 {
		return
	}
	g := m.geometry()
	w := max(g.narrW-2, 1)
	sc := m.engine.Scenes[m.cur]
	if m.showNotes {
		m.md.render(m.cur, true, w, sc.Notes)
	} else {
		m.md.render(m.cur, false, w, sc.Narrative)
	}
}

// withoutTitle drops a leading level-one heading: the pane shows the
// scene's number and title above the text already.
func withoutTitle(src string) string {
	t := strings.TrimLeft(src, " \t\n")
	if !strings.HasPrefix(t, "# ") {
		return src
	}
	_, rest, _ := strings.Cut(t, "\n")
	return rest
}
