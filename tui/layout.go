package tui

import (
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// Every pane renders to exactly the lines and columns it was given:
// nothing wraps, nothing overflows, whatever the terminal's size.

// fit truncates s to w columns (with an ellipsis) or pads it with spaces
// to w.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		s = ansi.Truncate(s, w, "…")
		n = ansi.StringWidth(s)
	}
	if n < w {
		s += strings.Repeat(" ", w-n)
	}
	return s
}

// block fits lines into a w×h box: each line fitted, missing lines blank,
// extra lines dropped.
func block(lines []string, w, h int) []string {
	out := make([]string, h)
	blank := strings.Repeat(" ", max(w, 0))
	for i := range out {
		if i < len(lines) {
			out[i] = fit(lines[i], w)
		} else {
			out[i] = blank
		}
	}
	return out
}

// beside joins boxes of the same height left to right, with sep between
// them.
func beside(sep string, boxes ...[]string) []string {
	if len(boxes) == 0 {
		return nil
	}
	out := make([]string, len(boxes[0]))
	var b strings.Builder
	for i := range out {
		b.Reset()
		for j, box := range boxes {
			if j > 0 {
				b.WriteString(sep)
			}
			if i < len(box) {
				b.WriteString(box[i])
			}
		}
		out[i] = b.String()
	}
	return out
}

// splitLines splits rendered text into lines, without the trailing empty
// one, with trailing spaces removed.
func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return lines
}

// wrap breaks plain text into lines of at most w columns, at spaces.
func wrap(s string, w int) []string {
	if w <= 0 {
		return nil
	}
	var out []string
	for _, para := range strings.Split(s, "\n") {
		out = append(out, splitLines(ansi.Wrap(para, w, ""))...)
		if para == "" {
			out = append(out, "")
		}
	}
	return out
}

// tail returns the last n of lines.
func tail[T any](lines []T, n int) []T {
	if n <= 0 {
		return nil
	}
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}

func itoa(n int) string { return strconv.Itoa(n) }

// count renders n with thousands separators: 10,000.
func count(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// rule is a horizontal line with a title: "── Sniffer ─────".
func rule(title string, w int) string {
	if w <= 0 {
		return ""
	}
	if title == "" {
		return strings.Repeat("─", w)
	}
	head := "── " + title + " "
	n := ansi.StringWidth(head)
	if n >= w {
		return fit(head, w)
	}
	return head + strings.Repeat("─", w-n)
}

// cols is how many columns s takes on screen.
func cols(s string) int { return ansi.StringWidth(s) }

// ansiStrip removes styling from s.
func ansiStrip(s string) string { return ansi.Strip(s) }

func pad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(" ", n-len(s))
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
}
