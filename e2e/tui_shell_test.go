package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSInTheGuidedLabIsAShellOnTheHost presses s in the real TUI once the
// lab is up, picks fcc00, and types in the shell that opens: it is on
// fcc00, with fcc00's address, and exit brings the screen back.
func TestSInTheGuidedLabIsAShellOnTheHost(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is needed to drive the TUI: make deps installs it")
	}
	u := newUser(t)
	m := &tmux{t: t, socket: fmt.Sprintf("zt-e2e-%d", time.Now().UnixNano())}
	env := []string{"ZTLAB_RUNTIME_DIR=" + u.dir, "ZTLAB_CONSUL=" + consul, "TERM=xterm-256color"}
	m.run("new-session", "-d", "-s", "lab", "-x", "120", "-y", "40", "env "+strings.Join(env, " ")+" "+ztlab+"; sleep 60")
	t.Cleanup(func() { exec.Command("tmux", "-L", m.socket, "kill-server").Run() })

	m.waitFor("the first screen", 15*time.Second, "The lab", "enter")
	m.keys("a")
	m.waitFor("scene 1", 20*time.Second, "five hosts up on one wire", "✓")
	m.keys("s")
	m.waitFor("the host picker", 5*time.Second, "Open a shell on which host?", "fcc00")
	m.keys("5") // consul00-02, fcs00, fcc00
	m.waitFor("the shell's prompt", 10*time.Second, "(zt-lab) fcc00:")
	// What the shell prints differs from what was typed.
	m.keys("echo on-$ZTLAB_HOST; ip -4 -o addr show dev eth0", "Enter")
	m.waitFor("the shell's answers", 10*time.Second, "on-fcc00", "198.18.0.30/24")
	m.keys("exit", "Enter")
	m.waitFor("the screen again", 10*time.Second, "back from the shell on fcc00")

	m.keys("q")
	deadline := time.Now().Add(10 * time.Second)
	for len(u.labPIDs()) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if pids := u.labPIDs(); len(pids) > 0 {
		t.Errorf("after q, lab processes remain: %v", pids)
	}
}
