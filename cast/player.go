package cast

import (
	"io"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
)

// Player renders a cast's screen at any point: a terminal emulator fed
// the cast's output up to there. Moving forward feeds it on; moving back
// starts it again from the top. A Player is not safe for concurrent use.
type Player struct {
	cast   *Cast
	scenes []Scene
	emu    *vt.Emulator
	fed    int   // events fed to emu: it shows the screen after Events[:fed]
	ends   []int // each scene's end position, -1 until found
}

// Frame is a screen of the cast: Rows lines, each Cols wide, with the
// styles the program drew them in.
type Frame struct {
	Lines []string
	Alt   bool // the program had switched to the alternate screen
}

// Text is the frame without styles.
func (f Frame) Text() string { return ansi.Strip(strings.Join(f.Lines, "\n")) }

// NewPlayer is a player of c, at its start; ErrNoMarkers when c has no
// scenes to move between.
func NewPlayer(c *Cast) (*Player, error) {
	sc, err := c.Scenes()
	if err != nil {
		return nil, err
	}
	p := &Player{cast: c, scenes: sc, ends: make([]int, len(sc))}
	for i := range p.ends {
		p.ends[i] = -1
	}
	p.restart()
	return p, nil
}

// Scenes are the cast's scenes.
func (p *Player) Scenes() []Scene { return p.scenes }

// Len is the last position: every event fed.
func (p *Player) Len() int { return len(p.cast.Events) }

// Close ends the emulator.
func (p *Player) Close() error {
	endEmulator(p.emu)
	return nil
}

// endEmulator ends the copy of e's answers: closing the pipe they go
// down ends the reader, where e.Close would race with it (vt v0.1.0
// reads its closed flag unguarded).
func endEmulator(e *vt.Emulator) {
	if c, ok := e.InputPipe().(io.Closer); ok {
		_ = c.Close()
	}
}

func (p *Player) restart() {
	if p.emu != nil {
		endEmulator(p.emu)
	}
	p.emu = vt.NewEmulator(p.cast.Header.Cols, p.cast.Header.Rows)
	// The emulator answers the program's terminal queries on its input
	// side; nobody asks, and an unread answer would block the next write.
	go func(e *vt.Emulator) { _, _ = io.Copy(io.Discard, e) }(p.emu)
	p.fed = 0
}

// seek feeds the emulator to position pos (0 to Len).
func (p *Player) seek(pos int) {
	pos = min(max(pos, 0), p.Len())
	if pos < p.fed {
		p.restart()
	}
	for ; p.fed < pos; p.fed++ {
		if ev := p.cast.Events[p.fed]; ev.Code == "o" {
			_, _ = p.emu.WriteString(ev.Data)
		}
	}
}

// At is the screen after the cast's first pos events.
func (p *Player) At(pos int) Frame {
	p.seek(pos)
	return p.frame()
}

func (p *Player) frame() Frame {
	cols := p.cast.Header.Cols
	lines := strings.Split(p.emu.Render(), "\n")
	for len(lines) < p.cast.Header.Rows {
		lines = append(lines, "")
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w < cols {
			lines[i] = l + strings.Repeat(" ", cols-w)
		}
	}
	return Frame{Lines: lines, Alt: p.emu.IsAltScreen()}
}

// blank says the screen shows nothing.
func (p *Player) blank() bool { return strings.TrimSpace(p.emu.String()) == "" }

// Start is the position where scene i's first frame has been drawn: the
// first change of the screen after its marker.
func (p *Player) Start(i int) int {
	pos, _ := p.Next(p.scenes[i].Marker+1, p.scenes[i].End)
	return pos
}

// End is the position where scene i's screen is as it was at the end of
// its last step: its last position before the next scene's marker that
// shows something on the program's own (alternate) screen, so that a
// program's goodbye, a blank screen or its leaving that screen, does not
// count as the scene's end.
func (p *Player) End(i int) int {
	if p.ends[i] >= 0 {
		return p.ends[i]
	}
	sc := p.scenes[i]
	best, bestAlt := sc.End, false
	for pos := sc.Marker + 1; pos <= sc.End; pos++ {
		p.seek(pos)
		if p.blank() {
			continue
		}
		if alt := p.emu.IsAltScreen(); alt || !bestAlt {
			best, bestAlt = pos, alt
		}
	}
	p.ends[i] = best
	return best
}

// Next is the first position after pos, up to limit, whose screen differs
// from pos's: one step that shows something. With none, it is limit and
// false.
func (p *Player) Next(pos, limit int) (int, bool) {
	limit = min(limit, p.Len())
	if pos >= limit {
		return limit, false
	}
	p.seek(pos)
	was := p.emu.Render()
	for q := pos + 1; q <= limit; q++ {
		p.seek(q)
		if p.cast.Events[q-1].Code == "o" && p.emu.Render() != was {
			return q, true
		}
	}
	return limit, false
}

// SceneAt is the scene position pos is in: the last one whose marker is
// before it (the first scene for positions before every marker).
func (p *Player) SceneAt(pos int) int {
	i := 0
	for j, sc := range p.scenes {
		if sc.Marker < pos {
			i = j
		}
	}
	return i
}

// Find is the index of the scene with the given ID, or -1.
func (p *Player) Find(id string) int {
	for i, sc := range p.scenes {
		if sc.ID == id {
			return i
		}
	}
	return -1
}
