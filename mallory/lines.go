package mallory

import (
	"fmt"
	"strconv"
	"strings"
)

// TamperedLine is the line the attacker prints for each fortune it
// rewrote: `tampered CLIENT "ORIGINAL" "ALTERED"`, both texts Go-quoted.
func TamperedLine(t Tampered) string {
	return fmt.Sprintf("tampered %s %q %q", t.Client, t.Original, t.Altered)
}

// ParseTampered reads a TamperedLine back; ok is false for any other line.
func ParseTampered(line string) (client, original, altered string, ok bool) {
	rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "tampered ")
	if !ok {
		return "", "", "", false
	}
	client, rest, ok = strings.Cut(rest, " ")
	if !ok || client == "" {
		return "", "", "", false
	}
	q1, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return "", "", "", false
	}
	rest, ok = strings.CutPrefix(rest[len(q1):], " ")
	if !ok {
		return "", "", "", false
	}
	q2, err := strconv.QuotedPrefix(rest)
	if err != nil || len(q2) != len(rest) {
		return "", "", "", false
	}
	original, _ = strconv.Unquote(q1)
	altered, _ = strconv.Unquote(q2)
	return client, original, altered, true
}
