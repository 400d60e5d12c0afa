package sshlab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ztlab/zt-lab/infra/ssh/remote"
)

// keepAlive is how often an idle connection is checked, so a host that
// went away is noticed within seconds, not at the next TCP timeout.
const keepAlive = 5 * time.Second

// hostKeyError is a host key the callback refused: trying again will not
// help, and may be an attack.
type hostKeyError struct{ err error }

func (e hostKeyError) Error() string { return e.err.Error() }
func (e hostKeyError) Unwrap() error { return e.err }

// dialPatiently dials t until it answers or wait has passed: a device that
// has just been built starts sshd, then gets its keys, some time after its
// API calls it active. A refused host key ends the wait at once.
func dialPatiently(ctx context.Context, t Target, hostKey ssh.HostKeyCallback, wait time.Duration, waiting func()) (*ssh.Client, error) {
	deadline := time.Now().Add(wait)
	said := false
	for {
		actx, cancel := context.WithTimeout(ctx, 15*time.Second)
		c, err := dial(actx, t, hostKey)
		cancel()
		var hk hostKeyError
		if err == nil || errors.As(err, &hk) || ctx.Err() != nil || time.Now().After(deadline) {
			return c, err
		}
		if !said {
			waiting()
			said = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// dial opens an SSH connection to t.
func dial(ctx context.Context, t Target, hostKey ssh.HostKeyCallback) (*ssh.Client, error) {
	var keyErr error
	checked := func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := hostKey(host, remote, key)
		keyErr = err
		return err
	}
	cfg, release, err := ClientConfig(t, checked)
	if err != nil {
		return nil, err
	}
	defer release()
	// ClientConfig asks the callback which key types it knows, with a probe
	// key it refuses: only what the host itself shows counts.
	keyErr = nil
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s (%s): %w", t.Name, t.Addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	c, chans, reqs, err := ssh.NewClientConn(nc, t.Addr, cfg)
	if err != nil {
		nc.Close()
		if keyErr != nil {
			return nil, hostKeyError{fmt.Errorf("%s: %w", t.Name, keyErr)}
		}
		return nil, fmt.Errorf("log in to %s as %s: %w", t.Name, t.User, err)
	}
	_ = nc.SetDeadline(time.Time{})
	client := ssh.NewClient(c, chans, reqs)
	go keepalive(client)
	return client, nil
}

func keepalive(c *ssh.Client) {
	t := time.NewTicker(keepAlive)
	defer t.Stop()
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			reply := make(chan error, 1)
			go func() {
				_, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
				reply <- err
			}()
			select {
			case err := <-reply:
				if err != nil {
					c.Close()
					return
				}
			case <-time.After(3 * keepAlive):
				c.Close()
				return
			}
		}
	}
}

// shellQuote quotes argv for a POSIX shell.
func shellQuote(argv ...string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,@+") == "" {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// asRoot is the command line for argv, through sudo when t logs in as a
// user who needs it.
func asRoot(t Target, argv ...string) string {
	if t.Sudo && t.User != "root" {
		return "sudo -n " + shellQuote(argv...)
	}
	return shellQuote(argv...)
}

// shell runs a shell script on the host (as root, through sudo when
// needed), with stdin, and returns its standard output. Its standard error
// is kept apart, for sudo may warn there ("unable to resolve host") on a
// host whose name does not resolve; a failure's error carries both.
func shell(ctx context.Context, c *ssh.Client, t Target, script string, stdin io.Reader) ([]byte, error) {
	s, err := c.NewSession()
	if err != nil {
		return nil, fmt.Errorf("%s: open session: %w", t.Name, err)
	}
	defer s.Close()
	out, errOut := limitedBuffer{max: 64 << 10}, limitedBuffer{max: 16 << 10}
	s.Stdout, s.Stderr, s.Stdin = &out, &errOut, stdin
	if err := s.Start(asRoot(t, "sh", "-c", script)); err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = s.Signal(ssh.SIGKILL)
		s.Close()
		return out.Bytes(), ctx.Err()
	}
	if err != nil {
		said := strings.TrimSpace(strings.TrimSpace(string(out.Bytes())) + "\n" + strings.TrimSpace(string(errOut.Bytes())))
		return out.Bytes(), fmt.Errorf("%s: %s: %w", t.Name, said, err)
	}
	return out.Bytes(), nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *limitedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf...)
}

// supervisor is the connection to a host's zt-lab supervisor: requests
// out, replies and process events in.
type supervisor struct {
	host    string
	session *ssh.Session
	stdin   io.WriteCloser
	codec   *remote.Codec
	hello   remote.Hello
	stderr  *limitedBuffer

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan remote.Message
	procs   map[uint64]*proc
	err     error // why the connection ended
	done    chan struct{}
}

// errGone is the error of a request to a supervisor whose connection ended.
var errGone = errors.New("connection lost")

// startSupervisor starts `zt-lab remote agent` on the host and waits for
// its banner and hello.
func startSupervisor(ctx context.Context, c *ssh.Client, t Target, argv []string) (*supervisor, error) {
	s, err := c.NewSession()
	if err != nil {
		return nil, fmt.Errorf("%s: open session: %w", t.Name, err)
	}
	stdin, err := s.StdinPipe()
	if err != nil {
		s.Close()
		return nil, err
	}
	stdout, err := s.StdoutPipe()
	if err != nil {
		s.Close()
		return nil, err
	}
	sup := &supervisor{host: t.Name, session: s, stdin: stdin, stderr: &limitedBuffer{max: 16 << 10},
		pending: map[uint64]chan remote.Message{}, procs: map[uint64]*proc{}, done: make(chan struct{})}
	s.Stderr = sup.stderr
	if err := s.Start(asRoot(t, argv...)); err != nil {
		s.Close()
		return nil, fmt.Errorf("%s: start the supervisor: %w", t.Name, err)
	}
	br := bufio.NewReaderSize(stdout, 64<<10)
	ready := make(chan error, 1)
	go func() { ready <- sup.handshake(br) }()
	select {
	case err = <-ready:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		s.Close()
		if tail := strings.TrimSpace(string(sup.stderr.Bytes())); tail != "" {
			err = fmt.Errorf("%w: %s", err, lastLine(tail))
		}
		return nil, fmt.Errorf("%s: the supervisor did not start: %w", t.Name, err)
	}
	go sup.read()
	go sup.beat()
	return sup, nil
}

// beat tells the supervisor every remote.BeatEvery that its controller is
// still there, until the connection ends.
func (s *supervisor) beat() {
	t := time.NewTicker(remote.BeatEvery)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			if err := s.codec.Send(remote.Request{Op: remote.OpBeat}); err != nil {
				return
			}
		}
	}
}

// handshake skips whatever a login shell printed up to the banner, then
// reads the hello.
func (s *supervisor) handshake(br *bufio.Reader) error {
	for i := 0; ; i++ {
		line, err := br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("no banner: %w", err)
		}
		if strings.TrimSpace(line) == remote.Banner {
			break
		}
		if i > 100 {
			return errors.New("no banner in the first 100 lines of output")
		}
	}
	s.codec = remote.NewCodec(br, s.stdin)
	m, err := s.codec.ReadMessage()
	if err != nil {
		return err
	}
	if m.Hello == nil {
		return errors.New("no hello")
	}
	s.hello = *m.Hello
	return nil
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// read dispatches the supervisor's messages until the connection ends.
func (s *supervisor) read() {
	var err error
	for {
		var m remote.Message
		if m, err = s.codec.ReadMessage(); err != nil {
			break
		}
		s.mu.Lock()
		if m.ID != 0 {
			if ch := s.pending[m.ID]; ch != nil {
				delete(s.pending, m.ID)
				ch <- m
			}
			s.mu.Unlock()
			continue
		}
		p := s.procs[m.Proc]
		if m.Exited {
			delete(s.procs, m.Proc)
		}
		s.mu.Unlock()
		if p == nil {
			continue
		}
		if m.Exited {
			p.exit(remoteErr(m.Err))
		} else {
			p.add(m.Line)
		}
	}
	if errors.Is(err, io.EOF) {
		err = errGone
	}
	if tail := strings.TrimSpace(string(s.stderr.Bytes())); tail != "" {
		err = fmt.Errorf("%w (the supervisor said: %s)", err, lastLine(tail))
	}
	s.mu.Lock()
	s.err = fmt.Errorf("%s: %w", s.host, err)
	procs := s.procs
	s.procs = map[uint64]*proc{}
	s.mu.Unlock()
	close(s.done)
	for _, p := range procs {
		p.exit(fmt.Errorf("%s: the supervisor's connection ended: %w", s.host, err))
	}
}

func remoteErr(s string) error {
	if s == "" {
		return nil
	}
	return errors.New(s)
}

// call sends req and waits for its reply. p, if set, is registered for
// the events of the process req starts, before any can arrive.
func (s *supervisor) call(ctx context.Context, req remote.Request, p *proc) (remote.Message, error) {
	ch := make(chan remote.Message, 1)
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return remote.Message{}, s.err
	}
	s.nextID++
	req.ID = s.nextID
	s.pending[req.ID] = ch
	if p != nil {
		p.id = req.ID
		s.procs[req.ID] = p
	}
	s.mu.Unlock()
	forget := func() {
		s.mu.Lock()
		delete(s.pending, req.ID)
		if p != nil {
			delete(s.procs, req.ID)
		}
		s.mu.Unlock()
	}
	if err := s.codec.Send(req); err != nil {
		forget()
		return remote.Message{}, fmt.Errorf("%s: send: %w", s.host, err)
	}
	select {
	case m := <-ch:
		if m.Err != "" {
			if p != nil {
				forget()
			}
			return m, errors.New(m.Err)
		}
		return m, nil
	case <-s.done:
		forget()
		return remote.Message{}, s.err
	case <-ctx.Done():
		if req.Op == remote.OpStart {
			// The supervisor answers a start at once; abandoning it would
			// leave a process running that nobody can stop.
			select {
			case m := <-ch:
				if m.Err != "" {
					forget()
					return m, errors.New(m.Err)
				}
				return m, nil
			case <-s.done:
				forget()
				return remote.Message{}, s.err
			}
		}
		forget()
		if req.Op == remote.OpRun {
			_ = s.codec.Send(remote.Request{Op: remote.OpCancel, Ref: req.ID})
		}
		return remote.Message{}, ctx.Err()
	}
}

// close ends the supervisor: closing its input makes it end every
// process and remove its files. It waits for that, up to timeout or ctx,
// and says so if the supervisor did not confirm it in time.
func (s *supervisor) close(ctx context.Context, timeout time.Duration) error {
	defer s.session.Close()
	s.stdin.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	waited := make(chan struct{})
	go func() {
		<-s.done
		_ = s.session.Wait()
		close(waited)
	}()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: the supervisor did not confirm its cleanup: %w", s.host, context.Cause(ctx))
	}
}
