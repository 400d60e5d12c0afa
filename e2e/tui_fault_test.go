package e2e

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestXInTheGuidedLabIsAFaultLikeAScenes drives the real binary's TUI in
// tmux: after the first scene, x partitions fcs00 of the real lab and
// recovers it, and the timeline and the report card show both, as they
// show a scene's faults.
func TestXInTheGuidedLabIsAFaultLikeAScenes(t *testing.T) {
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

	// pick chooses host in the host picker by the number it shows.
	pick := func(host string) {
		t.Helper()
		m.waitFor("the host picker", 5*time.Second, "Fail or recover which host?", host)
		row := regexp.MustCompile(`(\d)  ` + regexp.QuoteMeta(host)).FindStringSubmatch(m.screen())
		if row == nil {
			t.Fatalf("no %s in the host picker:\n%s", host, m.screen())
		}
		m.keys(row[1])
	}
	m.keys("x")
	pick("fcs00")
	m.waitFor("the modes", 5*time.Second, "How does fcs00 fail?", "partition")
	m.keys("2")
	m.waitFor("the partition", 10*time.Second, "fcs00: partition.", "⊘ partitioned")
	m.keys("x")
	pick("fcs00 (partitioned: recover)")
	m.waitFor("the recovery", 30*time.Second, "fcs00 recovered")

	for range 6 { // topology → timeline
		m.keys("Tab")
	}
	m.waitFor("the timeline", 5*time.Second, "── timeline", "⚡ fcs00 partition · by hand", "↺ fcs00 recovered from partition · by hand")
	m.keys("Tab")
	m.waitFor("the report card", 5*time.Second, "── report card", "1 fault injected")
	for range 20 { // its end, where the faults are
		m.keys("Space")
	}
	m.waitFor("the faults on the report card", 5*time.Second, "Faults", "⚡ fcs00 partition · by hand · at ", "↺ fcs00 recovered from partition · by hand · at ")
	m.keys("q")
}
