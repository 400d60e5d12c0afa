// Package cast writes asciinema v2 casts: a JSON header line, then one
// [seconds, "o", text] line per chunk of what a program showed on its
// terminal. `asciinema play FILE` replays one.
package cast

import (
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
}

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

// Output records p as shown at offset at from the start.
func (c *Writer) Output(at time.Duration, p []byte) error {
	c.pending = append(c.pending, p...)
	cut := len(c.pending)
	// Hold back a character the chunk ends inside; bytes that are not
	// UTF-8 at all go out as they are.
	for i := 1; i < utf8.UTFMax && i <= len(c.pending); i++ {
		if tail := c.pending[len(c.pending)-i:]; utf8.RuneStart(tail[0]) {
			if !utf8.FullRune(tail) {
				cut -= i
			}
			break
		}
	}
	if cut == 0 {
		return nil
	}
	ev, _ := json.Marshal([]any{at.Seconds(), "o", string(c.pending[:cut])})
	if _, err := fmt.Fprintf(c.w, "%s\n", ev); err != nil {
		return err
	}
	c.pending = append(c.pending[:0], c.pending[cut:]...)
	return nil
}

// Record runs cmd in a pseudo-terminal of h's size and writes what it
// shows to w as a cast, until cmd exits; it returns cmd's Wait error.
// now is the clock (time.Now but in tests); h.Started is set from it.
func Record(cmd *exec.Cmd, w io.Writer, h Header, now func() time.Time) error {
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
