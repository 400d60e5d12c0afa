package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	screens "github.com/ztlab/zt-lab/e2e/internal/screen"
)

// TestNotesFollowTheGuidedLab runs the real binary twice in tmux, the
// guided lab and `zt-lab notes` beside it as a presenter would, presses
// the presenter's keys on the lab and reads the notes screen: it moves
// with n and p, shows the check enter ran, and ends, exit 0, when the lab
// quits.
func TestNotesFollowTheGuidedLab(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is needed to drive the TUI: make deps installs it")
	}
	u := newUser(t)
	// With no guided lab running, the notes say so in one line, exit 2.
	r, err := u.run("notes")
	if err != nil {
		t.Fatal(err)
	}
	if want := "zt-lab: no guided lab is running for you: start `zt-lab` in another terminal first, then zt-lab notes follows it\n"; r.code != 2 || r.stderr != want {
		t.Fatalf("zt-lab notes with no lab: exit %d, stderr %q; want exit 2 and %q", r.code, r.stderr, want)
	}

	m := &tmux{t: t, socket: fmt.Sprintf("zt-e2e-%d", time.Now().UnixNano())}
	env := "env ZTLAB_RUNTIME_DIR=" + u.dir + " ZTLAB_CONSUL=" + consul + " TERM=xterm-256color NO_COLOR=1 "
	m.run("new-session", "-d", "-s", "lab", "-x", "120", "-y", "40", env+ztlab+"; sleep 60")
	t.Cleanup(func() { exec.Command("tmux", "-L", m.socket, "kill-server").Run() })
	m.waitFor("the first screen", 15*time.Second, "The lab", "Man in the middle", "enter")

	m.run("new-session", "-d", "-s", "notes", "-x", "100", "-y", "30", env+ztlab+" notes; echo notes-exit=$?; sleep 60")
	notes := func() string { return m.run("capture-pane", "-p", "-t", "notes") }
	wait := func(what string, want ...string) {
		t.Helper()
		screens.WaitFor(t, what, 15*time.Second, notes, want...)
	}
	wait("the first scene's notes", "1/14 The lab", "Point at the diagram", "budget 2:00", "next  2 The Fortune Cookie Service",
		"enter run step 1/1: Deploy five hosts")
	// The guided lab's socket is the user's alone.
	if fi, err := os.Lstat(filepath.Join(u.dir, "presenter.sock")); err != nil || fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("the guided lab's notes socket: %v, %v; want a 0600 socket", fi, err)
	}
	m.keys("n")
	wait("scene 2 after n", "2/14 The Fortune Cookie Service", "next  3 Man in the middle", "budget 2:00")
	m.keys("p")
	wait("scene 1 after p", "1/14 The lab", "p     nothing: this is the first scene")
	m.keys("Enter")
	wait("the check enter ran", "✓ five hosts up on one wire", "enter this scene is done: scene 2: The Fortune Cookie Service", "step  idle")
	if s := notes(); strings.Contains(s, "✗") {
		t.Errorf("a check failed on the notes screen:\n%s", s)
	} else {
		t.Logf("the notes screen after the first step:\n%s", s)
	}
	m.keys("q")
	wait("the notes ending with the lab", "the guided lab closed, and the notes with it.", "notes-exit=0")
}
