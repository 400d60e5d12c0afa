package cast

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Event is one line of a cast after its header: at an offset from the
// start, output ("o") or a marker ("m"), or another code a player skips.
type Event struct {
	At   time.Duration
	Code string
	Data string
}

// Cast is a parsed asciinema v2 recording.
type Cast struct {
	Header Header
	Events []Event
}

// Scene is the part of a cast from one scene's marker to the next one's
// (or the cast's end): Events[Marker+1 : End].
type Scene struct {
	ID, Title string
	Marker    int // the index of its "m" event
	End       int // the index of the next scene's marker, or len(Events)
}

// ErrNoMarkers says a cast has no scene markers: it was recorded before
// zt-lab record wrote them, or by something else.
var ErrNoMarkers = errors.New("the cast has no scene markers: re-record it with `zt-lab record --cast FILE`")

// Limits on what Parse accepts: a terminal a player can hold, lines a
// scanner can buffer.
const (
	maxSide = 1000
	maxLine = 16 << 20
)

// Parse reads an asciinema v2 cast. Errors name the line at fault.
func Parse(r io.Reader) (*Cast, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("line 1: %w", err)
		}
		return nil, errors.New("empty: want an asciinema v2 cast, a JSON header line first")
	}
	var h struct {
		Version   int               `json:"version"`
		Width     int               `json:"width"`
		Height    int               `json:"height"`
		Timestamp int64             `json:"timestamp"`
		Env       map[string]string `json:"env"`
		Title     string            `json:"title"`
	}
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
		return nil, fmt.Errorf("line 1: not an asciinema v2 header: %v", err)
	}
	if h.Version != 2 {
		return nil, fmt.Errorf("line 1: asciinema cast version %d, want 2", h.Version)
	}
	if h.Width < 1 || h.Height < 1 || h.Width > maxSide || h.Height > maxSide {
		return nil, fmt.Errorf("line 1: terminal %dx%d, want 1x1 to %dx%d", h.Width, h.Height, maxSide, maxSide)
	}
	c := &Cast{Header: Header{Cols: h.Width, Rows: h.Height, Env: h.Env, Title: h.Title}}
	if h.Timestamp != 0 {
		c.Header.Started = time.Unix(h.Timestamp, 0).UTC()
	}
	var last time.Duration
	for n := 2; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		ev, err := parseEvent(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		if ev.At < last {
			return nil, fmt.Errorf("line %d: at %.6fs, before the line above it", n, ev.At.Seconds())
		}
		last = ev.At
		c.Events = append(c.Events, ev)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("after line %d: %w", len(c.Events)+1, err)
	}
	return c, nil
}

func parseEvent(line []byte) (Event, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(line, &raw); err != nil || len(raw) != 3 {
		return Event{}, errors.New(`want an event, [seconds, "o", "text"]`)
	}
	var at float64
	var ev Event
	if json.Unmarshal(raw[0], &at) != nil || json.Unmarshal(raw[1], &ev.Code) != nil || json.Unmarshal(raw[2], &ev.Data) != nil {
		return Event{}, errors.New(`want an event, [seconds, "o", "text"]`)
	}
	if at < 0 || math.IsNaN(at) || at > float64(math.MaxInt64/int64(time.Second)) {
		return Event{}, fmt.Errorf("time %v: want seconds from the start, 0 or more", at)
	}
	ev.At = time.Duration(at * float64(time.Second))
	return ev, nil
}

// Scenes lists the scenes the cast's markers start, in order; ErrNoMarkers
// when there are none.
func (c *Cast) Scenes() ([]Scene, error) {
	var out []Scene
	for i, ev := range c.Events {
		if ev.Code != "m" {
			continue
		}
		if n := len(out); n > 0 {
			out[n-1].End = i
		}
		id, title, ok := strings.Cut(ev.Data, ": ")
		if !ok {
			title = id
		}
		out = append(out, Scene{ID: id, Title: title, Marker: i, End: len(c.Events)})
	}
	if len(out) == 0 {
		return nil, ErrNoMarkers
	}
	return out, nil
}
