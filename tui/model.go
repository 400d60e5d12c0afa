// Package tui is the lab's screen: the scene list, the narration, a live
// panel per scene (topology, sniffer, consumer, cluster, certificates,
// timeline, report card), the checks of the scene and the key help. It
// renders the scene engine's events and reads the lab through
// scenes.Env's read-only views; it never touches a host itself: a fault
// made with x goes through the engine, as a step's does.
package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"github.com/ztlab/zt-lab/cast"
	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/mesh"
	"github.com/ztlab/zt-lab/presenter"
	"github.com/ztlab/zt-lab/scenes"
)

// Options shape the screen.
type Options struct {
	// Autoplay runs every scene in turn, waits Pace after each, and quits
	// after the last.
	Autoplay bool
	Pace     time.Duration
	Theme    Theme
	// NoColor keeps only bold, reverse and underline; NO_COLOR in the
	// environment sets it too.
	NoColor bool
	// ShellFunc returns the command that opens a shell on a host; the
	// screen suspends while it runs.
	ShellFunc func(host string) *exec.Cmd
	// PcapDir is where `w` writes the capture (default: the working
	// directory).
	PcapDir string
	// Mesh says what the cluster and certificate panels show (by default,
	// what the Env's Consul cluster says of itself); it is asked about once
	// a second, off the screen's goroutine.
	Mesh func(ctx context.Context) (mesh.View, error)
	// Fallback is a recording of the walkthrough (zt-lab record --cast)
	// that F swaps in for the live lab, at the same scene.
	Fallback *cast.Player
	// Publish, when set, is handed the presenter's state after every
	// update, on the screen's goroutine (see presenter.Server.Publish): it
	// must not block.
	Publish func(presenter.State)
}

// Defaults.
const (
	DefaultPace  = 4 * time.Second
	refreshEvery = 100 * time.Millisecond
	meshEvery    = time.Second
	outputKept   = 40  // output lines kept per step
	timelineKept = 500 // events kept for the timeline panel
	faultsKept   = 200 // faults kept for the report card
	consumerKept = 500 // consumer lines read for the consumer panel
)

// stepStatus is where a step stands on screen.
type stepStatus uint8

const (
	stepPending stepStatus = iota
	stepRunning
	stepPassed  // its check passed
	stepFailed  // its check failed
	stepErrored // its action failed
	stepDone    // it finished and claims nothing
)

// stepState is a step as the screen knows it from the events.
type stepState struct {
	status stepStatus
	check  *check.Check
	err    string
	output []string // its newest output lines
	took   time.Duration
}

// sceneState is a scene as the screen knows it.
type sceneState struct {
	steps []stepState
	err   string
}

func (s *sceneState) reset(from int) {
	for j := from; j < len(s.steps); j++ {
		s.steps[j] = stepState{}
	}
	s.err = ""
}

// next is the step enter runs: the first not run, or the one that erred;
// -1 when the scene is through.
func (s *sceneState) next() int {
	for j, st := range s.steps {
		// A step still shown running when the engine is idle is one whose
		// last events are on their way: the next step is after it.
		if st.status == stepPending || st.status == stepErrored {
			return j
		}
	}
	return -1
}

// failure is an engine error the screen shows until dismissed.
type failure struct {
	scene, step int
	title, err  string
	output      []string
}

// timelineEntry is one event as the timeline panel shows it.
type timelineEntry struct {
	at time.Duration // since the screen started
	ev scenes.Event
}

// hostProgress is what a host was last doing while the lab was built.
type hostProgress struct {
	host, text string
}

// Model is the screen. Build it with New.
type Model struct {
	engine *scenes.Engine
	panels []livePanel // the panels table
	opts   Options
	src    labSource
	refr   *refresher
	keys   keyMap
	st     *Styles
	help   help.Model
	spin   spinner.Model
	md     *markdownCache

	ctx    context.Context
	cancel context.CancelFunc
	events <-chan scenes.Event
	start  time.Time
	now    func() time.Time

	width, height int
	cur           int
	scenes        []sceneState

	busy      bool
	op        opKind
	opScene   int
	opStep    int
	preparing string
	progress  []hostProgress

	snap       *snapshot
	refreshing bool
	mesh       mesh.View
	haveMesh   bool
	meshErr    string

	scroll, panelScroll int
	showNotes, showHelp bool
	panel               scenes.Panel // chosen with tab; "" is the scene's own
	dataOnly            bool
	picker              *picker
	status              string
	statusErr           bool
	failure             *failure
	dismissed           bool
	timeline            []timelineEntry
	results             []scenes.Result
	// faults are the faults injected and undone, by the steps or by
	// hand, oldest first: the report card lists them.
	faults []timelineEntry

	autoplay bool
	quitting bool
	feed     notesFeed // what Publish is told

	// observe, when set, is called after every Update, on the program's
	// goroutine: tests wait on the model's state with it.
	observe func(*Model)
}

// newEnvModel is the screen over the engine's Env, with the Env's mesh
// behind the cluster panels unless opts says otherwise.
func newEnvModel(engine *scenes.Engine, opts Options) *Model {
	if opts.Mesh == nil {
		opts.Mesh = meshFromEnv(engine.Env())
	}
	return newModel(engine, envSource{env: engine.Env(), engine: engine}, opts)
}

// CheckPace refuses a pace that is no pace: a scene must stay on screen
// for some time. (Options.Pace left zero means DefaultPace.)
func CheckPace(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("--pace %v: give how long each scene stays on screen, above zero, e.g. --pace %v", d, DefaultPace)
	}
	return nil
}

func newModel(engine *scenes.Engine, src labSource, opts Options) *Model {
	if opts.Pace <= 0 {
		opts.Pace = DefaultPace
	}
	if opts.Theme == "" {
		opts.Theme = ThemeDefault
	}
	if os.Getenv("NO_COLOR") != "" {
		opts.NoColor = true
	}
	st := newStyles(opts.Theme, opts.NoColor)
	h := help.New()
	h.Styles = st.Help
	sp := spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(st.Running))
	ctx, cancel := context.WithCancel(context.Background())
	m := &Model{
		engine:   engine,
		panels:   panels,
		opts:     opts,
		src:      src,
		refr:     newRefresher(src),
		keys:     newKeyMap(),
		st:       st,
		help:     h,
		spin:     sp,
		md:       newMarkdownCache(st.Markdown),
		ctx:      ctx,
		cancel:   cancel,
		events:   engine.Subscribe(),
		now:      time.Now,
		width:    80,
		height:   24,
		scenes:   make([]sceneState, len(engine.Scenes)),
		dataOnly: true,
		autoplay: opts.Autoplay,
		snap:     &snapshot{},
	}
	m.start = m.now()
	for i, s := range engine.Scenes {
		m.scenes[i].steps = make([]stepState, len(s.Steps))
	}
	return m
}

// Run shows the screen until the user quits (or autoplay ends) or ctx
// ends. With Autoplay it returns scenes.ErrCheckFailed when a check
// failed, so that a recording can exit non-zero.
func Run(ctx context.Context, engine *scenes.Engine, opts Options) error {
	m := newEnvModel(engine, opts)
	m.cancel()
	m.ctx, m.cancel = context.WithCancel(ctx)
	defer m.cancel()
	var screen tea.Model = m
	if opts.Fallback != nil {
		screen = newFallbackModel(m, opts.Fallback)
	}
	if _, err := tea.NewProgram(screen, tea.WithContext(ctx)).Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return err
	}
	if opts.Autoplay && m.Failed() {
		return scenes.ErrCheckFailed
	}
	return ctx.Err()
}

// Failed reports whether any step run so far failed its check or erred.
func (m *Model) Failed() bool { return m.engine.Failed() }

// Init starts listening to the engine, the panels' tick and autoplay.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{waitEvents(m.events), tick(), m.refreshCmd()}
	m.refreshing = true
	if m.opts.Mesh != nil {
		cmds = append(cmds, meshCmd(m.ctx, m.opts.Mesh))
	}
	m.ensureMarkdown()
	if m.autoplay && len(m.scenes) > 0 {
		cmds = append(cmds, m.runScene(0))
	}
	return tea.Batch(cmds...)
}

// Update handles one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	if !m.refreshing && m.snap.panel != m.currentPanel() {
		// Another panel is on screen: read what it shows now, not at the
		// next tick.
		m.refreshing = true
		cmd = tea.Batch(cmd, m.refreshCmd())
	}
	m.ensureMarkdown()
	m.publishNotes()
	if m.observe != nil {
		m.observe(m)
	}
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = max(msg.Width, 1), max(msg.Height, 1)
		m.help.SetWidth(m.width)
		return nil
	case tea.KeyPressMsg:
		return m.handleKey(msg)
	case eventsMsg:
		refresh := false
		for _, ev := range msg {
			refresh = m.apply(ev) || refresh
		}
		cmds := []tea.Cmd{waitEvents(m.events)}
		if refresh && !m.refreshing {
			m.refreshing = true
			cmds = append(cmds, m.refreshCmd())
		}
		return tea.Batch(cmds...)
	case eventsClosedMsg:
		return nil
	case opDoneMsg:
		return m.opDone(msg)
	case tickMsg:
		cmds := []tea.Cmd{tick()}
		if !m.refreshing {
			m.refreshing = true
			cmds = append(cmds, m.refreshCmd())
		}
		return tea.Batch(cmds...)
	case snapshotMsg:
		m.snap, m.refreshing = msg.snap, false
		return nil
	case meshMsg:
		m.haveMesh = msg.err == nil
		if msg.err != nil {
			m.meshErr = msg.err.Error()
		} else {
			m.mesh, m.meshErr = msg.view, ""
		}
		return tea.Tick(meshEvery, func(time.Time) tea.Msg { return meshTickMsg{} })
	case meshTickMsg:
		if m.panelOf(m.currentPanel()).mesh {
			return meshCmd(m.ctx, m.opts.Mesh)
		}
		// Nobody looks: ask again later.
		return tea.Tick(meshEvery, func(time.Time) tea.Msg { return meshTickMsg{} })
	case pcapDoneMsg:
		if msg.err != nil {
			m.setStatus("pcap: "+msg.err.Error(), true)
		} else {
			m.setStatus("capture written to "+msg.path, false)
		}
		return nil
	case failDoneMsg:
		if msg.err != nil {
			m.setStatus(msg.err.Error(), true)
		} else if msg.mode == "" {
			m.setStatus(msg.host+" recovered", false)
		} else {
			m.setStatus(msg.host+": "+string(msg.mode)+". x again to recover it", false)
		}
		return nil
	case shellDoneMsg:
		if msg.err != nil {
			m.setStatus("shell on "+msg.host+": "+msg.err.Error(), true)
		} else {
			m.setStatus("back from the shell on "+msg.host, false)
		}
		return nil
	case autoplayMsg:
		if !m.autoplay {
			return nil
		}
		if msg.scene >= len(m.scenes) {
			return m.quit()
		}
		m.goTo(msg.scene)
		return m.runScene(msg.scene)
	case spinner.TickMsg:
		if !m.busy {
			return nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return cmd
	}
	return nil
}

func (m *Model) setStatus(s string, isErr bool) { m.status, m.statusErr = s, isErr }

func (m *Model) quit() tea.Cmd {
	m.quitting = true
	m.cancel()
	return tea.Quit
}

// goTo makes scene i the current one.
func (m *Model) goTo(i int) {
	if i < 0 || i >= len(m.scenes) || i == m.cur {
		return
	}
	m.cur, m.scroll, m.panelScroll, m.panel = i, 0, 0, ""
	m.dismissed = false
	if !m.busy {
		m.status = ""
	}
}

// apply records one event; it reports whether the live panels should be
// read again at once.
func (m *Model) apply(ev scenes.Event) bool {
	m.timeline = append(m.timeline, timelineEntry{at: ev.At.Sub(m.start), ev: ev})
	if len(m.timeline) > timelineKept {
		m.timeline = append(m.timeline[:0], m.timeline[len(m.timeline)-timelineKept:]...)
	}
	if ev.Kind == scenes.LabChanged {
		return true
	}
	if ev.Kind == scenes.FaultInjected || ev.Kind == scenes.FaultRecovered {
		m.faults = append(m.faults, m.timeline[len(m.timeline)-1])
		if len(m.faults) > faultsKept {
			m.faults = append(m.faults[:0], m.faults[len(m.faults)-faultsKept:]...)
		}
		return true // a host's state changed
	}
	if ev.Kind == scenes.Preparing {
		m.preparing = ev.Text
		return false
	}
	if ev.Scene < 0 || ev.Scene >= len(m.scenes) {
		return false
	}
	sc := &m.scenes[ev.Scene]
	var st *stepState
	if ev.Step >= 0 && ev.Step < len(sc.steps) {
		st = &sc.steps[ev.Step]
	}
	switch ev.Kind {
	case scenes.SceneStarted:
		sc.reset(0)
	case scenes.StepStarted:
		sc.reset(ev.Step)
		if st != nil {
			st.status = stepRunning
		}
	case scenes.Output:
		m.trackProgress(ev.Text)
		if st != nil {
			st.output = append(st.output, ev.Text)
			if len(st.output) > outputKept {
				st.output = append(st.output[:0], st.output[len(st.output)-outputKept:]...)
			}
		}
	case scenes.CheckDone:
		if st != nil && ev.Check != nil {
			st.check = ev.Check
			st.status = stepFailed
			switch {
			case ev.Check.Pass:
				st.status = stepPassed
			case ev.Check.Skipped != "":
				st.status = stepDone // neither a pass nor a failure
			}
		}
	case scenes.StepDone:
		if st == nil {
			break
		}
		st.took = ev.Took
		switch {
		case ev.Err != "":
			st.status, st.err = stepErrored, ev.Err
			m.failure = &failure{scene: ev.Scene, step: ev.Step, title: m.engine.Scenes[ev.Scene].Steps[ev.Step].Title,
				err: ev.Err, output: append([]string(nil), st.output...)}
			m.dismissed = false
		case st.status == stepRunning:
			st.status = stepDone
		}
		m.results = m.engine.Results()
	case scenes.SceneDone:
		sc.err = ev.Err
	}
	return false
}

// trackProgress follows per-host progress in the output while the lab is
// built: lines that start with a host's name.
func (m *Model) trackProgress(line string) {
	if !m.busy {
		return
	}
	name := line
	for i, r := range line {
		if r == ':' || r == ' ' {
			name = line[:i]
			break
		}
	}
	if !m.knownHost(name) {
		return
	}
	text := line[len(name):]
	for len(text) > 0 && (text[0] == ':' || text[0] == ' ') {
		text = text[1:]
	}
	for i := range m.progress {
		if m.progress[i].host == name {
			m.progress[i].text = text
			return
		}
	}
	m.progress = append(m.progress, hostProgress{host: name, text: text})
}

func (m *Model) knownHost(name string) bool {
	if name == "" {
		return false
	}
	for _, h := range m.snap.hosts {
		if h.Name == name {
			return true
		}
	}
	for _, h := range defaultHosts() {
		if h.Name == name {
			return true
		}
	}
	return false
}

// begin marks the screen busy with an engine call.
func (m *Model) begin(op opKind, scene, step int) tea.Cmd {
	m.busy, m.op, m.opScene, m.opStep = true, op, scene, step
	m.preparing, m.progress = "", nil
	m.status, m.statusErr = "", false
	if m.failure != nil && m.failure.scene == scene {
		m.failure = nil
	}
	return m.spin.Tick
}

func (m *Model) runStep(i, j int) tea.Cmd {
	return tea.Batch(m.begin(opStep, i, j), runStepCmd(m.ctx, m.engine, i, j))
}

func (m *Model) runScene(i int) tea.Cmd {
	return tea.Batch(m.begin(opScene, i, -1), runSceneCmd(m.ctx, m.engine, i))
}

func (m *Model) prepare(i int) tea.Cmd {
	m.scenes[i].reset(0)
	return tea.Batch(m.begin(opPrepare, i, -1), prepareCmd(m.ctx, m.engine, i))
}

func (m *Model) opDone(msg opDoneMsg) tea.Cmd {
	m.busy, m.preparing, m.progress = false, "", nil
	m.results = m.engine.Results()
	switch {
	case msg.err == nil:
		if msg.op == opPrepare {
			m.setStatus("scene "+itoa(msg.scene+1)+" is reset", false)
		}
	case errors.Is(msg.err, scenes.ErrCheckFailed):
		m.setStatus("a check failed: see its evidence", true)
	case m.ctx.Err() != nil:
	default:
		m.setStatus(msg.err.Error(), true)
		if m.failure == nil || m.failure.scene != msg.scene {
			m.failure = &failure{scene: msg.scene, step: msg.step, err: msg.err.Error()}
			m.dismissed = false
		}
	}
	if m.autoplay && msg.op == opScene {
		next := msg.scene + 1
		return tea.Tick(m.opts.Pace, func(time.Time) tea.Msg { return autoplayMsg{scene: next} })
	}
	return nil
}

// refreshCmd reads the live panels off the screen's goroutine.
func (m *Model) refreshCmd() tea.Cmd {
	r, want := m.refr, m.want()
	return func() tea.Msg { return snapshotMsg{r.read(want)} }
}

// want says how much the current panel can show.
func (m *Model) want() snapshotWant {
	g := m.geometry()
	w := snapshotWant{panel: m.currentPanel(), dataOnly: m.dataOnly}
	if p := m.panelOf(w.panel); p.read != nil {
		p.read(&w, g.panelH)
	}
	return w
}

// currentPanel is the live panel on screen.
func (m *Model) currentPanel() scenes.Panel {
	if m.panel != "" {
		return m.panel
	}
	if len(m.engine.Scenes) == 0 {
		return scenes.PanelTopology
	}
	p := m.engine.Scenes[m.cur].Panel
	if p == "" {
		p = scenes.PanelTopology
	}
	return p
}
