package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	screens "github.com/ztlab/zt-lab/e2e/internal/screen"
)

// tmux is one tmux server of the test's own, holding one window.
type tmux struct {
	t      *testing.T
	socket string
}

func (m *tmux) run(args ...string) string {
	m.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", m.socket}, args...)...).CombinedOutput()
	if err != nil {
		m.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (m *tmux) screen() string { return m.run("capture-pane", "-p", "-t", "lab") }

// waitFor waits until the screen shows every one of want.
func (m *tmux) waitFor(what string, timeout time.Duration, want ...string) {
	m.t.Helper()
	screens.WaitFor(m.t, what, timeout, m.screen, want...)
}

func (m *tmux) keys(keys ...string) { m.run(append([]string{"send-keys", "-t", "lab"}, keys...)...) }

// TestTheGuidedLabInATerminal drives the real binary's TUI in tmux through
// the first three scenes with the keys a presenter presses, reading the
// screen: the hosts come up, the fortune arrives, the sniffer steals it.
func TestTheGuidedLabInATerminal(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is needed to drive the TUI: make deps installs it")
	}
	u := newUser(t)
	m := &tmux{t: t, socket: fmt.Sprintf("zt-e2e-%d", time.Now().UnixNano())}
	env := []string{"ZTLAB_RUNTIME_DIR=" + u.dir, "ZTLAB_CONSUL=" + consul, "TERM=xterm-256color"}
	m.run("new-session", "-d", "-s", "lab", "-x", "120", "-y", "40", "env "+strings.Join(env, " ")+" "+ztlab+"; sleep 60")
	t.Cleanup(func() { exec.Command("tmux", "-L", m.socket, "kill-server").Run() })

	m.waitFor("the first screen", 15*time.Second, "The lab", "Man in the middle", "enter")
	m.keys("a")
	m.waitFor("scene 1", 20*time.Second, "five hosts up on one wire", "✓")
	m.keys("n")
	m.keys("a")
	m.waitFor("scene 2", 20*time.Second, "consumer received a fortune")
	m.keys("n")
	m.keys("a")
	m.waitFor("scene 3", 20*time.Second, "the sniffer read the fortune in the clear", "PLAINTEXT fcc00.")
	if s := m.screen(); strings.Contains(s, "✗") {
		t.Errorf("a check failed on screen:\n%s", s)
	}
	// q quits and tears the lab down.
	m.keys("q")
	deadline := time.Now().Add(10 * time.Second)
	for len(u.labPIDs()) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if pids := u.labPIDs(); len(pids) > 0 {
		t.Errorf("after q, lab processes remain: %v", pids)
	}
}
