package tui

import (
	"time"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/mesh"

	"github.com/ztlab/zt-lab/scenes"
)

// eventsMsg carries the engine's events that arrived together, oldest
// first.
type eventsMsg []scenes.Event

// eventsClosedMsg says the engine's event stream ended.
type eventsClosedMsg struct{}

// opKind is an engine call the screen made.
type opKind string

const (
	opStep    opKind = "step"
	opScene   opKind = "scene"
	opPrepare opKind = "reset"
)

// opDoneMsg says an engine call returned.
type opDoneMsg struct {
	op          opKind
	scene, step int
	err         error
}

// tickMsg asks for the live panels to be read again.
type tickMsg time.Time

// snapshotMsg is what the live panels read of the lab.
type snapshotMsg struct{ snap *snapshot }

// meshMsg is what Options.Mesh said.
type meshMsg struct {
	view mesh.View
	err  error
}

// meshTickMsg asks Options.Mesh again.
type meshTickMsg struct{}

// pcapDoneMsg says the capture was written, or why not.
type pcapDoneMsg struct {
	path string
	err  error
}

// failDoneMsg says a host failed (or, with no mode, recovered), or why not.
type failDoneMsg struct {
	host string
	mode infra.FailMode
	err  error
}

// shellDoneMsg says the shell on a host ended.
type shellDoneMsg struct {
	host string
	err  error
}

// autoplayMsg moves autoplay to the next scene.
type autoplayMsg struct{ scene int }
