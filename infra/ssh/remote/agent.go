//go:build linux

package remote

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Config says where the supervisor keeps its files and which lab it serves.
type Config struct {
	Host   string // the host's name in the lab
	Dir    string // the host's own directory, removed on exit
	Root   string // the lab's directory on this machine; removed once no host uses it
	BinDir string // the lab's binaries, first on every process's PATH
	Table  string // the firewall table a partition uses
	// Silence is how long the supervisor waits for a word (a request or a
	// beat) from its controller before it ends; 0 means DefaultSilence.
	Silence time.Duration
}

// Serve runs the supervisor until r ends (the controller went away, or
// closed the session), r stays silent for cfg.Silence, or ctx ends; then it
// ends every process it started, heals a partition and removes its files.
func Serve(ctx context.Context, cfg Config, r io.Reader, w io.Writer) error {
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(PIDFile(cfg.Dir), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(w, Banner); err != nil {
		return err
	}
	s := &supervisor{cfg: cfg, codec: NewCodec(r, w), procs: map[uint64]*exec.Cmd{}, runs: map[uint64]context.CancelFunc{}}
	defer s.cleanup()
	if err := s.codec.Send(Message{Hello: &Hello{Host: cfg.Host, UID: os.Getuid(), PID: os.Getpid()}}); err != nil {
		return err
	}
	reqs := make(chan Request)
	readErr := make(chan error, 1)
	go func() {
		for {
			req, err := s.codec.ReadRequest()
			if err != nil {
				readErr <- err
				return
			}
			reqs <- req
		}
	}()
	silence := cfg.Silence
	if silence <= 0 {
		silence = DefaultSilence
	}
	quiet := time.NewTimer(silence)
	defer quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-quiet.C:
			return fmt.Errorf("no word from zt-lab for %v: the connection is gone, ending the lab on this host", silence)
		case err := <-readErr:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case req := <-reqs:
			quiet.Reset(silence)
			if req.Op == OpBeat {
				continue
			}
			// A run can be cancelled from the moment it is read: its
			// cancel is known before any later request is.
			ctx := context.Background()
			if req.Op == OpRun {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				s.mu.Lock()
				s.runs[req.ID] = cancel
				s.mu.Unlock()
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.handle(ctx, req)
			}()
		}
	}
}

// PIDFile is where the supervisor of a host directory records its pid,
// for a cleanup after the controller lost it.
func PIDFile(dir string) string { return filepath.Join(dir, "supervisor.pid") }

type supervisor struct {
	cfg   Config
	codec *Codec
	wg    sync.WaitGroup

	mu          sync.Mutex
	procs       map[uint64]*exec.Cmd // running, by start request ID
	runs        map[uint64]context.CancelFunc
	partitioned bool
	closing     bool
}

func (s *supervisor) reply(req Request, m Message, err error) {
	m.ID = req.ID
	if err != nil {
		m.Err = err.Error()
	}
	_ = s.codec.Send(m)
}

func (s *supervisor) handle(ctx context.Context, req Request) {
	switch req.Op {
	case OpStart:
		pid, err := s.start(req)
		s.reply(req, Message{PID: pid}, err)
	case OpRun:
		out, err := s.run(ctx, req)
		s.reply(req, Message{Out: out}, err)
	case OpCancel:
		s.mu.Lock()
		cancel := s.runs[req.Ref]
		s.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		s.reply(req, Message{}, nil)
	case OpWrite:
		path, err := s.write(req)
		s.reply(req, Message{Path: path}, err)
	case OpSignal:
		s.reply(req, Message{}, s.signal(req.Proc, syscall.Signal(req.Signal)))
	case OpPartition:
		s.reply(req, Message{}, s.partition(req.Peers))
	case OpHeal:
		s.reply(req, Message{}, s.heal())
	default:
		s.reply(req, Message{}, fmt.Errorf("unknown request %q: the controller is a newer zt-lab", req.Op))
	}
}

// env is every process's environment: the supervisor's own, the lab's
// binaries first on PATH, the host's name, and what the request adds.
func (s *supervisor) env(extra []string) []string {
	env := make([]string, 0, len(os.Environ())+len(extra)+2)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	env = append(env, "PATH="+s.cfg.BinDir+":"+path, "ZTLAB_HOST="+s.cfg.Host)
	return append(env, extra...)
}

// command prepares argv in its own process group, killed with the
// supervisor even if the supervisor is killed first.
func (s *supervisor) command(ctx context.Context, argv []string, env []string, dir string) (*exec.Cmd, error) {
	if len(argv) == 0 {
		return nil, errors.New("empty command")
	}
	name := argv[0]
	if !strings.Contains(name, "/") {
		if p := filepath.Join(s.cfg.BinDir, name); fileExists(p) {
			name = p
		}
	}
	cmd := exec.CommandContext(ctx, name, argv[1:]...)
	cmd.Env = s.env(env)
	cmd.Dir = dir
	if cmd.Dir == "" {
		cmd.Dir = s.cfg.Dir
	}
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true, Pdeathsig: unix.SIGKILL}
	cmd.Cancel = func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
	return cmd, nil
}

func (s *supervisor) start(req Request) (int, error) {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return 0, errors.New("the supervisor is ending")
	}
	cmd, err := s.command(context.Background(), req.Argv, req.Env, req.Dir)
	if err != nil {
		return 0, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return 0, fmt.Errorf("start %s: %w", req.Name, err)
	}
	pw.Close()
	s.mu.Lock()
	closing = s.closing
	if !closing {
		s.procs[req.ID] = cmd
	}
	s.mu.Unlock()
	go s.watch(req.ID, cmd, pr)
	if closing {
		// Cleanup has begun and will not see it: end it here.
		_ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
		return 0, errors.New("the supervisor is ending")
	}
	return cmd.Process.Pid, nil
}

// watch streams a process's output, line by line, then its exit. Every
// line is sent before the exit, so the controller's tail is whole.
func (s *supervisor) watch(id uint64, cmd *exec.Cmd, out *os.File) {
	// A line longer than the reader's buffer goes out in pieces, so a
	// process is never cut off for writing one.
	r := bufio.NewReaderSize(out, 64<<10)
	for {
		line, _, err := r.ReadLine()
		if err != nil {
			break
		}
		_ = s.codec.Send(Message{Proc: id, Line: string(line)})
	}
	out.Close()
	err := cmd.Wait()
	s.mu.Lock()
	delete(s.procs, id)
	s.mu.Unlock()
	m := Message{Proc: id, Exited: true}
	if err != nil {
		m.Err = err.Error()
	}
	_ = s.codec.Send(m)
}

func (s *supervisor) run(ctx context.Context, req Request) ([]byte, error) {
	defer func() {
		s.mu.Lock()
		delete(s.runs, req.ID)
		s.mu.Unlock()
	}()
	cmd, err := s.command(ctx, req.Argv, req.Env, req.Dir)
	if err != nil {
		return nil, err
	}
	out := &capped{max: MaxData}
	cmd.Stdout, cmd.Stderr = out, out
	// Output copying ends when the command does, even if a child it left
	// behind holds the pipe.
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	return out.Bytes(), err
}

// capped keeps the first max bytes of a command's output, and says so if
// there was more.
type capped struct {
	bytes.Buffer
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room < len(p) {
		c.Buffer.Write(p[:max(room, 0)])
		c.over = true
		return len(p), nil
	}
	return c.Buffer.Write(p)
}

func (c *capped) Bytes() []byte {
	if c.over {
		return append(c.Buffer.Bytes(), fmt.Sprintf("\n[zt-lab: output cut at %d MB]\n", c.max>>20)...)
	}
	return c.Buffer.Bytes()
}

// write puts a file under the host's directory; a path cannot leave it.
func (s *supervisor) write(req Request) (string, error) {
	path := filepath.Join(s.cfg.Dir, filepath.Clean("/"+req.Path))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, req.Data, os.FileMode(req.Perm)&os.ModePerm); err != nil {
		return "", err
	}
	return path, nil
}

func (s *supervisor) signal(id uint64, sig syscall.Signal) error {
	s.mu.Lock()
	cmd := s.procs[id]
	s.mu.Unlock()
	if cmd == nil {
		return nil // it has exited; its exit event is on its way
	}
	if err := unix.Kill(-cmd.Process.Pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	return nil
}

func (s *supervisor) partition(peers []string) error {
	addrs := make([]netip.Addr, 0, len(peers))
	for _, p := range peers {
		a, err := netip.ParseAddr(p)
		if err != nil {
			return fmt.Errorf("partition: peer %q: %w", p, err)
		}
		addrs = append(addrs, a)
	}
	if err := Partition(s.cfg.Table, addrs); err != nil {
		return err
	}
	s.mu.Lock()
	s.partitioned = true
	s.mu.Unlock()
	return nil
}

func (s *supervisor) heal() error {
	if err := Heal(s.cfg.Table); err != nil {
		return err
	}
	s.mu.Lock()
	s.partitioned = false
	s.mu.Unlock()
	return nil
}

// cleanup ends every process (thawing frozen ones so they can die), heals
// a partition and removes the host's files, then the lab's once no other
// host of it is left on this machine.
func (s *supervisor) cleanup() {
	s.mu.Lock()
	s.closing = true
	procs := make([]*exec.Cmd, 0, len(s.procs))
	for _, c := range s.procs {
		procs = append(procs, c)
	}
	for _, cancel := range s.runs {
		cancel()
	}
	partitioned := s.partitioned
	s.mu.Unlock()
	for _, c := range procs {
		_ = unix.Kill(-c.Process.Pid, unix.SIGKILL)
		_ = unix.Kill(-c.Process.Pid, unix.SIGCONT)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	if partitioned {
		_ = Heal(s.cfg.Table)
	}
	RemoveHostDir(s.cfg.Root, s.cfg.Dir)
}

// RemoveHostDir removes a host's directory, then the lab's directory if no
// other host's is left in it (several hosts of a lab may share a file
// system).
func RemoveHostDir(root, dir string) {
	_ = os.RemoveAll(dir)
	if root == "" {
		return
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Name() != "bin" {
			return
		}
	}
	_ = os.RemoveAll(root)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
