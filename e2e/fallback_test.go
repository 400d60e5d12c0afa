package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ztlab/zt-lab/cast"
	"github.com/ztlab/zt-lab/scenes"
	"github.com/ztlab/zt-lab/tui"
)

// TestTheFallbackIsTheRecordedWalkthrough records the walkthrough with
// the real recorder, then opens the guided lab with that recording behind
// F, in tmux, as a presenter whose live demo just failed would: F shows
// the recording at the live scene, n moves the recording alone, F brings
// the live lab back where it was.
func TestTheFallbackIsTheRecordedWalkthrough(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is needed to drive the TUI: make deps installs it")
	}
	u := newUser(t)
	demo := filepath.Join(u.dir, "demo.cast")
	r, err := u.runLong(240, "record", "--cast", demo, "--pace", "500ms")
	if err != nil || r.code != 0 {
		t.Fatalf("record: exit %d, %v\n%s", r.code, err, r.stderr)
	}
	f, err := os.Open(demo)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cast.Parse(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	recorded, err := c.Scenes()
	if err != nil {
		t.Fatal(err)
	}
	ws := scenes.Walkthrough()
	var got, want []string
	for _, s := range recorded {
		got = append(got, s.ID+": "+s.Title)
	}
	for _, s := range ws {
		want = append(want, s.ID+": "+s.Title)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the cast's markers:\n%s\nwant one per scene, in order:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	m := &tmux{t: t, socket: fmt.Sprintf("zt-e2e-%d", time.Now().UnixNano())}
	env := []string{"ZTLAB_RUNTIME_DIR=" + u.dir, "ZTLAB_CONSUL=" + consul, "TERM=xterm-256color"}
	m.run("new-session", "-d", "-s", "lab", "-x", "120", "-y", "36", "env "+strings.Join(env, " ")+" "+ztlab+" --fallback "+demo+"; sleep 60")
	t.Cleanup(func() { exec.Command("tmux", "-L", m.socket, "kill-server").Run() })

	m.waitFor("the first screen", 15*time.Second, "The lab", "Man in the middle", "F shows the recording")
	m.keys("n", "n")
	m.waitFor("the live sniffer scene", 10*time.Second, "3/14 Man in the middle")
	m.keys("F")
	// The recorded scene as it ended: the fortune stolen off the wire.
	m.waitFor("the recording of scene 3", 10*time.Second, tui.BannerText, "3/14 Man in the middle · end", "PLAINTEXT", "✓")
	m.keys("n")
	m.waitFor("the recording of scene 4", 10*time.Second, tui.BannerText, "4/14 Tampering · end")
	m.keys("F")
	m.waitFor("the live lab", 10*time.Second, "zt-lab │ 3/14 Man in the middle", "enter runs the next step")
	if s := m.screen(); strings.Contains(s, tui.BannerText) {
		t.Errorf("the banner stays on the live lab:\n%s", s)
	}
	m.keys("q")
}
