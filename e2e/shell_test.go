package e2e

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// screen collects what a terminal shows.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits until the screen shows want.
func (s *screen) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q; it shows:\n%s", want, s.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestShellOnAHostInATerminal types into `zt-lab shell fcc00` as a
// learner would, in a real pseudo-terminal.
func TestShellOnAHostInATerminal(t *testing.T) {
	u := newUser(t)
	u.must("up", "--detach")
	cmd := u.command("shell", "fcc00")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var sc screen
	go io.Copy(&sc, tty)

	sc.waitFor(t, "(zt-lab) fcc00:")
	io.WriteString(tty, "nc fcs00 8181; echo fetched-$?\r")
	sc.waitFor(t, "fetched-0")
	// The fortune came through, between the command's echo and its
	// status: at least one line of text of its own.
	out := sc.String()
	cmdAt := strings.LastIndex(out, "8181; echo fetched-$?")
	statusAt := strings.LastIndex(out, "fetched-0")
	between := ""
	if cmdAt >= 0 && statusAt > cmdAt {
		between = out[cmdAt+len("8181; echo fetched-$?") : statusAt]
	}
	if len(strings.TrimSpace(stripEscapes(between))) < 5 {
		t.Errorf("no fortune between the command and its status:\n%s", out)
	}
	// The window size reached the shell.
	io.WriteString(tty, "stty size\r")
	sc.waitFor(t, "24 80")
	io.WriteString(tty, "exit 3\r")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the shell did not exit")
	}
	if cmd.ProcessState.ExitCode() != 3 {
		t.Errorf("shell exit: %v (code %d), want 3", err, cmd.ProcessState.ExitCode())
	}
}

// stripEscapes drops terminal escape sequences (bash's bracketed paste).
func stripEscapes(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i++; i < len(s) && !(s[i] >= '@' && s[i] <= '~' && s[i] != '['); i++ {
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
