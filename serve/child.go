//go:build linux

package serve

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/time/rate"

	"github.com/ztlab/zt-lab/infra/local"
	"github.com/ztlab/zt-lab/scenes"
)

// labSpec is how to start one attendee's lab.
type labSpec struct {
	self, consul  string // the zt-lab and consul binaries, runnable by uid
	dir           string // the attendee's directory, theirs, 0700
	uid           int    // -1: the server's own
	term          string
	width, height int
	noShell       bool
	cgroups       *Cgroups
	group         string // the lab's cgroup name
	subnet        netip.Prefix
	hide          []string // the server's files, hidden from the lab's view
}

// Lab is one attendee's lab: the guided zt-lab TUI as a child process on
// a pty of the server's, its screen kept in a terminal emulator (for the
// instructor, and to outlive a dropped connection), its progress read
// from the JSON lines it writes to a pipe.
type Lab struct {
	spec    labSpec
	cmd     *exec.Cmd
	ptm     *os.File // the pty's master side
	started time.Time

	mu       sync.Mutex
	out      io.Writer // the session on screen, nil when none is
	screen   *vt.Emulator
	width    int
	height   int
	progress Progress
	output   chan struct{} // closed and replaced at every output

	first    chan struct{} // closed at the first output: the first screen
	firstAt  time.Duration
	firstOne sync.Once
	ending   sync.Once
	done     chan struct{} // closed when the lab and everything of it is gone
	exit     error
}

// Progress is how far an attendee has come, from the lab's events.
type Progress struct {
	Scene   int    // the scene last started, from 1; 0 before any
	Reached int    // the furthest scene started
	Passed  int    // checks that passed, the latest result per check
	Failed  int    // checks that failed
	Running bool   // a step is running
	Err     string // the last step error
	checks  map[string]bool
}

// progressFile is the pipe in the attendee's directory the lab writes to.
const progressFile = "progress"

// startLab starts the lab on a new pty sized to the attendee's terminal.
func startLab(spec labSpec) (*Lab, error) {
	spec.width, spec.height = boundWindow(spec.width, spec.height)
	home := filepath.Join(spec.dir, "home")
	fifo := filepath.Join(spec.dir, progressFile)
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		return nil, fmt.Errorf("progress pipe: %w", err)
	}
	if spec.uid >= 0 {
		if err := os.Chown(fifo, spec.uid, spec.uid); err != nil {
			return nil, err
		}
	}
	// Read and write, so opening never waits and a lab that restarts its
	// writer never makes us see the end.
	prog, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("progress pipe: %w", err)
	}
	ptm, tty, err := pty.Open()
	if err != nil {
		prog.Close()
		return nil, fmt.Errorf("allocate a pty: %w", err)
	}
	_ = pty.Setsize(ptm, &pty.Winsize{Cols: uint16(spec.width), Rows: uint16(spec.height)})
	args := []string{"--progress", fifo, "--subnet", spec.subnet.String()}
	if spec.noShell {
		args = append(args, "--no-shell")
	}
	cmd := exec.Command(spec.self, args...)
	cmd.Dir = spec.dir
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/games",
		"TERM=" + spec.term, "LANG=C.UTF-8",
		"HOME=" + home, "USER=attendee",
		"ZTLAB_RUNTIME_DIR=" + filepath.Join(home, "run"),
		"ZTLAB_CONSUL=" + spec.consul,
		local.EnvPrivateView + "=" + strings.Join([]string{spec.dir, spec.self, spec.consul}, ":"),
	}
	if len(spec.hide) > 0 {
		cmd.Env = append(cmd.Env, local.EnvPrivateHide+"="+strings.Join(spec.hide, ":"))
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	// The lab is held until it is in its cgroups: it re-executes itself
	// into its sandbox at once, and whatever it forked before the move
	// would live outside its limits for good (cgroup v1 moves only the
	// process named, not its children).
	held, release, err := os.Pipe()
	if err != nil {
		ptm.Close()
		tty.Close()
		prog.Close()
		return nil, fmt.Errorf("hold the lab: %w", err)
	}
	defer release.Close()
	cmd.ExtraFiles = []*os.File{held}
	cmd.Env = append(cmd.Env, local.EnvHeld+"=3")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setsid: true, Setctty: true, Ctty: 0,
		// The lab dies with the server however the server dies; its
		// sandbox's lifeline then ends everything inside.
		Pdeathsig: syscall.SIGKILL,
	}
	if spec.uid >= 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(spec.uid), Gid: uint32(spec.uid), Groups: []uint32{}}
	}
	l := &Lab{
		spec: spec, cmd: cmd, ptm: ptm, started: time.Now(),
		screen: vt.NewEmulator(spec.width, spec.height), width: spec.width, height: spec.height,
		output: make(chan struct{}), first: make(chan struct{}), done: make(chan struct{}),
	}
	l.progress.checks = map[string]bool{}
	// What scrolls off the screen is not kept: the instructor sees the
	// screen, a reconnect redraws it, and the emulator's default of 10,000
	// lines of scrollback cost the server 888 MB of one lab's output, out
	// of the lab's own memory limit. One line is the least it keeps.
	l.screen.SetScrollbackSize(1)
	// Pdeathsig belongs to the thread that started the child
	// (golang/go#27505): that thread stays locked until the child ends.
	started := make(chan error, 1)
	exited := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		exited <- cmd.Wait()
	}()
	err = <-started
	tty.Close()
	held.Close()
	if err != nil {
		ptm.Close()
		prog.Close()
		return nil, fmt.Errorf("start the lab: %w", err)
	}
	uncgroup := func() {}
	var limitErr error
	if spec.cgroups != nil {
		uncgroup, limitErr = spec.cgroups.Place(spec.group, cmd.Process.Pid)
	}
	if limitErr == nil {
		_, limitErr = release.Write([]byte{1})
	}
	if limitErr != nil {
		_ = cmd.Process.Kill()
		<-exited
		ptm.Close()
		prog.Close()
		return nil, fmt.Errorf("limit the lab: %w", limitErr)
	}
	go func() {
		// The emulator answers the TUI's terminal queries; the attendee's
		// own terminal answers them too, so these answers are dropped.
		_, _ = io.Copy(io.Discard, l.screen)
	}()
	pumped := make(chan struct{})
	go func() {
		defer close(pumped)
		l.pump()
	}()
	go l.readProgress(newRateReader(prog, progressRate, progressRate))
	go func() {
		err := <-exited
		<-pumped
		l.killLeftovers()
		uncgroup()
		prog.Close()
		ptm.Close()
		_ = os.RemoveAll(spec.dir)
		l.mu.Lock()
		l.exit = err
		l.mu.Unlock()
		_ = l.screen.Close()
		close(l.done)
	}()
	return l, nil
}

// A lab's output is read at most at outputRate bytes a second, after a
// burst of outputBurst: the server keeps every byte in its emulator of the
// lab's screen (some 0.6 µs of cpu a byte) and sends it on, its own cpu,
// out of every lab's cpu limit; a lab printing as fast as it could took
// 72% of one of the server's cores, now 16%. What a lab prints beyond it
// waits in its pty, and the lab's printing with it. A screen of the TUI
// is some 10-50 KB.
const (
	outputRate  = 256 << 10
	outputBurst = 256 << 10
)

// pump copies the lab's output to its screen and the attendee's.
func (l *Lab) pump() {
	buf := make([]byte, 32*1024)
	r := newRateReader(l.ptm, outputRate, outputBurst)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			l.firstOne.Do(func() {
				l.firstAt = time.Since(l.started)
				close(l.first)
			})
			l.mu.Lock()
			_, _ = l.screen.Write(buf[:n])
			out := l.out
			close(l.output)
			l.output = make(chan struct{})
			l.mu.Unlock()
			if out != nil {
				_, _ = out.Write(buf[:n])
			}
		}
		if err != nil {
			return // EIO: every process that held the pty is gone
		}
	}
}

// progressRate is how many bytes a second of a lab's progress the server
// reads at most, after a burst as large: the lab's uid writes the pipe,
// and every line is the server's cpu to decode, out of every lab's cpu
// limit (a lab writing events as fast as it could took 107% of a server
// core). The lab's own events are a few hundred bytes a step.
const progressRate = 64 << 10

// rateReader reads from r at rate bytes a second at most, after a burst
// of burst bytes: after each read it waits until the bytes are paid for.
type rateReader struct {
	r   io.Reader
	lim *rate.Limiter
}

func newRateReader(r io.Reader, bytesPerSecond, burst int) *rateReader {
	return &rateReader{r: r, lim: rate.NewLimiter(rate.Limit(bytesPerSecond), burst)}
}

func (rr *rateReader) Read(p []byte) (int, error) {
	if len(p) > rr.lim.Burst() {
		p = p[:rr.lim.Burst()]
	}
	n, err := rr.r.Read(p)
	if n > 0 {
		time.Sleep(rr.lim.ReserveN(time.Now(), n).Delay())
	}
	return n, err
}

// readProgress reads the lab's events, one JSON line each.
func (l *Lab) readProgress(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		var ev scenes.Event
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue // the lab's own uid writes this pipe: trust nothing
		}
		l.mu.Lock()
		l.progress.apply(ev)
		l.mu.Unlock()
	}
}

// What the server keeps of a lab's events is bounded: the lab's uid
// writes the pipe, and what the server keeps, every lab's memory shares.
// The walkthrough has far fewer checks, with far shorter names.
const (
	maxChecks    = 512
	maxCheckName = 200
	maxErr       = 200
)

func (p *Progress) apply(ev scenes.Event) {
	switch ev.Kind {
	case scenes.SceneStarted:
		p.Scene = ev.Scene + 1
		p.Reached = max(p.Reached, p.Scene)
	case scenes.StepStarted:
		p.Running = true
		p.Err = ""
	case scenes.StepDone, scenes.SceneDone:
		p.Running = false
		if ev.Err != "" {
			p.Err = clip(ev.Err, maxErr)
		}
	case scenes.CheckDone:
		if ev.Check == nil {
			return
		}
		key := fmt.Sprintf("%d/%d/%s", ev.Scene, ev.Step, clip(ev.Check.Name, maxCheckName))
		if _, known := p.checks[key]; !known && len(p.checks) >= maxChecks {
			return
		}
		p.checks[key] = ev.Check.Pass
		p.Passed, p.Failed = 0, 0
		for _, ok := range p.checks {
			if ok {
				p.Passed++
			} else {
				p.Failed++
			}
		}
	}
}

// Progress returns how far the attendee has come.
func (l *Lab) Progress() Progress {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.progress
	p.checks = nil
	return p
}

// First is closed at the lab's first screen.
func (l *Lab) First() <-chan struct{} { return l.first }

// FirstScreen is how long the first screen took from the start.
func (l *Lab) FirstScreen() time.Duration {
	<-l.first
	return l.firstAt
}

// Done is closed when the lab and everything of it is gone.
func (l *Lab) Done() <-chan struct{} { return l.done }

// Subnet is the lab's address range.
func (l *Lab) Subnet() netip.Prefix { return l.spec.subnet }

// Pid is the lab's process.
func (l *Lab) Pid() int { return l.cmd.Process.Pid }

// Attach puts w on the lab's screen (the previous one is replaced) and
// returns a func that takes it off again.
func (l *Lab) Attach(w io.Writer) (detach func()) {
	l.mu.Lock()
	l.out = w
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		if l.out == w {
			l.out = nil
		}
		l.mu.Unlock()
	}
}

// Input is what the attendee types.
func (l *Lab) Input(p []byte) error {
	_, err := l.ptm.Write(p)
	return err
}

// Resize follows the attendee's window.
func (l *Lab) Resize(width, height int) {
	if width <= 0 || height <= 0 {
		return
	}
	width, height = boundWindow(width, height)
	l.mu.Lock()
	l.width, l.height = width, height
	l.screen.Resize(width, height)
	l.mu.Unlock()
	_ = pty.Setsize(l.ptm, &pty.Winsize{Cols: uint16(width), Rows: uint16(height)})
}

// Redraw makes the TUI paint its whole screen again, for a terminal that
// has just come back: a resize by one row and back, each one answered
// with a paint before the next.
func (l *Lab) Redraw(width, height int) {
	for _, h := range []int{height - 1, height} {
		l.mu.Lock()
		painted := l.output
		l.mu.Unlock()
		l.Resize(width, max(1, h))
		select {
		case <-painted:
		case <-l.done:
			return
		case <-time.After(time.Second):
		}
	}
}

// Screen is the text the lab's screen shows now.
func (l *Lab) Screen() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.screen.String()
}

// End ends the lab: SIGTERM, so it tears itself down; then SIGHUP to its
// whole process group, as a closed terminal would, which also ends a shell
// the TUI waits for; then SIGKILL.
// The sandbox's PID namespace takes every process of it along. It
// returns once everything of the lab is gone.
func (l *Lab) End() {
	l.ending.Do(func() {
		_ = l.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-l.done:
			return
		case <-time.After(3 * time.Second):
		}
		_ = syscall.Kill(-l.cmd.Process.Pid, syscall.SIGHUP) // its own group: it leads its session
		select {
		case <-l.done:
		case <-time.After(7 * time.Second):
			_ = l.cmd.Process.Kill()
		}
	})
	<-l.done
}

// Err is how the lab ended, once Done.
func (l *Lab) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.exit
}

// killLeftovers ends any process still running as the lab's uid: the
// uid is the lab's alone, so whatever has it is the lab's.
func (l *Lab) killLeftovers() {
	if l.spec.uid < 0 {
		return
	}
	for range 50 {
		pids := pidsOfUID(l.spec.uid)
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pidsOfUID lists the processes whose real uid is uid.
func pidsOfUID(uid int) []int { return pidsOfUIDs(uid, uid+1) }

// pidsOfUIDs lists the processes whose real uid is in [from, to).
func pidsOfUIDs(from, to int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
				if uid, err := strconv.Atoi(f[1]); err == nil && uid >= from && uid < to {
					pids = append(pids, pid)
				}
				break
			}
		}
	}
	return pids
}

// errLabEnded says the attendee's lab is no more.
var errLabEnded = errors.New("lab ended")
