//go:build linux

package local

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/ztlab/zt-lab/infra"
)

// The control socket lets other terminals use a running lab: they cannot
// join the sandbox's namespaces from a multi-threaded Go process, so the
// lab starts their commands for them. A request is one JSON line, sent
// with the client's stdin, stdout and stderr as SCM_RIGHTS; replies are
// JSON lines. For a terminal, the lab opens a pty and sends its master back.

type request struct {
	Op   string   `json:"op"` // status, exec, fail, recover, down
	Host string   `json:"host,omitempty"`
	Argv []string `json:"argv,omitempty"`
	Env  []string `json:"env,omitempty"`
	TTY  bool     `json:"tty,omitempty"`
	Rows uint16   `json:"rows,omitempty"`
	Cols uint16   `json:"cols,omitempty"`
	Mode string   `json:"mode,omitempty"`
	// Args are a stream handler's own arguments.
	Args json.RawMessage `json:"args,omitempty"`
}

type reply struct {
	Error   string  `json:"error,omitempty"`
	Usage   bool    `json:"usage,omitempty"` // the user can fix the request
	Status  *Status `json:"status,omitempty"`
	Started bool    `json:"started,omitempty"`
	PTY     bool    `json:"pty,omitempty"`
	Exit    *int    `json:"exit,omitempty"`
}

// signalMsg is what a client sends while its command runs.
type signalMsg struct {
	Signal int `json:"signal"`
}

// Status describes the lab now.
func (l *Lab) Status() Status {
	st := Status{ID: l.id, Started: l.started, Subnet: l.topo.Subnet, Wire: WireName, WireIP: l.topo.WireAddr(), Dir: l.dir}
	for _, h := range l.Hosts() {
		hs := HostStatus{Name: h.Name(), Role: h.Role(), Addr: h.Addr(), State: h.State()}
		for _, p := range h.Procs() {
			hs.Procs = append(hs.Procs, ProcStatus{Name: p.Name(), PID: p.PID(), Log: p.LogPath()})
		}
		st.Hosts = append(st.Hosts, hs)
	}
	return st
}

// DownRequested is closed when a client asks the lab to end.
func (l *Lab) DownRequested() <-chan struct{} { return l.ctl.down }

type controlServer struct {
	lab  *Lab
	path string
	ln   *net.UnixListener
	down chan struct{}
	once sync.Once
	wg   sync.WaitGroup

	mu       sync.Mutex
	handlers map[string]StreamHandler
}

// StreamHandler serves a request that streams text back (`zt-lab sniff`):
// it writes to w until ctx ends, which happens when the client stops
// listening, or until it is done.
type StreamHandler func(ctx context.Context, args json.RawMessage, w io.Writer) error

// HandleStream adds a streaming request to the lab's control socket. It
// keeps the local provider free of what the streams are about.
func (l *Lab) HandleStream(op string, h StreamHandler) {
	l.ctl.mu.Lock()
	defer l.ctl.mu.Unlock()
	if l.ctl.handlers == nil {
		l.ctl.handlers = map[string]StreamHandler{}
	}
	l.ctl.handlers[op] = h
}

func serveControl(l *Lab) (*controlServer, error) {
	path := filepath.Join(l.dir, "ctl.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on control socket: %w", err)
	}
	// Only the user may connect; handle checks each peer all the same.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	s := &controlServer{lab: l, path: path, ln: ln, down: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			go s.handle(c)
		}
	}()
	return s, nil
}

func (s *controlServer) close() {
	_ = s.ln.Close()
	s.wg.Wait()
}

func (s *controlServer) handle(c *net.UnixConn) {
	defer c.Close()
	// A stranger is refused before anything it sent is read: not its
	// request, nor the files it passed.
	if err := checkPeer(c, "client"); err != nil {
		_ = json.NewEncoder(c).Encode(reply{Error: err.Error(), Usage: true})
		return
	}
	buf := make([]byte, 64*1024)
	oob := make([]byte, unix.CmsgSpace(3*4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return
	}
	files := parseFiles(oob[:oobn])
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	line, rest, _ := bytes.Cut(buf[:n], []byte("\n"))
	var req request
	enc := json.NewEncoder(c)
	if err := json.Unmarshal(line, &req); err != nil {
		_ = enc.Encode(reply{Error: "bad request: " + err.Error()})
		return
	}
	in := io.MultiReader(bytes.NewReader(rest), c)
	switch req.Op {
	case "status":
		st := s.lab.Status()
		_ = enc.Encode(reply{Status: &st})
	case "down":
		_ = enc.Encode(reply{})
		s.once.Do(func() { close(s.down) })
	case "fail", "recover":
		h := s.lab.host(req.Host)
		if h == nil {
			_ = enc.Encode(reply{Error: s.lab.unknown(req.Host).Error(), Usage: true})
			return
		}
		var err error
		if req.Op == "fail" {
			var mode infra.FailMode
			if mode, err = infra.ParseFailMode(req.Mode); err == nil {
				err = h.Fail(context.Background(), mode)
			}
		} else {
			err = h.Recover(context.Background())
		}
		if err != nil {
			_ = enc.Encode(reply{Error: err.Error(), Usage: true})
			return
		}
		_ = enc.Encode(reply{})
	case "exec":
		s.exec(c, enc, in, req, files)
	default:
		s.mu.Lock()
		h := s.handlers[req.Op]
		s.mu.Unlock()
		if h == nil {
			_ = enc.Encode(reply{Error: "this lab does not serve " + req.Op, Usage: true})
			return
		}
		s.stream(c, enc, in, req, h)
	}
}

// stream runs a handler until the client half-closes or goes away.
func (s *controlServer) stream(c *net.UnixConn, enc *json.Encoder, in io.Reader, req request, h StreamHandler) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, in)
		cancel()
	}()
	_ = enc.Encode(reply{Started: true})
	if err := h(ctx, req.Args, c); err != nil {
		fmt.Fprintf(c, "zt-lab: %v\n", err)
	}
}

func parseFiles(oob []byte) []*os.File {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var files []*os.File
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), fmt.Sprintf("fd%d", fd)))
		}
	}
	return files
}

// exec starts a client's command on a host, on the client's own stdio or
// on a new pty, and reports its exit status. If the client goes away
// first, the command's process group is killed.
func (s *controlServer) exec(c *net.UnixConn, enc *json.Encoder, in io.Reader, req request, files []*os.File) {
	h := s.lab.host(req.Host)
	if h == nil {
		_ = enc.Encode(reply{Error: s.lab.unknown(req.Host).Error(), Usage: true})
		return
	}
	if len(req.Argv) == 0 {
		_ = enc.Encode(reply{Error: "no command given", Usage: true})
		return
	}
	if _, err := exec.LookPath(req.Argv[0]); err != nil {
		_ = enc.Encode(reply{Error: fmt.Sprintf("%s: command not found on %s", req.Argv[0], req.Host), Usage: true})
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := h.Command(ctx, req.Argv...)
	if tf := filepath.Join(h.dir, infra.LearnerTokenFile); fileExists(tf) {
		cmd.Env = append(cmd.Env, "CONSUL_HTTP_TOKEN_FILE="+tf) // the learners' read-only token
	}
	cmd.Env = append(cmd.Env, req.Env...)
	var master *os.File
	if req.TTY {
		m, slave, err := pty.Open()
		if err != nil {
			_ = enc.Encode(reply{Error: "open a terminal: " + err.Error()})
			return
		}
		master = m
		defer master.Close()
		defer slave.Close()
		if req.Rows > 0 && req.Cols > 0 {
			_ = pty.Setsize(master, &pty.Winsize{Rows: req.Rows, Cols: req.Cols})
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	} else {
		if len(files) != 3 {
			_ = enc.Encode(reply{Error: "exec needs the client's stdin, stdout and stderr"})
			return
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = files[0], files[1], files[2]
	}
	if err := h.StartCommand(cmd); err != nil {
		_ = enc.Encode(reply{Error: err.Error(), Usage: true})
		return
	}
	for _, f := range files {
		f.Close()
	}
	if master != nil {
		b, _ := json.Marshal(reply{Started: true, PTY: true})
		if _, _, err := c.WriteMsgUnix(append(b, '\n'), unix.UnixRights(int(master.Fd())), nil); err != nil {
			cancel()
		}
		master.Close()
	} else {
		_ = enc.Encode(reply{Started: true})
	}
	go func() {
		dec := json.NewDecoder(in)
		for {
			var m signalMsg
			if err := dec.Decode(&m); err != nil {
				cancel() // the client is gone: so is its command
				return
			}
			if m.Signal > 0 {
				_ = unix.Kill(-cmd.Process.Pid, unix.Signal(m.Signal))
			}
		}
	}()
	err := cmd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(unix.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	} else if err != nil {
		code = 1
	}
	_ = enc.Encode(reply{Exit: &code})
}

// outerUID is this process's uid as the machine's first user namespace
// sees it: in the sandbox every user is uid 0, which says nothing.
func outerUID() int {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return os.Getuid()
	}
	for _, line := range strings.Split(string(b), "\n") {
		var in, out, n int
		if _, err := fmt.Sscan(line, &in, &out, &n); err == nil && in <= os.Getuid() && os.Getuid() < in+n {
			return out + os.Getuid() - in
		}
	}
	return os.Getuid()
}

// checkPeer refuses the other end of c unless it runs as this process's
// user or as root (infra.PeerUID says how the kernel tells).
func checkPeer(c *net.UnixConn, side string) error {
	uid, err := infra.PeerUID(c)
	if err != nil {
		return fmt.Errorf("who is at the other end of the control socket: %w", err)
	}
	if uid != uint32(os.Getuid()) && uid != 0 {
		return PeerError{Side: side, UID: uid}
	}
	return nil
}

// Client talks to a running lab through its control socket.
type Client struct{ st State }

// Dial returns a client for the lab st describes.
func Dial(st State) *Client { return &Client{st: st} }

func (c *Client) dial(ctx context.Context) (*net.UnixConn, error) {
	if err := checkSocket(c.st.Socket); err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.st.Socket)
	if err != nil {
		return nil, fmt.Errorf("reach the lab (%s): %w", c.st.Socket, err)
	}
	uc := conn.(*net.UnixConn)
	// The socket's file could change between the check and the dial; the
	// listener's credentials cannot.
	if err := checkPeer(uc, "lab"); err != nil {
		uc.Close()
		return nil, err
	}
	return uc, nil
}

// roundTrip sends req (with files, if any) and returns the connection and
// a reader of replies positioned after the first one.
func (c *Client) send(ctx context.Context, req request, files ...*os.File) (*net.UnixConn, *bufio.Reader, reply, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, nil, reply{}, err
	}
	b, _ := json.Marshal(req)
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = unix.UnixRights(fds...)
	}
	if _, _, err := conn.WriteMsgUnix(append(b, '\n'), oob, nil); err != nil {
		conn.Close()
		return nil, nil, reply{}, fmt.Errorf("send to the lab: %w", err)
	}
	r := bufio.NewReader(conn)
	rep, err := readReply(r)
	if err != nil {
		conn.Close()
		return nil, nil, reply{}, err
	}
	if rep.Error != "" {
		conn.Close()
		return nil, nil, rep, RemoteError{rep.Error, rep.Usage}
	}
	return conn, r, rep, nil
}

func readReply(r *bufio.Reader) (reply, error) {
	var rep reply
	line, err := r.ReadBytes('\n')
	if err != nil {
		return rep, fmt.Errorf("read from the lab: %w", err)
	}
	if err := json.Unmarshal(line, &rep); err != nil {
		return rep, fmt.Errorf("read from the lab: %w", err)
	}
	return rep, nil
}

func (c *Client) simple(ctx context.Context, req request) (reply, error) {
	conn, _, rep, err := c.send(ctx, req)
	if err != nil {
		return rep, err
	}
	conn.Close()
	return rep, nil
}

// Status asks the lab for its status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	rep, err := c.simple(ctx, request{Op: "status"})
	if err != nil {
		return Status{}, err
	}
	if rep.Status == nil {
		return Status{}, errors.New("the lab sent no status")
	}
	return *rep.Status, nil
}

// Fail injects a failure on a host.
func (c *Client) Fail(ctx context.Context, host string, mode infra.FailMode) error {
	_, err := c.simple(ctx, request{Op: "fail", Host: host, Mode: string(mode)})
	return err
}

// Recover undoes a host's failure.
func (c *Client) Recover(ctx context.Context, host string) error {
	_, err := c.simple(ctx, request{Op: "recover", Host: host})
	return err
}

// Down asks the lab to end and waits until it has.
func (c *Client) Down(ctx context.Context) error {
	if _, err := c.simple(ctx, request{Op: "down"}); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	if d, ok := ctx.Deadline(); ok {
		deadline = d
	}
	return WaitGone(deadline)
}

// Stream sends a streaming request and copies what comes back to w until
// the lab ends it. When ctx ends, the client stops listening and still
// reads the lab's last words (a line of counters).
func (c *Client) Stream(ctx context.Context, op string, args any, w io.Writer) error {
	raw, err := json.Marshal(args)
	if err != nil {
		return err
	}
	conn, r, _, err := c.send(ctx, request{Op: op, Args: raw})
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.CloseWrite() })
	defer stop()
	_, err = io.Copy(w, r)
	return err
}

// Exec runs argv on a host with the given stdio and returns its exit
// code. Signals received on sigs are passed to the command.
func (c *Client) Exec(ctx context.Context, host string, argv []string, stdin, stdout, stderr *os.File, sigs <-chan os.Signal) (int, error) {
	conn, r, _, err := c.send(ctx, request{Op: "exec", Host: host, Argv: argv}, stdin, stdout, stderr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	return waitExit(conn, r, sigs)
}

func waitExit(conn *net.UnixConn, r *bufio.Reader, sigs <-chan os.Signal) (int, error) {
	done := make(chan struct{})
	defer close(done)
	go func() {
		enc := json.NewEncoder(conn)
		for {
			select {
			case s := <-sigs:
				if us, ok := s.(unix.Signal); ok {
					_ = enc.Encode(signalMsg{Signal: int(us)})
				}
			case <-done:
				return
			}
		}
	}()
	rep, err := readReply(r)
	if err != nil {
		return 0, err
	}
	if rep.Exit == nil {
		return 0, errors.New("the lab sent no exit status")
	}
	return *rep.Exit, nil
}

// Shell runs argv on a host in a new terminal and returns the terminal's
// master end; the caller copies between it and its own terminal, then
// calls wait for the exit code.
func (c *Client) Shell(ctx context.Context, host string, argv, env []string, rows, cols uint16) (master *os.File, wait func() (int, error), err error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	b, _ := json.Marshal(request{Op: "exec", Host: host, Argv: argv, Env: env, TTY: true, Rows: rows, Cols: cols})
	if _, err := conn.Write(append(b, '\n')); err != nil {
		conn.Close()
		return nil, nil, err
	}
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("read from the lab: %w", err)
	}
	line, rest, _ := bytes.Cut(buf[:n], []byte("\n"))
	var rep reply
	if err := json.Unmarshal(line, &rep); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("read from the lab: %w", err)
	}
	if rep.Error != "" {
		conn.Close()
		return nil, nil, RemoteError{rep.Error, rep.Usage}
	}
	files := parseFiles(oob[:oobn])
	if len(files) != 1 {
		conn.Close()
		return nil, nil, errors.New("the lab sent no terminal")
	}
	r := bufio.NewReader(io.MultiReader(bytes.NewReader(rest), conn))
	wait = func() (int, error) {
		defer conn.Close()
		return waitExit(conn, r, nil)
	}
	return files[0], wait, nil
}

// PeerError is a process at the other end of the control socket that runs
// as another user: only the lab's own user and root may use a lab.
type PeerError struct {
	Side string // "client" or "lab"
	UID  uint32 // as this process's user namespace sees it
}

func (e PeerError) Error() string {
	if e.Side == "lab" {
		return fmt.Sprintf("refusing the lab's control socket: it is served by uid %d, not by you (uid %d); end that lab as its user, or remove its runtime directory", e.UID, os.Getuid())
	}
	return fmt.Sprintf("refused: this lab belongs to uid %d and a %s of another user (uid %d here) may not use it; run zt-lab as the lab's user", outerUID(), e.Side, e.UID)
}
