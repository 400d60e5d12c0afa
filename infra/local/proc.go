//go:build linux

package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ztlab/zt-lab/infra"
)

// proc is a process started on a host. It runs in its own process group so
// that a crash or a stop reaches everything it started.
type proc struct {
	spec    infra.ProcSpec
	cmd     *exec.Cmd
	logPath string

	done chan struct{}
	err  error // set before done is closed

	lines infra.Lines
}

var _ infra.Proc = (*proc)(nil)

func (p *proc) Name() string          { return p.spec.Name }
func (p *proc) PID() int              { return p.cmd.Process.Pid }
func (p *proc) LogPath() string       { return p.logPath }
func (p *proc) Done() <-chan struct{} { return p.done }

func (p *proc) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Tail returns up to n of the last lines, oldest first.
func (p *proc) Tail(n int) []string { return p.lines.Tail(n) }

func (p *proc) add(line string) {
	p.lines.Add(line)
	if p.spec.OnLine != nil {
		p.spec.OnLine(line)
	}
}

// signal sends sig to the process's whole group.
func (p *proc) signal(sig unix.Signal) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	err := unix.Kill(-p.cmd.Process.Pid, sig)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	return err
}

// Stop sends SIGTERM to the process group and SIGKILL after grace.
func (p *proc) Stop(ctx context.Context, grace time.Duration) error {
	if err := p.signal(unix.SIGTERM); err != nil {
		return fmt.Errorf("stop %s: %w", p.spec.Name, err)
	}
	// A frozen process cannot act on SIGTERM until it runs again.
	_ = p.signal(unix.SIGCONT)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	_ = p.signal(unix.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop %s: %w", p.spec.Name, ctx.Err())
	}
}

// kill ends the process group at once and waits for the leader.
func (p *proc) kill() {
	_ = p.signal(unix.SIGKILL)
	<-p.done
}

// startProc starts spec with start (which places it in a namespace),
// capturing its output to the ring and to a log file at logPath.
func startProc(spec infra.ProcSpec, logPath string, env []string, start func(*exec.Cmd) error) (*proc, error) {
	if len(spec.Argv) == 0 {
		return nil, errors.New("start process: empty command")
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log for %s: %w", spec.Name, err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	cmd := exec.Command(spec.Argv[0], spec.Argv[1:]...)
	cmd.Env = append(append([]string{}, env...), spec.Env...)
	cmd.Dir = spec.Dir
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true}
	p := &proc{spec: spec, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	err = start(cmd)
	w.Close()
	if err != nil {
		r.Close()
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		defer logf.Close()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			logf.WriteString(line + "\n")
			p.add(line)
		}
		r.Close()
	}()
	go func() {
		err := cmd.Wait()
		// Children that kept the pipe open (a daemon) must not hold
		// Done back forever.
		select {
		case <-copied:
		case <-time.After(100 * time.Millisecond):
		}
		p.err = err
		close(p.done)
	}()
	return p, nil
}
