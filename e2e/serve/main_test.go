// Package serve drives `zt-lab serve` the way a room does: attendees log
// in over SSH with keys of their own, read their screens through a
// terminal emulator, press keys, and try to cross every boundary.
package serve

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
	gossh "golang.org/x/crypto/ssh"

	"github.com/ztlab/zt-lab/e2e/internal/binaries"
	"github.com/ztlab/zt-lab/e2e/internal/screen"
	"github.com/ztlab/zt-lab/scenes"
)

// ztlab is the binary under test, in a directory every uid may read (the
// attendees' uids run it); consul is the one `make consul` built.
var ztlab, consul string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zt-e2e-serve")
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err == nil {
		ztlab, err = binaries.Build(dir, "../..", os.Environ())
	}
	if err == nil {
		consul, err = binaries.Consul("../..")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// walkthrough is the scenes the guided lab shows, in order.
var walkthrough = scenes.Walkthrough()

// header is the TUI's header for scene k (from 1): "1/14 The lab".
func header(k int) string {
	return fmt.Sprintf("%d/%d %s", k, len(walkthrough), walkthrough[k-1].Title)
}

// sceneNumber is the number (from 1) of the scene titled title.
func sceneNumber(title string) int {
	for i, s := range walkthrough {
		if s.Title == title {
			return i + 1
		}
	}
	panic("no scene " + title)
}

// uidBase keeps the tests' attendees apart from any real server's.
const uidBase = 231000

// key is an attendee's key pair.
type key struct {
	name   string
	signer gossh.Signer
}

func newKey(t testing.TB, name string) key {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return key{name: name, signer: s}
}

func (k key) authorizedLine() string {
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k.signer.PublicKey()))) + " " + k.name + "\n"
}

// server is one `zt-lab serve` of the test's own.
type server struct {
	t        testing.TB
	cmd      *exec.Cmd
	addr     string
	dir      string // the test's files: keys, host key
	state    string // the server's --state-dir
	hostKey  string
	logs     *lockedBuffer
	done     chan struct{}
	stopOnce sync.Once
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServer starts zt-lab serve on a free loopback port with the
// attendees' keys authorized and the given flags.
func startServer(t testing.TB, attendees []key, args ...string) *server {
	t.Helper()
	return startServerAs(t, -1, attendees, args...)
}

// startServerAs is startServer with the server running as uid (and gid
// uid) rather than the test's own, when uid is not -1: its files are
// then uid's.
func startServerAs(t testing.TB, uid int, attendees []key, args ...string) *server {
	t.Helper()
	return startServerUnder(t, os.TempDir(), uid, attendees, args...)
}

// startServerUnder is startServerAs with the server's files (its keys,
// its host key, its --state-dir) in a new directory under root.
func startServerUnder(t testing.TB, root string, uid int, attendees []key, args ...string) *server {
	t.Helper()
	dir, err := os.MkdirTemp(root, "zt-e2e-files")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The attendees' uids pass through to their directories in it.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	var ak strings.Builder
	for _, k := range attendees {
		ak.WriteString(k.authorizedLine())
	}
	akPath := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(akPath, []byte(ak.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// A short path: the labs' unix sockets live under it.
	state, err := os.MkdirTemp(root, "zst")
	if err == nil {
		err = os.Chmod(state, 0o711)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(state) })
	s := &server{t: t, dir: dir, state: state, hostKey: filepath.Join(dir, "hostkey", "ssh_host_ed25519_key"), logs: &lockedBuffer{}, done: make(chan struct{})}
	argv := []string{"serve", "--listen", "127.0.0.1:0", "--authorized-keys", akPath,
		"--host-key", s.hostKey, "--state-dir", s.state, "--consul", consul,
		"--uid-base", strconv.Itoa(uidBase)}
	if slices.Contains(args, "--open") {
		// Any key gets in: there is no list of the attendees' keys.
		argv = slices.Delete(argv, 3, 5)
	}
	argv = append(argv, args...)
	s.cmd = exec.Command(ztlab, argv...)
	if uid >= 0 {
		for _, p := range []string{dir, akPath, state} {
			if err := os.Chown(p, uid, uid); err != nil {
				t.Fatal(err)
			}
		}
		s.cmd.Env = append(os.Environ(), "HOME="+dir)
		s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}}}
	}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.stop)
	lines := bufio.NewScanner(out)
	var printed strings.Builder
	for lines.Scan() {
		line := lines.Text()
		printed.WriteString(line + "\n")
		if a, ok := strings.CutPrefix(line, "zt-lab serve: listening on "); ok {
			s.addr, _, _ = strings.Cut(a, ",")
		}
		if strings.HasPrefix(line, "per attendee:") {
			break
		}
	}
	if s.addr == "" {
		t.Fatalf("zt-lab serve never said where it listens:\n%s\n%s", printed.String(), s.logs)
	}
	go io.Copy(io.Discard, out)
	s.logs.Write([]byte(printed.String()))
	return s
}

// stateDir is the directory the server made in --state-dir.
func (s *server) stateDir() string {
	s.t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(s.state, "zt-lab-serve-*"))
	if len(dirs) != 1 {
		s.t.Fatalf("want one directory of the server's in %s, got %v", s.state, dirs)
	}
	return dirs[0]
}

// stop ends the server with SIGTERM and checks it leaves nothing behind.
func (s *server) stop() {
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
			s.t.Errorf("zt-lab serve did not end within 30 s of SIGTERM")
		}
		killAttendees()
		if s.t.Failed() {
			s.t.Logf("server log:\n%s", s.logs)
		}
	})
}

// attendeePIDs lists the processes of the tests' attendee uids.
func attendeePIDs() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
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
				if uid, _ := strconv.Atoi(f[1]); uid >= uidBase && uid < uidBase+1000 {
					pids = append(pids, pid)
				}
			}
		}
	}
	return pids
}

func killAttendees() {
	for _, pid := range attendeePIDs() {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// terminal is an attendee's SSH session with a pty, read through a
// terminal emulator as their screen would show it.
type terminal struct {
	t      testing.TB
	name   string
	client *gossh.Client
	sess   *gossh.Session
	stdin  io.WriteCloser
	mu     sync.Mutex
	screen *vt.Emulator
	raw    bytes.Buffer
	closed chan struct{}
	start  time.Time
	first  time.Duration // until the first byte of the screen
}

const (
	termWidth  = 120
	termHeight = 40
)

func dial(addr, user string, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	return gossh.Dial("tcp", addr, &gossh.ClientConfig{
		User: user, Auth: auth,
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Timeout:         10 * time.Second,
	})
}

// connect logs in with k and opens a screen of the default size.
func (s *server) connect(k key) *terminal {
	s.t.Helper()
	return s.connectSized(k, termWidth, termHeight)
}

// connectSized logs in with k and opens a screen of width × height.
func (s *server) connectSized(k key, width, height int) *terminal {
	s.t.Helper()
	return s.connectWith(k, width, height, nil)
}

// session logs in as k and opens a session, nothing more: a raw client.
func (s *server) session(t testing.TB, k key) (*gossh.Client, *gossh.Session) {
	t.Helper()
	c, err := dial(s.addr, k.name, gossh.PublicKeys(k.signer))
	if err != nil {
		t.Fatalf("%s: log in: %v\n%s", k.name, err, s.logs)
	}
	sess, err := c.NewSession()
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c, sess
}

// connectWith is connectSized with env sent first, as `ssh -o SetEnv`.
func (s *server) connectWith(k key, width, height int, env map[string]string) *terminal {
	s.t.Helper()
	start := time.Now()
	c, err := dial(s.addr, k.name, gossh.PublicKeys(k.signer))
	if err != nil {
		s.t.Fatalf("%s: log in: %v\n%s", k.name, err, s.logs)
	}
	sess, err := c.NewSession()
	if err != nil {
		s.t.Fatal(err)
	}
	for name, value := range env {
		if err := sess.Setenv(name, value); err != nil {
			s.t.Logf("%s: env %s refused: %v", k.name, name, err)
		}
	}
	if err := sess.RequestPty("xterm-256color", height, width, gossh.TerminalModes{}); err != nil {
		s.t.Fatal(err)
	}
	in, err := sess.StdinPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	out, err := sess.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		s.t.Fatal(err)
	}
	m := &terminal{t: s.t, name: k.name, client: c, sess: sess, stdin: in, screen: vt.NewEmulator(width, height), closed: make(chan struct{}), start: start}
	// The emulator answers the TUI's questions (colours, cursor), as the
	// attendee's terminal would.
	go io.Copy(in, m.screen)
	go func() {
		defer close(m.closed)
		buf := make([]byte, 32*1024)
		for {
			n, err := out.Read(buf)
			if n > 0 {
				m.mu.Lock()
				if m.first == 0 {
					m.first = time.Since(m.start)
				}
				m.screen.Write(buf[:n])
				m.raw.Write(buf[:n])
				m.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	s.t.Cleanup(m.close)
	return m
}

func (m *terminal) close() {
	_ = m.sess.Close()
	_ = m.client.Close()
}

// resize changes the window, as dragging its corner does.
func (m *terminal) resize(width, height int) {
	m.t.Helper()
	m.mu.Lock()
	m.screen.Resize(width, height)
	m.mu.Unlock()
	if err := m.sess.WindowChange(height, width); err != nil {
		m.t.Fatal(err)
	}
}

// text is what the screen shows now.
func (m *terminal) text() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.screen.String()
}

// all is every byte the server sent.
func (m *terminal) all() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.raw.String()
}

// waitFor waits until the screen shows every one of want.
func (m *terminal) waitFor(what string, timeout time.Duration, want ...string) {
	m.t.Helper()
	screen.WaitFor(m.t, m.name+", "+what, timeout, m.text, want...)
}

// press types keys.
func (m *terminal) press(keys string) {
	m.t.Helper()
	if _, err := io.WriteString(m.stdin, keys); err != nil {
		m.t.Fatalf("%s: type %q: %v", m.name, keys, err)
	}
}

// walkScenes1to3 presses through scenes 1-3 as a presenter does and
// waits for each scene's check on screen.
func (m *terminal) walkScenes1to3() {
	m.t.Helper()
	m.waitFor("the first screen", 15*time.Second, "The lab", "Man in the middle", "enter")
	m.press("a")
	m.waitFor("scene 1", 30*time.Second, "five hosts up on one wire", "✓")
	m.press("n")
	m.press("a")
	m.waitFor("scene 2", 30*time.Second, "consumer received a fortune")
	m.press("n")
	m.press("a")
	m.waitFor("scene 3", 30*time.Second, "the sniffer read the fortune in the clear", "PLAINTEXT fcc00.")
	if s := m.text(); strings.Contains(s, "✗") {
		m.t.Errorf("%s: a check failed on screen:\n%s", m.name, s)
	}
}

// fails runs cmd in the shell, its output thrown away, and reports whether
// it failed, with the screen.
func (m *terminal) fails(cmd string, timeout time.Duration) (bool, string) {
	m.t.Helper()
	got := m.run("("+cmd+") >/dev/null 2>&1 && echo LEAK || echo SAFE", timeout)
	return strings.Contains(got, "SAFE") && !strings.Contains(got, "LEAK"), got
}

// probe is one attempt of a shell at what it must not reach.
type probe struct{ what, cmd string }

// cannotReach runs each probe in the shell: each must fail.
func (m *terminal) cannotReach(probes []probe, timeout time.Duration) {
	m.t.Helper()
	for _, p := range probes {
		if ok, got := m.fails(p.cmd, timeout); !ok {
			m.t.Errorf("%s's shell reached %s (%s):\n%s", m.name, p.what, p.cmd, got)
		}
	}
}

// instructorKeys writes an instructor-keys file naming k.
func instructorKeys(t testing.TB, k key) string {
	t.Helper()
	keys := filepath.Join(t.TempDir(), "instructors")
	if err := os.WriteFile(keys, []byte(k.authorizedLine()), 0o600); err != nil {
		t.Fatal(err)
	}
	return keys
}

// boundedCPU runs a shell line that floods the server with what for 5 s
// and fails the test when the server spent more than 40% of a core on it.
func (m *terminal) boundedCPU(s *server, what, line string) {
	m.t.Helper()
	before := cpuSeconds(s.cmd.Process.Pid)
	start := time.Now()
	m.run(line, 120*time.Second)
	took := time.Since(start).Seconds()
	used := cpuSeconds(s.cmd.Process.Pid) - before
	m.t.Logf("%s's 5 s of %s cost the server %.2f s of cpu over %.1f s", m.name, what, used, took)
	if used/took > 0.4 {
		m.t.Errorf("%s's %s cost the server %.2f s of cpu in %.1f s: %.0f%% of a core", m.name, what, used, took, 100*used/took)
	}
}

// shellAfterScene1 runs scene 1 from the first screen and opens a shell
// on fcc00, where most tests of what a shell can reach start.
func (m *terminal) shellAfterScene1() {
	m.t.Helper()
	m.waitFor("the first screen", 15*time.Second, header(1))
	m.press("a")
	m.waitFor("scene 1", 30*time.Second, "five hosts up on one wire", "✓")
	m.shell(5, "fcc00")
}

// shell opens a shell on host (the picker's nth entry) and waits for its
// prompt.
func (m *terminal) shell(n int, host string) {
	m.t.Helper()
	m.press("s")
	m.waitFor("the host picker", 10*time.Second, "Open a shell on which host?")
	m.press(strconv.Itoa(n))
	m.waitFor("the shell", 15*time.Second, "(zt-lab) "+host+":")
}

// run types a command line in the shell and waits for the marker it
// echoes at the end, returning the screen.
func (m *terminal) run(line string, timeout time.Duration) string {
	m.t.Helper()
	marker := fmt.Sprintf("done-%d", time.Now().UnixNano()%100000)
	m.press("clear; " + line + "; echo " + strings.Replace(marker, "-", "''-", 1) + "\r")
	m.waitFor("the command "+line, timeout, marker)
	return m.text()
}

// labAddr is the lab address of the host the shell is on, from its own
// interfaces (in 198.18.0.0/15, where the server puts every lab).
func (m *terminal) labAddr() string {
	m.t.Helper()
	got := m.run("hostname -I | tr ' ' '\\n' | grep '^198\\.1[89]\\.' | sed 's/^/addr=/'", 10*time.Second)
	for _, line := range strings.Split(got, "\n") {
		if a, ok := strings.CutPrefix(strings.TrimSpace(line), "addr="); ok {
			return a
		}
	}
	m.t.Fatalf("%s: no address in 198.18.0.0/15 on the host:\n%s", m.name, got)
	return ""
}
