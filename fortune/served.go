package fortune

import (
	"strconv"
	"strings"
)

// FormatServed returns the line the server command prints for each fortune
// it served, so the lab knows which fortune crossed the wire to whom:
//
//	served 198.18.0.30:53396 "You love peace.\n"
//
// The fortune is Go-quoted, so the line holds no newline whatever the
// fortune holds. A remote that is empty or holds spaces, quotes or control
// characters is written with those bytes as '?' (an empty one as "-"), so
// the line always parses.
func FormatServed(remote, fortune string) string {
	return "served " + cleanRemote(remote) + " " + strconv.Quote(fortune)
}

// ParseServed reads a line written by FormatServed, with or without its
// line ending. It reports ok false for any other line.
func ParseServed(line string) (remote, fortune string, ok bool) {
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	rest, ok := strings.CutPrefix(line, "served ")
	if !ok {
		return "", "", false
	}
	remote, quoted, ok := strings.Cut(rest, " ")
	if !ok || !validRemote(remote) || !strings.HasPrefix(quoted, `"`) {
		return "", "", false
	}
	fortune, err := strconv.Unquote(quoted)
	if err != nil {
		return "", "", false
	}
	return remote, fortune, true
}

// remoteByteOK reports whether b may appear in the remote field: printable
// ASCII other than space and the quote that opens the fortune.
func remoteByteOK(b byte) bool { return b > ' ' && b < 0x7f && b != '"' }

func validRemote(remote string) bool {
	if remote == "" {
		return false
	}
	for i := range len(remote) {
		if !remoteByteOK(remote[i]) {
			return false
		}
	}
	return true
}

func cleanRemote(remote string) string {
	if remote == "" {
		return "-"
	}
	if validRemote(remote) {
		return remote
	}
	b := []byte(remote)
	for i := range b {
		if !remoteByteOK(b[i]) {
			b[i] = '?'
		}
	}
	return string(b)
}
