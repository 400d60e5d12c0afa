package sshlab

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/infra/ssh/remote"
)

// proc is a process a host's supervisor runs. Its output arrives line by
// line over SSH, into a ring and a log file on this machine.
type proc struct {
	host *Host
	spec infra.ProcSpec
	id   uint64 // the start request's ID: how the supervisor names it
	pid  int

	logPath string
	log     *os.File // nil once the process has exited

	done chan struct{}
	err  error // set before done is closed
	once sync.Once

	lines infra.Lines
	mu    sync.Mutex // guards log
}

var _ infra.Proc = (*proc)(nil)

func (p *proc) Name() string          { return p.spec.Name }
func (p *proc) PID() int              { return p.pid }
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
	p.mu.Lock()
	if p.log != nil {
		_, _ = p.log.WriteString(line + "\n")
	}
	p.mu.Unlock()
	if p.spec.OnLine != nil {
		p.spec.OnLine(line)
	}
}

// exit records how the process ended; only the first word counts.
func (p *proc) exit(err error) {
	p.once.Do(func() {
		p.mu.Lock()
		if p.log != nil {
			_ = p.log.Close()
			p.log = nil
		}
		p.mu.Unlock()
		p.err = err
		close(p.done)
	})
}

func (p *proc) signal(ctx context.Context, sig syscall.Signal) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	_, err := p.host.sup().call(ctx, remote.Request{Op: remote.OpSignal, Proc: p.id, Signal: int(sig)}, nil)
	return err
}

// Stop sends SIGTERM to the process group and SIGKILL after grace.
func (p *proc) Stop(ctx context.Context, grace time.Duration) error {
	if err := p.signal(ctx, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop %s on %s: %w", p.spec.Name, p.host.Name(), err)
	}
	_ = p.signal(ctx, infra.SigCont)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	return p.kill(ctx)
}

// kill ends the process group at once and waits for its exit.
func (p *proc) kill(ctx context.Context) error {
	_ = p.signal(ctx, syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop %s on %s: %w", p.spec.Name, p.host.Name(), ctx.Err())
	}
}
