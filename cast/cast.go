// Package cast writes and plays asciinema v2 casts: a JSON header line,
// then one [seconds, "o", text] line per chunk of what a program showed
// on its terminal, and a [seconds, "m", label] marker where a scene
// starts. `asciinema play FILE` replays one; Player renders its screen at
// any point, as a terminal would have shown it.
package cast

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
)

// Header is what a cast says about its terminal before the first output.
type Header struct {
	Cols, Rows int
	Started    time.Time
	Env        map[string]string // e.g. TERM and SHELL, as asciinema records them
	Title      string
}

// Writer writes one cast. Output that ends inside a UTF-8 character keeps
// the character's first bytes for the next chunk: a JSON string holds
// whole characters.
type Writer struct {
	w       io.Writer
	pending []byte
	marks   Marks
}

// Marks names the scene a window title belongs to. A program that sets
// its window title to the scene it shows (the guided TUI does) marks
// each scene's start exactly: the title is set in the same write as the
// scene's first frame, before it. ok false: no marker for that title.
type Marks func(title string) (label string, ok bool)

// MarkLabel is a scene's marker label: its ID, a colon, its title.
func MarkLabel(id, title string) string { return id + ": " + title }

// NewWriter writes h as the cast's header line and returns the writer of
// its events.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	header, err := json.Marshal(map[string]any{
		"version": 2, "width": h.Cols, "height": h.Rows, "timestamp": h.Started.Unix(),
		"env": h.Env, "title": h.Title,
	})
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(w, "%s\n", header); err != nil {
		return nil, err
	}
	return &Writer{w: w}, nil
}

// MarkTitles makes the writer put a marker into the cast after every
// window title that marks names: the output up to the title's end goes
// out first, so the marker sits between one scene's frames and the next.
func (c *Writer) MarkTitles(marks Marks) { c.marks = marks }

// Marker records a marker labelled label at offset at.
func (c *Writer) Marker(at time.Duration, label string) error {
	return c.event(at, "m", label)
}

func (c *Writer) event(at time.Duration, code, data string) error {
	ev, _ := json.Marshal([]any{at.Seconds(), code, data})
	_, err := fmt.Fprintf(c.w, "%s\n", ev)
	return err
}

// Output records p as shown at offset at from the start.
func (c *Writer) Output(at time.Duration, p []byte) error {
	c.pending = append(c.pending, p...)
	for {
		cut := len(c.pending)
		if c.marks != nil {
			end, title, hold := nextTitle(c.pending)
			if end > 0 {
				if err := c.event(at, "o", string(c.pending[:end])); err != nil {
					return err
				}
				c.pending = append(c.pending[:0], c.pending[end:]...)
				if label, ok := c.marks(title); ok {
					if err := c.Marker(at, label); err != nil {
						return err
					}
				}
				continue
			}
			cut = hold
		}
		if cut == len(c.pending) {
			// Hold back a character the chunk ends inside; bytes that are
			// not UTF-8 at all go out as they are.
			for i := 1; i < utf8.UTFMax && i <= len(c.pending); i++ {
				if tail := c.pending[len(c.pending)-i:]; utf8.RuneStart(tail[0]) {
					if !utf8.FullRune(tail) {
						cut -= i
					}
					break
				}
			}
		}
		if cut == 0 {
			return nil
		}
		if err := c.event(at, "o", string(c.pending[:cut])); err != nil {
			return err
		}
		c.pending = append(c.pending[:0], c.pending[cut:]...)
		return nil
	}
}

// maxTitle is the longest window-title sequence the writer waits for the
// end of; a longer one is output like any other bytes.
const maxTitle = 4096

// nextTitle finds the first window-title sequence (OSC 0 or 2, ended by
// BEL or ST) in b: end is where it ends and title its text. Without one,
// end is 0 and hold is where b ends inside what may become one (len(b)
// when it does not).
func nextTitle(b []byte) (end int, title string, hold int) {
	for i := 0; i < len(b); i++ {
		if b[i] != 0x1b {
			continue
		}
		rest := b[i:]
		if len(rest) < 4 {
			if bytes.HasPrefix([]byte("\x1b]0;"), rest) || bytes.HasPrefix([]byte("\x1b]2;"), rest) {
				return 0, "", i
			}
			continue
		}
		if rest[1] != ']' || rest[2] != '0' && rest[2] != '2' || rest[3] != ';' {
			continue
		}
		for j := 4; j < len(rest) && j < maxTitle; j++ {
			switch {
			case rest[j] == 0x07:
				return i + j + 1, string(rest[4:j]), 0
			case rest[j] == 0x1b && j+1 < len(rest) && rest[j+1] == '\\':
				return i + j + 2, string(rest[4:j]), 0
			case rest[j] == 0x1b && j+1 == len(rest):
				return 0, "", i
			}
		}
		if len(rest) < maxTitle {
			return 0, "", i
		}
	}
	return 0, "", len(b)
}

// Record runs cmd in a pseudo-terminal of h's size and writes what it
// shows to w as a cast, until cmd exits; it returns cmd's Wait error.
// now is the clock (time.Now but in tests); h.Started is set from it.
// marks, when not nil, puts a marker where a window title starts a scene
// (see Writer.MarkTitles).
func Record(cmd *exec.Cmd, w io.Writer, h Header, now func() time.Time, marks Marks) error {
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(h.Cols), Rows: uint16(h.Rows)})
	if err != nil {
		return err
	}
	defer tty.Close()
	h.Started = now()
	c, err := NewWriter(w, h)
	if err != nil {
		return err
	}
	c.MarkTitles(marks)
	buf := make([]byte, 32*1024)
	for {
		n, rerr := tty.Read(buf)
		if n > 0 {
			if err := c.Output(now().Sub(h.Started), buf[:n]); err != nil {
				return err
			}
		}
		if rerr != nil {
			break // EIO: the program has exited and closed the terminal
		}
	}
	return cmd.Wait()
}

// ParseSize reads a terminal size written COLSxROWS, from 80x24 to
// 1000x1000.
func ParseSize(s string) (cols, rows int, err error) {
	c, r, ok := strings.Cut(s, "x")
	cols, err1 := strconv.Atoi(c)
	rows, err2 := strconv.Atoi(r)
	if !ok || err1 != nil || err2 != nil || cols < 80 || rows < 24 || cols > 1000 || rows > 1000 {
		return 0, 0, fmt.Errorf("%q: want COLSxROWS, at least 80x24, e.g. 120x36", s)
	}
	return cols, rows, nil
}
