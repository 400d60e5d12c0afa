// Package presenter carries the presenter's state from the guided lab's
// screen to `zt-lab notes` on a second terminal: what scene is on screen
// and its speaker notes, what the engine is doing, the last check, and
// what the next key will do. The screen serves it on a Unix socket in the
// user's runtime directory, one JSON line per change; the notes screen
// follows it. It also spreads a talk's time budget over the scenes.
package presenter

import (
	"time"
)

// State is what the presenter's screen shows now, as the notes screen
// needs it.
type State struct {
	// Talk is when the presenter's screen opened: the talk's clock.
	Talk time.Time `json:"talk"`
	// Scene is the scene on screen.
	Scene Scene `json:"scene"`
	// Scenes lists every scene in order, with its budget from the notes'
	// front matter.
	Scenes []Outline `json:"scenes"`
	// Step is what the engine is doing; nil when it is idle.
	Step *Step `json:"step,omitempty"`
	// Check is the newest check's result; nil before the first.
	Check *Check `json:"check,omitempty"`
	// Keys say what n, p and enter on the presenter's screen do now.
	Keys []Key `json:"keys"`
}

// Scene is the scene on the presenter's screen.
type Scene struct {
	Index int    `json:"index"` // from 0
	ID    string `json:"id"`
	Title string `json:"title"`
	// Notes are the speaker notes, markdown without their front matter.
	Notes string `json:"notes"`
	// Since is when the scene came on screen, earlier by the time spent
	// on it before: the scene's clock counts every visit.
	Since time.Time `json:"since"`
}

// Outline is one scene of the talk as the notes screen plans it.
type Outline struct {
	ID     string        `json:"id"`
	Title  string        `json:"title"`
	Budget time.Duration `json:"budget,omitempty"` // zero: the notes say nothing
}

// Step is what the engine is doing for the presenter.
type Step struct {
	Scene int `json:"scene"`
	// Index and Count place the step in its scene; Index is -1 while the
	// lab is being brought to the scene's stage.
	Index int    `json:"index"`
	Count int    `json:"count"`
	Title string `json:"title"`
	// Doing is the engine's own word on it ("catching up: The lab").
	Doing string `json:"doing,omitempty"`
}

// Check is the result of the newest check.
type Check struct {
	Scene   int    `json:"scene"`
	Step    string `json:"step"` // the step's title
	Name    string `json:"name"`
	Pass    bool   `json:"pass"`
	Skipped string `json:"skipped,omitempty"`
	// Evidence is its first line of evidence.
	Evidence string `json:"evidence,omitempty"`
}

// Key is one key of the presenter's screen and what it does now.
type Key struct {
	Key  string `json:"key"`
	Does string `json:"does"`
}

// Next is the title of the scene after the current one; "" at the last.
func (s State) Next() string {
	if i := s.Scene.Index + 1; i >= 0 && i < len(s.Scenes) {
		return s.Scenes[i].Title
	}
	return ""
}

// Plan gives every scene its budget. With no total, each scene has its
// own from the notes' front matter (zero where they say nothing). With a
// total, the total is spread over the scenes in proportion to their own
// budgets; a scene without one weighs as much as the mean of those with
// one, and with none at all the scenes share it equally. The budgets are
// whole seconds and add up to the total.
func Plan(own []time.Duration, total time.Duration) []time.Duration {
	out := make([]time.Duration, len(own))
	if total <= 0 {
		copy(out, own)
		return out
	}
	if len(own) == 0 {
		return out
	}
	var sum time.Duration
	given := 0
	for _, d := range own {
		if d > 0 {
			sum += d
			given++
		}
	}
	weights := make([]float64, len(own))
	mean := 1.0
	if given > 0 {
		mean = float64(sum) / float64(given)
	}
	var all float64
	for i, d := range own {
		weights[i] = mean
		if d > 0 {
			weights[i] = float64(d)
		}
		all += weights[i]
	}
	var spent time.Duration
	for i, w := range weights {
		if i == len(weights)-1 {
			out[i] = total - spent
			break
		}
		out[i] = time.Duration(float64(total) * w / all).Round(time.Second)
		spent += out[i]
	}
	return out
}
