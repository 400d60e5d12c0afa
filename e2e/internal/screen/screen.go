// Package screen waits for what a terminal shows, for every e2e package
// that reads one (tmux's pane, an SSH client's emulated screen).
package screen

import (
	"strings"
	"testing"
	"time"
)

// WaitFor waits until read's screen shows every one of want, and fails t
// naming what was awaited, the first missing text and the screen, if it
// never does within timeout.
func WaitFor(t testing.TB, what string, timeout time.Duration, read func() string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := read()
		missing := ""
		for _, w := range want {
			if !strings.Contains(s, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the screen never showed %q; it shows:\n%s", what, missing, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
