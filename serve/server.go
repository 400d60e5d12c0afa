//go:build linux

package serve

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"charm.land/log/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	"charm.land/wish/v2/activeterm"
	bm "charm.land/wish/v2/bubbletea"
	"charm.land/wish/v2/logging"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// Defaults of the per-attendee limits.
const (
	DefaultProcs    = 1024
	DefaultMemoryMB = 1536
	DefaultUIDBase  = 200000
	// MaxAttendees is how many attendees the server knows at once, in
	// labs and in the queue: each holds a uid of the range above the base.
	MaxAttendees = 10000
	// labFootprint is what one lab is planned at, for the default of
	// --max-labs: a lab at the end of the walkthrough measured ~470 MB PSS.
	labFootprint = 600 << 20
	// labSocketPath is what a lab adds to its runtime directory for its
	// control socket ("/<lab id>/ctl.sock"), with room to spare.
	labSocketPath = 40
)

// Config is everything `zt-lab serve` is told.
type Config struct {
	Listen         string
	MaxLabs        int // 0: from MemAvailable
	MaxStarting    int
	HostKey        string // "": generated once in the user's config directory
	Policy         Policy
	Keep           time.Duration
	NoShell        bool
	Self, Consul   string // the zt-lab and consul binaries
	StateDir       string // "": a new temporary one
	Limits         Limits
	SessionsPerKey int
	ConnectBurst   int
	ConnectEvery   time.Duration
	UIDBase        int
	// Hide are files of the server's the labs must not see (its lists of
	// keys); its host key and state directory are hidden as well.
	Hide []string
	Out  io.Writer // the lines for the room
	Log  io.Writer // one line per join, leave, refusal (default stderr)
	// Ready, when set, is told the address the server listens on.
	Ready func(addr net.Addr)
}

// usageError is a mistake in the server's configuration.
type usageError struct{ error }

// IsUsage reports whether err is a configuration mistake the user can fix.
func IsUsage(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// server is one running `zt-lab serve`.
type server struct {
	cfg      Config
	log      *log.Logger
	reg      *Registry
	queue    *Queue
	cgroups  *Cgroups
	limiter  *RateLimiter
	subnets  Subnets
	state    string
	hide     []string // what every lab's view hides (local.EnvPrivateHide)
	asRoot   bool
	refusals sync.Map // remote address → why its login was refused
}

// Run serves the room until ctx ends, then ends every lab and removes
// everything the server made.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if cfg.Log == nil {
		cfg.Log = os.Stderr
	}
	s := &server{cfg: cfg, asRoot: os.Getuid() == 0}
	s.log = log.NewWithOptions(cfg.Log, log.Options{ReportTimestamp: true, TimeFormat: time.TimeOnly, Prefix: "serve"})
	// The labs see these paths only (their private view keeps them), so
	// they are the files themselves, not symlinks.
	for _, p := range []*string{&s.cfg.Self, &s.cfg.Consul} {
		r, err := filepath.EvalSymlinks(*p)
		if err != nil {
			return usagef("%v", err)
		}
		*p = r
	}
	cfg = s.cfg
	if s.asRoot {
		for _, p := range []string{cfg.Self, cfg.Consul} {
			if err := runnableByAll(p); err != nil {
				return usagef("%v: the attendees' uids must run it: put zt-lab and consul where every user may read them (e.g. /usr/local/bin)", err)
			}
		}
	}
	if cfg.MaxLabs <= 0 {
		cfg.MaxLabs = min(labsMemoryAllows(), MaxSubnets)
		s.cfg.MaxLabs = cfg.MaxLabs
	}
	if cfg.MaxLabs > MaxSubnets {
		return usagef("--max-labs %d: at most %d labs, one /24 of 198.18.0.0/15 each", cfg.MaxLabs, MaxSubnets)
	}
	keyPath, err := hostKeyPath(cfg.HostKey)
	if err != nil {
		return err
	}
	signer, err := hostKey(keyPath)
	if err != nil {
		return err
	}
	// A directory of this server's own, inside --state-dir: only what the
	// server made is removed at the end.
	if cfg.StateDir != "" {
		if err := os.MkdirAll(cfg.StateDir, 0o711); err != nil {
			return usagef("--state-dir: %v", err)
		}
	}
	if s.state, err = os.MkdirTemp(cfg.StateDir, "zt-lab-serve-"); err != nil {
		return usagef("--state-dir: %v", err)
	}
	defer os.RemoveAll(s.state)
	// A lab's control socket lives under its runtime directory, and a unix
	// socket's path has at most 107 bytes.
	if longest := len(filepath.Join(s.state, "a9999", "home", "run")) + labSocketPath; longest > 107 {
		return usagef("--state-dir %s is too long a path for the labs' unix sockets (%d bytes of 107): give a shorter one, e.g. /tmp", cfg.StateDir, longest)
	}
	// The attendees' uids pass through, never list it.
	if err := os.Chmod(s.state, 0o711); err != nil {
		return err
	}
	// A server that is not root runs every lab as its own uid: its files
	// are hidden from the labs' views, wherever they are, and so is its
	// user's home, whatever else it holds (but a home of / would hide the
	// machine).
	hide := append([]string{s.state, keyPath}, cfg.Hide...)
	if home, err := os.UserHomeDir(); err == nil && filepath.Clean(home) != "/" {
		hide = append(hide, home)
	}
	for _, p := range hide {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			if abs, err := filepath.Abs(r); err == nil {
				s.hide = append(s.hide, abs)
			}
		}
	}
	if s.asRoot {
		if err := searchableByAll(filepath.Dir(s.state)); err != nil {
			return usagef("--state-dir %s: %v: the attendees' uids must reach their directories in it", filepath.Dir(s.state), err)
		}
	}
	s.limiter = NewRateLimiter(cfg.ConnectBurst, cfg.ConnectEvery)
	s.queue = NewQueue(cfg.MaxLabs, cfg.MaxStarting)
	s.reg = NewRegistry(cfg.Keep, cfg.SessionsPerKey, s.expire)
	s.reg.capacity = MaxAttendees
	if s.asRoot {
		if cfg.Limits.Procs > 0 {
			if err := limitProcsOfLabs(cfg.Limits.Procs); err != nil {
				return fmt.Errorf("limit processes: %w", err)
			}
		}
		s.cgroups, err = NewCgroups("zt-lab-serve-"+strconv.Itoa(os.Getpid()), cfg.Limits)
		if err != nil {
			s.log.Warn("no cgroups", "err", err)
		}
		defer s.cgroups.Close()
	}

	spec := reapSpec{State: s.state}
	if s.asRoot {
		spec.UIDFrom, spec.UIDTo = cfg.UIDBase, cfg.UIDBase+MaxAttendees
	}
	if s.cgroups != nil {
		spec.Cgroups = s.cgroups.dirs()
	}
	var uidLock *os.File
	if s.asRoot {
		if uidLock, err = s.claimUIDs(); err != nil {
			return err
		}
		defer uidLock.Close()
	}
	lifeline, err := startReaper(cfg.Self, spec, uidLock)
	if err != nil {
		return err
	}
	defer lifeline.Close()

	srv, err := wish.NewServer(
		wish.WithAddress(cfg.Listen),
		ssh.HostKeyPEM(signer),
		wish.WithPublicKeyAuth(s.publicKey),
		wish.WithMiddleware(
			s.attendee,
			bm.Middleware(s.instructor),
			activeterm.Middleware(),
			logging.StructuredMiddlewareWithLogger(s.log, log.DebugLevel),
		),
	)
	if err != nil {
		return err
	}
	srv.ChannelHandlers = map[string]ssh.ChannelHandler{}
	for name, h := range ssh.DefaultChannelHandlers {
		srv.ChannelHandlers[name] = h
	}
	srv.ChannelHandlers["session"] = s.session
	srv.HandshakeTimeout = 30 * time.Second
	srv.ConnCallback = s.connected
	srv.ConnectionFailedCallback = s.failed
	srv.ConnectionCloseCallback = func(c net.Conn) { s.refusals.Delete(c.RemoteAddr().String()) }

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return usagef("--listen %s: %v", cfg.Listen, err)
	}
	s.announce(ln.Addr(), signer)
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr())
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	_ = srv.Close()
	s.endAll()
	// Everything is removed before the lifeline closes, so the reaper,
	// woken by it, finds nothing to do.
	if s.cgroups != nil {
		s.cgroups.Close()
	}
	_ = os.RemoveAll(s.state)
	if errors.Is(err, ssh.ErrServerClosed) {
		err = nil
	}
	return err
}

// claimUIDs takes the lock on the attendees' uid range for the life of
// the server and of its reaper (which inherits it): two servers on one
// range would end each other's labs. A range still held waits a while,
// for the cleanup of a server that just ended.
func (s *server) claimUIDs() (*os.File, error) {
	dir := "/run/lock"
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("zt-lab-serve-uids-%d.lock", s.cfg.UIDBase))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(time.Minute)
	for told := false; ; {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, usagef("another zt-lab serve uses the uids from %d (%s is locked): stop it, or give this one --uid-base", s.cfg.UIDBase, path)
		}
		if !told {
			s.log.Warn("waiting for the uids from " + strconv.Itoa(s.cfg.UIDBase) + ": another server holds them, or its cleanup runs")
			told = true
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// announce prints what the room needs: the command and the fingerprint.
func (s *server) announce(addr net.Addr, pemKey []byte) {
	w := s.cfg.Out
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	cmd := "ssh -p " + port + " " + host
	if port == "22" {
		cmd = "ssh " + host
	}
	fp := ""
	if signer, err := gossh.ParsePrivateKey(pemKey); err == nil {
		fp = gossh.FingerprintSHA256(signer.PublicKey())
	}
	fmt.Fprintf(w, "zt-lab serve: listening on %s, %d labs at most (%d starting at once)\n", addr, s.cfg.MaxLabs, max(1, s.cfg.MaxStarting))
	fmt.Fprintf(w, "give the room:   %s\n", cmd)
	fmt.Fprintf(w, "host key:        %s\n", fp)
	if len(s.cfg.Policy.Instructors.comments) > 0 {
		fmt.Fprintf(w, "instructor:      ssh -p %s instructor@%s\n", port, host)
	}
	if s.cfg.Policy.Open {
		fmt.Fprintln(w, "WARNING: --open: anyone who can reach this port, with any key, gets a lab")
	}
	switch {
	case !s.asRoot:
		fmt.Fprintln(w, notLimitedWithoutRoot(os.Getuid()))
	case s.cgroups != nil:
		fmt.Fprintln(w, s.cgroups.Describe())
	default:
		fmt.Fprintf(w, "per attendee: processes %d (RLIMIT_NPROC); NOT limited (no cgroup the server may write): memory, cpu\n", s.cfg.Limits.Procs)
	}
	if s.cfg.NoShell {
		fmt.Fprintln(w, "--no-shell: attendees get no shell on the lab hosts")
	}
}

// decisionKey holds the login's Decision in the connection's context.
type decisionKey struct{}

func (s *server) publicKey(ctx ssh.Context, key ssh.PublicKey) bool {
	d := s.cfg.Policy.Decide(ctx.User(), key)
	if !d.Allowed() {
		// A client offers its keys one by one: the refusal is logged once,
		// when the connection fails, with the last reason.
		s.refusals.Store(ctx.RemoteAddr().String(), d.Reason+" ("+ctx.User()+", "+d.Fingerprint+")")
		return false
	}
	ctx.SetValue(decisionKey{}, d)
	return true
}

func (s *server) connected(ctx ssh.Context, c net.Conn) net.Conn {
	host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	if !s.limiter.Allow(host, time.Now()) {
		s.log.Warn("refused", "addr", c.RemoteAddr(), "why", "too many new connections from this address")
		return nil
	}
	ctx.SetValue(sessionChannelKey{}, &sessionChannel{})
	return c
}

func (s *server) failed(c net.Conn, err error) {
	addr := c.RemoteAddr().String()
	why, ok := s.refusals.LoadAndDelete(addr)
	if !ok {
		why = "handshake: " + err.Error()
	}
	s.log.Warn("refused", "addr", addr, "why", why)
}

func decisionOf(sess ssh.Session) Decision {
	d, _ := sess.Context().Value(decisionKey{}).(Decision)
	return d
}

// sessionChannel is, in a connection's context, the channel of its one
// session, as the SSH layer accepted it. An attendee's lab writes its
// pty's bytes there as they are: the session's own Write treats them as
// an emulated pty's, rewriting every \n as \r\n, which corrupts what a
// real pty (the lab's) sends. charm.land/ssh offers no session of a real
// pty but ssh.AllocatePty, which puts a pty of its own in between and
// resizes it from the same window-change channel as Session.Pty gives the
// handler, so one of the two misses each change; the channel itself,
// kept as it is accepted, is what the server needs.
type sessionChannel struct {
	claimed atomic.Bool
	refused atomic.Bool // a second session was refused, and logged
	ch      gossh.Channel
}

// sessionChannelKey holds a connection's *sessionChannel.
type sessionChannelKey struct{}

// session is the server's "session" channel handler: the SSH layer's
// own, with the accepted channel kept in the connection's context. A
// connection has one session: a second is refused, so the kept channel
// is the session's without a doubt.
func (s *server) session(srv *ssh.Server, conn *gossh.ServerConn, newChan gossh.NewChannel, ctx ssh.Context) {
	slot, _ := ctx.Value(sessionChannelKey{}).(*sessionChannel)
	if slot == nil || !slot.claimed.CompareAndSwap(false, true) {
		// Once per connection: a client may open thousands of channels,
		// and the log is the room's record, not theirs to fill.
		if slot == nil || !slot.refused.Swap(true) {
			s.log.Warn("refused", "addr", conn.RemoteAddr(), "why", "a second session on one connection")
		}
		_ = newChan.Reject(gossh.Prohibited, "zt-lab: one session per connection")
		return
	}
	ssh.DefaultSessionHandler(srv, conn, keptChannel{NewChannel: newChan, slot: slot}, ctx)
}

// keptChannel is a new session channel that, once accepted, is kept.
type keptChannel struct {
	gossh.NewChannel
	slot *sessionChannel
}

func (k keptChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := k.NewChannel.Accept()
	if err == nil {
		k.slot.ch = ch
	}
	return ch, reqs, err
}

// rawChannel is the session's channel itself (see sessionChannel).
func rawChannel(sess ssh.Session) io.Writer {
	if slot, _ := sess.Context().Value(sessionChannelKey{}).(*sessionChannel); slot != nil && slot.ch != nil {
		return slot.ch
	}
	return sess
}

// readInput reads what the client types, until it goes.
func readInput(r io.Reader) <-chan []byte {
	ch := make(chan []byte, 16)
	go func() {
		defer close(ch)
		for {
			buf := make([]byte, 4096)
			n, err := r.Read(buf)
			if n > 0 {
				ch <- buf[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

// The largest window a lab is drawn for. The server keeps each lab's
// screen in a terminal emulator, a few hundred bytes a cell, and the
// window's size is whatever the client says (up to 2³² × 2³²): a window
// of 2000 × 1500 cost the server 800 MB. A bigger window shows the lab
// in its top left corner; 512 × 256 is about 30 MB.
const (
	maxCols = 512
	maxRows = 256
)

// resizeEvery is how often a lab follows its window's changes at most.
const resizeEvery = 50 * time.Millisecond

// boundWindow is the window a lab is drawn for, for a client's window.
func boundWindow(width, height int) (int, int) {
	return min(width, maxCols), min(height, maxRows)
}

// Terminal sequences for a terminal that comes back to a running lab.
const (
	enterScreen = "\x1b[?1049h\x1b[?25l\x1b[2J\x1b[H"
	leaveScreen = "\x1b[?1049l\x1b[?25h"
)

// attendee is an attendee's session: their lab, after the waiting room
// when the labs are all taken.
func (s *server) attendee(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		d := decisionOf(sess)
		if d.Role == RoleInstructor {
			// The class view has ended (bubbletea's middleware runs first).
			s.log.Info("leave", "name", d.Name, "addr", sess.RemoteAddr().String(), "as", "instructor")
		}
		if d.Role != RoleAttendee {
			next(sess)
			return
		}
		addr := sess.RemoteAddr().String()
		a, reconnect, err := s.reg.Join(d.Fingerprint, d.Name)
		if err != nil {
			s.log.Warn("refused", "addr", addr, "name", d.Name, "why", err)
			wish.Println(sess, "zt-lab: "+err.Error()+": close another of your windows first")
			_ = sess.Exit(1)
			return
		}
		s.log.Info("join", "name", d.Name, "key", d.Fingerprint, "addr", addr, "reconnect", reconnect, "slot", a.Slot)
		why := "disconnected"
		defer func() {
			s.reg.Leave(a)
			s.log.Info("leave", "name", d.Name, "addr", addr, "why", why)
		}()
		ptyReq, winch, _ := sess.Pty()
		width, height := boundWindow(ptyReq.Window.Width, ptyReq.Window.Height)
		input := readInput(sess)
		raw := rawChannel(sess)
		lab, fresh, err := s.labFor(sess, raw, a, &width, &height, winch, input)
		if lab == nil {
			if err != nil {
				why = err.Error()
				wish.Println(sess, "zt-lab: "+err.Error())
				_ = sess.Exit(1)
			} else {
				why = "left the queue"
			}
			return
		}
		detached := make(chan struct{})
		var once sync.Once
		a.TakeScreen(func() { once.Do(func() { close(detached) }) })
		if !fresh {
			_, _ = io.WriteString(raw, enterScreen)
		}
		off := lab.Attach(raw)
		defer off()
		if fresh {
			lab.Resize(width, height)
		} else {
			lab.Redraw(width, height)
		}
		// Window changes are applied at most every resizeEvery, the last
		// one of each interval: a resize is the server's own work (the
		// lab's pty and the emulator of its screen), out of the lab's cpu
		// limit, and a client may send tens of thousands a second.
		var (
			resized  time.Time
			pending  ssh.Window
			resizeAt <-chan time.Time
		)
		for {
			select {
			case b, ok := <-input:
				if !ok {
					return
				}
				a.Typed(time.Now())
				if lab.Input(b) != nil {
					return
				}
			case w := <-winch:
				pending = w
				if resizeAt == nil {
					resizeAt = time.After(resizeEvery - time.Since(resized))
				}
			case <-resizeAt:
				lab.Resize(pending.Width, pending.Height)
				resized, resizeAt = time.Now(), nil
			case <-detached:
				why = "another connection took the screen"
				_, _ = io.WriteString(raw, leaveScreen+"\r\nzt-lab: your lab is now on your newer connection.\r\n")
				_ = sess.Exit(0)
				return
			case <-lab.Done():
				why = "lab ended"
				_, _ = io.WriteString(raw, leaveScreen+"\r\nzt-lab: your lab has ended. Connect again for a new one.\r\n")
				_ = sess.Exit(0)
				return
			case <-sess.Context().Done():
				return
			}
		}
	}
}

// labFor returns the attendee's lab, waiting in the queue and starting it
// when they have none; fresh says it was started now. Nil with a nil
// error: they left the queue.
func (s *server) labFor(sess ssh.Session, raw io.Writer, a *Attendee, width, height *int, winch <-chan ssh.Window, input <-chan []byte) (lab *Lab, fresh bool, err error) {
	a.startMu.Lock()
	defer a.startMu.Unlock()
	if l := a.Lab(); l != nil {
		select {
		case <-l.Done():
		default:
			return l, false, nil
		}
	}
	t := s.queue.Enter()
	waited := false
	for {
		select {
		case <-t.Ready():
		default:
			waited = true
			s.drawWaitingRoom(raw, t, *width, *height)
			select {
			case <-t.Ready():
			case <-s.queue.Changed():
				continue
			case w := <-winch:
				*width, *height = boundWindow(w.Width, w.Height)
				continue
			case b, ok := <-input:
				if ok && !quits(b) {
					continue
				}
				t.Done()
				_, _ = io.WriteString(raw, leaveScreen)
				return nil, false, nil
			case <-sess.Context().Done():
				t.Done()
				return nil, false, nil
			}
		}
		break
	}
	if waited {
		_, _ = io.WriteString(raw, "\x1b[2J\x1b[H")
	}
	lab, err = s.start(a, *width, *height, ptyTerm(sess))
	if err != nil {
		t.Done()
		s.log.Error("lab did not start", "name", a.Name, "err", err)
		return nil, false, errors.New("your lab did not start; the instructor can see why in the server's log")
	}
	a.SetLab(lab)
	go func() {
		select {
		case <-lab.First():
			t.Started()
			s.log.Info("lab up", "name", a.Name, "subnet", lab.Subnet(), "first screen", lab.FirstScreen().Round(time.Millisecond))
		case <-lab.Done():
		}
	}()
	go func() {
		<-lab.Done()
		t.Done()
		s.reg.Remove(a)
		s.log.Info("lab ended", "name", a.Name, "exit", fmt.Sprint(lab.Err()))
	}()
	return lab, true, nil
}

func ptyTerm(sess ssh.Session) string {
	p, _, _ := sess.Pty()
	if p.Term == "" {
		return "xterm-256color"
	}
	return p.Term
}

// quits reports whether b is q, Ctrl-C or Ctrl-D.
func quits(b []byte) bool {
	for _, c := range b {
		if c == 'q' || c == 3 || c == 4 {
			return true
		}
	}
	return false
}

func (s *server) drawWaitingRoom(w io.Writer, t *Ticket, width, height int) {
	c := s.queue.Counts()
	pos := t.Position()
	var b strings.Builder
	b.WriteString("\x1b[2J\x1b[H")
	lines := []string{
		"zt-lab — the waiting room",
		"",
		fmt.Sprintf("All %d labs are in use (%d starting). You are number %d in the queue.", c.Max, c.Starting, pos),
		"Your lab starts by itself as soon as one frees: keep this window open.",
		"",
		"q leaves the queue.",
	}
	if c.Running < c.Max {
		lines[2] = fmt.Sprintf("%d labs are starting; yours is next in line (number %d in the queue).", c.Starting, pos)
	}
	top := max(0, (height-len(lines))/2)
	for range top {
		b.WriteString("\r\n")
	}
	for _, l := range lines {
		pad := max(0, (width-len([]rune(l)))/2)
		b.WriteString(strings.Repeat(" ", pad) + l + "\r\n")
	}
	_, _ = io.WriteString(w, b.String())
}

// start starts a's lab in a directory of theirs.
func (s *server) start(a *Attendee, width, height int, term string) (*Lab, error) {
	uid := -1
	if s.asRoot {
		uid = s.cfg.UIDBase + a.Slot
	}
	dir := filepath.Join(s.state, "a"+strconv.Itoa(a.Slot))
	_ = os.RemoveAll(dir)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(dir, "home"), 0o700); err != nil {
		return nil, err
	}
	if uid >= 0 {
		for _, d := range []string{dir, filepath.Join(dir, "home")} {
			if err := os.Chown(d, uid, uid); err != nil {
				return nil, err
			}
		}
	}
	if width <= 0 || height <= 0 {
		width, height = 80, 24
	}
	subnet, err := s.subnets.Take()
	if err != nil {
		return nil, err
	}
	lab, err := startLab(labSpec{
		self: s.cfg.Self, consul: s.cfg.Consul, dir: dir, uid: uid,
		term: term, width: width, height: height, noShell: s.cfg.NoShell,
		cgroups: s.cgroups, group: "a" + strconv.Itoa(a.Slot), subnet: subnet,
		hide: s.hide,
	})
	if err != nil {
		s.subnets.Free(subnet)
		return nil, err
	}
	go func() {
		<-lab.Done()
		s.subnets.Free(subnet)
	}()
	return lab, nil
}

// expire ends the lab of an attendee whose grace period ran out.
func (s *server) expire(a *Attendee) {
	if l := a.Lab(); l != nil {
		s.log.Info("grace period over", "name", a.Name, "keep", s.cfg.Keep)
		l.End()
	}
}

// endAll ends every lab at once and waits for them.
func (s *server) endAll() {
	var wg sync.WaitGroup
	for _, a := range s.reg.Attendees() {
		if l := a.Lab(); l != nil {
			wg.Go(l.End)
		}
	}
	wg.Wait()
}

// hostKeyPath is where the host key is: path, or "" for the user's
// config directory.
func hostKeyPath(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", usagef("no config directory for the host key (%v): give --host-key FILE", err)
	}
	return filepath.Join(dir, "zt-lab", "ssh_host_ed25519_key"), nil
}

// hostKey reads the host key at path, or makes one there (ed25519, 0600,
// in a 0700 directory).
func hostKey(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		if _, err := gossh.ParsePrivateKey(b); err != nil {
			return nil, usagef("--host-key %s: %v", path, err)
		}
		return b, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, usagef("--host-key %s: %v", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := gossh.MarshalPrivateKey(priv, "zt-lab serve")
	if err != nil {
		return nil, err
	}
	b := pem.EncodeToMemory(block)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	return b, f.Close()
}

// labsMemoryAllows is the default of --max-labs: MemAvailable over one
// lab's planned footprint.
func labsMemoryAllows() int {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemAvailable:" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return max(1, int(kb<<10/labFootprint))
		}
	}
	return 1
}

// runnableByAll checks that any user may run the file at path: every
// directory above it searchable, the file readable and executable.
func runnableByAll(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o005 != 0o005 {
		return fmt.Errorf("%s is %v", path, st.Mode().Perm())
	}
	return searchableByAll(filepath.Dir(path))
}

// searchableByAll checks that any user may pass through dir and every
// directory above it.
func searchableByAll(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s is %v", d, st.Mode().Perm())
		}
		if d == "/" {
			return nil
		}
	}
}
