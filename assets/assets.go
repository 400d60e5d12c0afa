// Package assets holds the files zt-lab embeds in its binary: the fortunes
// the fortune service hands out, and later the scenes' narration, speaker
// notes and tapes.
package assets

import (
	"embed"
	"slices"
	"strings"
	"sync"
)

// FS holds every embedded asset, by its path relative to this folder.
// Add new files to the go:embed line below.
//
//go:embed fortunes.txt scenes
var FS embed.FS

// fortunes is parsed once: the file never changes in a running binary.
var fortunes = sync.OnceValue(func() []string {
	b, err := FS.ReadFile("fortunes.txt")
	if err != nil {
		// The file is embedded at build time; missing means a broken build.
		panic("assets: fortunes.txt not embedded: " + err.Error())
	}
	return parseFortunes(string(b))
})

// Fortunes returns the embedded fortunes in file order. Each one is the text
// exactly as it goes on the wire, like fortune(6) prints it: its lines, each
// ending in a newline. The slice is the caller's to keep or change.
func Fortunes() []string {
	return slices.Clone(fortunes())
}

// parseFortunes splits text in the classic fortune-file format: entries
// separated by a line holding only "%". Empty entries are dropped.
func parseFortunes(text string) []string {
	var (
		out   []string
		entry strings.Builder
	)
	flush := func() {
		if strings.TrimSpace(entry.String()) != "" {
			out = append(out, entry.String())
		}
		entry.Reset()
	}
	for line := range strings.Lines(text) {
		if strings.TrimRight(line, "\r\n") == "%" {
			flush()
			continue
		}
		entry.WriteString(line)
		if !strings.HasSuffix(line, "\n") {
			entry.WriteByte('\n')
		}
	}
	flush()
	return out
}
