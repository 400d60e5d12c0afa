package presenter

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/ztlab/zt-lab/infra"
)

// One mechanism for every provider: the screen itself serves the socket,
// in the user's runtime directory. The lab's control socket would not do:
// only the local provider has one, it appears only once the first scene
// builds the lab, and it changes with every rebuild (a reset, going back),
// while the notes must follow the presenter from the first screen on,
// whichever provider holds the hosts.

// SocketName is the socket's name in the user's runtime directory.
const SocketName = "presenter.sock"

// SocketPath is where this user's presenter screen publishes its state.
func SocketPath() string { return filepath.Join(infra.RuntimeDir(), SocketName) }

// ErrNoScreen says no presenter screen is publishing at the path.
var ErrNoScreen = errors.New("no zt-lab screen is running for you")

// TakenError says another screen of this user publishes already.
type TakenError struct{ Path string }

func (e TakenError) Error() string {
	return fmt.Sprintf("another zt-lab screen publishes its notes at %s already: `zt-lab notes` follows that one", e.Path)
}

// writeTimeout bounds how long one notes screen may hold a line: a
// stalled one is dropped, not waited for.
const writeTimeout = 5 * time.Second

// Server publishes the presenter's state to every notes screen that
// connects: the newest state on connecting, then each change.
type Server struct {
	path string
	ln   *net.UnixListener
	made fs.FileInfo // the socket Listen made, to remove no other

	mu      sync.Mutex
	last    []byte
	clients map[*follower]struct{}
	closed  bool
	wg      sync.WaitGroup
}

// follower is one connected notes screen: it is sent the newest line
// only, however far behind it falls.
type follower struct {
	c    *net.UnixConn
	mu   sync.Mutex
	line []byte
	wake chan struct{}
	done chan struct{}
}

// Listen serves at path, making its directory private (0700) if it is
// missing and the socket 0600. A socket left by a screen that died is
// replaced; one a live screen answers on is a TakenError.
func Listen(path string) (*Server, error) {
	if err := infra.MakePrivateDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, infra.UnsafePathError{Path: path, Why: "is not a socket", Hint: "remove it (rm " + path + ") if it is not yours"}
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, TakenError{Path: path}
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove the stale %s: %w", path, err)
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("publish the notes on %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false) // Close removes it, if it is still this one
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("notes socket: %w", err)
	}
	s := &Server{path: path, ln: ln, clients: map[*follower]struct{}{}}
	s.made, _ = os.Lstat(path)
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Path is where the server listens.
func (s *Server) Path() string { return s.path }

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			return
		}
		// The directory and the socket are the user's alone; where the
		// system says who is calling, a stranger is refused all the same.
		if checkPeer(c) != nil {
			c.Close()
			continue
		}
		f := &follower{c: c, wake: make(chan struct{}, 1), done: make(chan struct{})}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.clients[f] = struct{}{}
		if s.last != nil {
			f.send(s.last)
		}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(f)
	}
}

func (f *follower) send(line []byte) {
	f.mu.Lock()
	f.line = line
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (s *Server) serve(f *follower) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.clients, f)
		s.mu.Unlock()
		f.c.Close()
	}()
	// A notes screen sends nothing; its read ends when it goes away.
	gone := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, f.c)
		close(gone)
	}()
	for {
		select {
		case <-f.done:
			return
		case <-gone:
			return
		case <-f.wake:
		}
		f.mu.Lock()
		line := f.line
		f.mu.Unlock()
		_ = f.c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := f.c.Write(line); err != nil {
			return
		}
	}
}

// Publish sends st to every notes screen, unless it is what they were
// sent last. It never blocks on them.
func (s *Server) Publish(st State) {
	b, err := json.Marshal(st)
	if err != nil {
		return // State holds nothing that fails to marshal
	}
	b = append(b, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || string(b) == string(s.last) {
		return
	}
	s.last = b
	for f := range s.clients {
		f.send(b)
	}
}

// Close stops publishing: every notes screen sees the end of its stream
// (after the lines already sent), and the socket is removed.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for f := range s.clients {
		close(f.done)
		// What was written is the reader's still; a write stalled on a
		// notes screen that reads nothing ends now, not at its deadline.
		f.c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	// Only this server's socket: a later screen may have replaced it.
	if fi, lerr := os.Lstat(s.path); lerr == nil && s.made != nil && os.SameFile(fi, s.made) {
		_ = os.Remove(s.path)
	}
	s.wg.Wait()
	return err
}

// Feed is a notes screen's end of the stream.
type Feed struct {
	c  io.Closer
	sc *bufio.Scanner
}

func newFeed(r io.ReadCloser) *Feed {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	return &Feed{c: r, sc: sc}
}

// maxLine bounds one state line: the notes of one scene and the outline.
const maxLine = 4 << 20

// Follow connects to the screen publishing at path. ErrNoScreen when
// there is none (no socket, or one nobody answers on); an
// infra.UnsafePathError when the path is not this user's socket in a
// directory of this user's alone.
func Follow(ctx context.Context, path string) (*Feed, error) {
	// In a directory others could write, the socket could be swapped
	// for theirs between the check below and the dial.
	if err := infra.CheckPrivateDir(filepath.Dir(path)); errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoScreen
	} else if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoScreen
	}
	if err != nil {
		return nil, err
	}
	hint := "remove it (rm " + path + ") if it is not yours"
	if fi.Mode().Type() != fs.ModeSocket {
		return nil, infra.UnsafePathError{Path: path, Why: "is not a socket", Hint: hint}
	}
	if uid, ok := infra.FileOwner(fi); ok && uid != os.Getuid() {
		return nil, infra.UnsafePathError{Path: path, Why: fmt.Sprintf("belongs to uid %d, not to you (uid %d)", uid, os.Getuid()), Hint: hint}
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoScreen // a socket left by a screen that died
	}
	if err != nil {
		return nil, fmt.Errorf("follow the screen at %s: %w", path, err)
	}
	return newFeed(c), nil
}

// Next waits for the screen's next state. io.EOF means the screen
// closed.
func (f *Feed) Next() (State, error) {
	if !f.sc.Scan() {
		if err := f.sc.Err(); err != nil {
			return State{}, err
		}
		return State{}, io.EOF
	}
	var st State
	if err := json.Unmarshal(f.sc.Bytes(), &st); err != nil {
		return State{}, fmt.Errorf("the screen sent a line that is no state: %w", err)
	}
	return st, nil
}

// Close hangs up.
func (f *Feed) Close() error { return f.c.Close() }
