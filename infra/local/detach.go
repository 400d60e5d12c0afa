//go:build linux

package local

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
)

// ReadyLine is the line a holding lab prints once it is ready: Detach
// waits for it.
const ReadyLine = "zt-lab: ready"

// envDetached marks the child Detach starts: it holds the lab in the
// foreground of its own session.
const envDetached = "ZTLAB_DETACHED"

// Detached reports whether this process is the background half of
// `up --detach`.
func Detached() bool { return os.Getenv(envDetached) != "" }

// Detach runs this program again with args in a session of its own and
// returns the running lab's state once the child printed ReadyLine. If the
// child ends first, the lines it printed as errors ("zt-lab: ...") go to
// stderr and the error is the child's *exec.ExitError, or one holding
// everything it printed.
func Detach(args []string, stderr io.Writer) (State, error) {
	self, err := os.Executable()
	if err != nil {
		return State{}, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return State{}, err
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), envDetached+"=1")
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return State{}, err
	}
	pw.Close()
	var lines []string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		if line == ReadyLine {
			pr.Close()
			return FindLab()
		}
		lines = append(lines, line)
	}
	pr.Close()
	err = cmd.Wait()
	// The lab printed its own error; show it as ours.
	for _, l := range lines {
		if strings.HasPrefix(l, "zt-lab: ") {
			fmt.Fprintln(stderr, l)
		}
	}
	if _, ok := err.(*exec.ExitError); ok {
		return State{}, err
	}
	return State{}, fmt.Errorf("the lab did not start: %s", strings.Join(lines, " | "))
}

// envPanicOnUSR1 makes a held lab panic on SIGUSR1: the leak tests prove
// that a panicking lab leaves nothing behind.
const envPanicOnUSR1 = "ZTLAB_TEST_PANIC_ON_USR1"

// Holding is a lab being held up in the foreground, as `zt-lab up` does. It
// catches SIGINT, SIGTERM and SIGHUP from the moment it is made, so that one
// which arrives while the lab is still being built ends the lab as soon as
// it is up rather than killing the process.
type Holding struct{ sigs chan os.Signal }

// Hold starts catching the signals that end a held lab; Stop ends that.
func Hold() *Holding {
	h := &Holding{sigs: make(chan os.Signal, 4)}
	signal.Notify(h.sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	return h
}

// Stop stops catching signals.
func (h *Holding) Stop() { signal.Stop(h.sigs) }

// Wait returns on a caught signal, a `zt-lab down` from another terminal,
// or the end of ctx; it does not close the lab. Call it once the lab has
// printed ReadyLine: the lab of `up --detach` then points its output at
// up.log in the lab's directory, for whoever waited for it to start has
// gone.
func (h *Holding) Wait(ctx context.Context, l *Lab) {
	panics := make(chan os.Signal, 1)
	if os.Getenv(envPanicOnUSR1) != "" {
		signal.Notify(panics, syscall.SIGUSR1)
		defer signal.Stop(panics)
	}
	if Detached() {
		quietAfterReady(l.Dir())
	}
	select {
	case <-panics:
		panic("SIGUSR1 with " + envPanicOnUSR1 + " set")
	case <-h.sigs:
	case <-l.DownRequested():
	case <-ctx.Done():
	}
}

// quietAfterReady points this process's stdout and stderr at dir/up.log.
func quietAfterReady(dir string) {
	f, err := os.OpenFile(dir+"/up.log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	_ = syscall.Dup3(int(f.Fd()), 1, 0)
	_ = syscall.Dup3(int(f.Fd()), 2, 0)
	f.Close()
}
