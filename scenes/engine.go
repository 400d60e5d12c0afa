// Package scenes holds the walkthrough — scenes made of steps, each step an
// action and a check that proves what the scene claims — and the engine
// that runs them and reports everything as one stream of events. The TUI,
// the headless runner and autoplay all consume that stream; the engine
// never knows which one is watching.
package scenes

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ztlab/zt-lab/check"
)

// Stage is how far the lab has come along the walkthrough. Stages only
// grow; going back means building the lab again.
type Stage int

// Panel is the live view a scene shows beside its narration.
type Panel string

const (
	PanelTopology Panel = "topology"
	PanelConsumer Panel = "consumer"
	PanelSniffer  Panel = "sniffer"
	PanelCluster  Panel = "cluster"
	PanelCerts    Panel = "certs"
	PanelTimeline Panel = "timeline"
	PanelReport   Panel = "report"
)

// Step is one thing a scene does, and how it proves it. Do and Verify
// are handed the step's own view of the engine's Env: the same lab, with
// what they log reported as this step's.
type Step struct {
	Title string
	// Shell is what a learner would type to do the same by hand.
	Shell string
	Do    func(ctx context.Context, env *Env) error
	// Verify proves the step's claim; nil for a step that claims nothing.
	Verify func(ctx context.Context, env *Env) check.Check
}

// Scene is one chapter of the walkthrough.
type Scene struct {
	ID    string
	Title string
	// Narrative and Notes are markdown: what the audience reads, and what
	// the presenter says.
	Narrative, Notes string
	// Budget is how long the presenter means to spend on the scene, from
	// the notes' front matter; zero when they say nothing.
	Budget time.Duration
	Panel  Panel
	// Needs is the stage the lab must be at before the first step;
	// Reaches is the stage it is at after the last.
	Needs, Reaches Stage
	// AnyStage scenes (the report card) run wherever the lab is.
	AnyStage bool
	Steps    []Step
}

// EventKind says what an Event reports.
type EventKind string

const (
	SceneStarted EventKind = "scene"
	StepStarted  EventKind = "step"
	Output       EventKind = "output"
	CheckDone    EventKind = "check"
	StepDone     EventKind = "step-done"
	SceneDone    EventKind = "scene-done"
	LabChanged   EventKind = "lab"
	Preparing    EventKind = "preparing" // bringing the lab to a scene's stage
	// FaultInjected and FaultRecovered report a host made to fail, or
	// recovered, by a step or by hand (see Env.Fail).
	FaultInjected  EventKind = "fault"
	FaultRecovered EventKind = "recovered"
)

// Event is one thing that happened while scenes ran.
type Event struct {
	Kind  EventKind     `json:"kind"`
	Scene int           `json:"scene"`
	Step  int           `json:"step"`
	Text  string        `json:"text,omitempty"`
	Check *check.Check  `json:"check,omitempty"`
	Err   string        `json:"error,omitempty"`
	At    time.Time     `json:"at"`
	Took  time.Duration `json:"took,omitempty"`
	Fault *Fault        `json:"fault,omitempty"`
}

// Result is the outcome of one step as the report card shows it.
type Result struct {
	Scene, Step int
	Title       string
	Check       *check.Check
	Err         error
	Took        time.Duration
}

// Engine runs scenes against an Env and emits events.
type Engine struct {
	Scenes []Scene
	env    *Env

	mu      sync.Mutex
	stage   Stage
	results map[[2]int]Result
	subs    []chan Event
}

// New returns an engine over the given scenes, acting on env: what env
// and its steps' views of it report goes to the engine's event stream.
func New(env *Env, scenes []Scene) *Engine {
	e := &Engine{Scenes: scenes, env: env, results: map[[2]int]Result{}}
	if env.world == nil {
		env.world = &world{}
	}
	env.emit = e.emit
	env.tally = e.tally
	return e
}

// Env is the engine's environment.
func (e *Engine) Env() *Env { return e.env }

// Subscribe returns a channel of every event from now on. The channel is
// buffered; a consumer that falls far behind loses output lines, never
// check results.
func (e *Engine) Subscribe() <-chan Event {
	ch := make(chan Event, 4096)
	e.mu.Lock()
	e.subs = append(e.subs, ch)
	e.mu.Unlock()
	return ch
}

func (e *Engine) emit(ev Event) {
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	e.mu.Lock()
	subs := e.subs
	e.mu.Unlock()
	for _, ch := range subs {
		if ev.Kind == Output {
			select {
			case ch <- ev:
			default: // a slow screen loses a log line, not the run
			}
			continue
		}
		ch <- ev
	}
}

// Stage is how far the lab has come.
func (e *Engine) Stage() Stage {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stage
}

// Results lists the outcome of every step run so far, in walkthrough order.
func (e *Engine) Results() []Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Result
	for si, s := range e.Scenes {
		for pi := range s.Steps {
			if r, ok := e.results[[2]int{si, pi}]; ok {
				out = append(out, r)
			}
		}
	}
	return out
}

// Failed reports whether any step run so far failed its check or errored.
func (e *Engine) Failed() bool {
	for _, r := range e.Results() {
		if r.Err != nil || (r.Check != nil && !r.Check.Done()) {
			return true
		}
	}
	return false
}

// Prepare brings the lab to the stage scene i needs: forward by running the
// scenes before it, or back by building the lab again and then forward.
func (e *Engine) Prepare(ctx context.Context, i int) error {
	if e.Scenes[i].AnyStage {
		return nil
	}
	need := e.Scenes[i].Needs
	if e.Stage() > need {
		e.emit(Event{Kind: Preparing, Scene: i, Text: "ending the lab to go back; it is built again from the start"})
		if err := e.env.Close(ctx); err != nil {
			e.emit(Event{Kind: Preparing, Scene: i, Text: "ending the lab: " + err.Error()})
		}
		e.setStage(0)
		e.emit(Event{Kind: LabChanged, Scene: i})
	}
	for j := 0; j < i && e.Stage() < need; j++ {
		s := e.Scenes[j]
		if s.Reaches <= e.Stage() || s.Needs > e.Stage() {
			continue
		}
		e.emit(Event{Kind: Preparing, Scene: i, Text: "catching up: " + s.Title})
		// A failed check is recorded and shown; only an error stops.
		if err := e.RunScene(ctx, j); err != nil && !errors.Is(err, ErrCheckFailed) {
			return fmt.Errorf("prepare scene %d (%s): %w", j+1, s.Title, err)
		}
	}
	if e.Stage() < need {
		return fmt.Errorf("scene %d needs stage %d, the lab reached %d", i+1, need, e.Stage())
	}
	return nil
}

// Reset brings scene i back to its start: when any of its steps has run
// on the current lab, the lab is built again and caught up, so the scene
// runs as if for the first time.
func (e *Engine) Reset(ctx context.Context, i int) error {
	s := e.Scenes[i]
	if s.AnyStage {
		return nil
	}
	e.mu.Lock()
	ran := false
	for j := range s.Steps {
		if _, ok := e.results[[2]int{i, j}]; ok {
			ran = true
			delete(e.results, [2]int{i, j})
		}
	}
	e.mu.Unlock()
	if ran || e.Stage() > s.Needs {
		e.emit(Event{Kind: Preparing, Scene: i, Text: "building the lab again for this scene"})
		if err := e.env.Close(ctx); err != nil {
			e.emit(Event{Kind: Preparing, Scene: i, Text: "ending the lab: " + err.Error()})
		}
		e.setStage(0)
		e.emit(Event{Kind: LabChanged, Scene: i})
	}
	return e.Prepare(ctx, i)
}

func (e *Engine) setStage(s Stage) {
	e.mu.Lock()
	e.stage = s
	e.mu.Unlock()
}

// ErrCheckFailed is returned by RunScene when a step's check failed.
var ErrCheckFailed = errors.New("a check failed")

// RunScene runs every step of scene i, after preparing the lab for it.
func (e *Engine) RunScene(ctx context.Context, i int) error {
	s := e.Scenes[i]
	if !s.AnyStage && e.Stage() != s.Needs {
		if err := e.Prepare(ctx, i); err != nil {
			return err
		}
	}
	e.emit(Event{Kind: SceneStarted, Scene: i, Text: s.Title})
	start := time.Now()
	var failed bool
	for j := range s.Steps {
		ok, err := e.runStep(ctx, i, j)
		if err != nil {
			e.emit(Event{Kind: SceneDone, Scene: i, Err: err.Error(), Took: time.Since(start)})
			return err
		}
		failed = failed || !ok
	}
	if s.Reaches > e.Stage() {
		e.setStage(s.Reaches)
	}
	e.emit(Event{Kind: SceneDone, Scene: i, Took: time.Since(start)})
	if failed {
		return ErrCheckFailed
	}
	return nil
}

// RunStep runs one step of scene i; the screen runs them in order. The
// scene's stage is reached once every one of its steps has run without an
// error.
func (e *Engine) RunStep(ctx context.Context, i, j int) error {
	if j == 0 && !e.Scenes[i].AnyStage && e.Stage() != e.Scenes[i].Needs {
		if err := e.Prepare(ctx, i); err != nil {
			return err
		}
	}
	ok, err := e.runStep(ctx, i, j)
	if err == nil && j == len(e.Scenes[i].Steps)-1 && e.Scenes[i].Reaches > e.Stage() && e.allRan(i) {
		e.setStage(e.Scenes[i].Reaches)
		e.emit(Event{Kind: SceneDone, Scene: i})
	}
	if err == nil && !ok {
		err = ErrCheckFailed
	}
	return err
}

func (e *Engine) runStep(ctx context.Context, i, j int) (bool, error) {
	st := e.Scenes[i].Steps[j]
	e.emit(Event{Kind: StepStarted, Scene: i, Step: j, Text: st.Title})
	env := e.env.forStep(i, j)
	start := time.Now()
	r := Result{Scene: i, Step: j, Title: st.Title}
	if st.Do != nil {
		if err := st.Do(ctx, env); err != nil {
			r.Err, r.Took = err, time.Since(start)
			e.record(r)
			e.emit(Event{Kind: StepDone, Scene: i, Step: j, Err: err.Error(), Took: r.Took})
			return false, fmt.Errorf("%s: %w", st.Title, err)
		}
	}
	ok := true
	if st.Verify != nil {
		c := st.Verify(ctx, env)
		r.Check = &c
		ok = c.Done()
		e.emit(Event{Kind: CheckDone, Scene: i, Step: j, Check: &c})
	}
	r.Took = time.Since(start)
	e.record(r)
	e.emit(Event{Kind: StepDone, Scene: i, Step: j, Took: r.Took})
	return ok, nil
}

// allRan reports whether every step of scene i has run without an error.
func (e *Engine) allRan(i int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for j := range e.Scenes[i].Steps {
		if r, ok := e.results[[2]int{i, j}]; !ok || r.Err != nil {
			return false
		}
	}
	return true
}

func (e *Engine) record(r Result) {
	e.mu.Lock()
	e.results[[2]int{r.Scene, r.Step}] = r
	e.mu.Unlock()
}
