//go:build linux

package serve

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
)

// fakeClass is a class for the view to show.
type fakeClass struct {
	rows  []AttendeeRow
	ended []string
}

func (f *fakeClass) Class() []AttendeeRow { return f.rows }
func (f *fakeClass) Screen(id string) (string, bool) {
	if id == "SHA256:bob" {
		return " zt-lab │ 3/12 Man in the middle\n PLAINTEXT fcc00.", true
	}
	return "", false
}
func (f *fakeClass) End(id string) bool { f.ended = append(f.ended, id); return true }

func theClass() *fakeClass {
	return &fakeClass{rows: []AttendeeRow{
		{ID: "SHA256:alice", Name: "Alice Liddell", Scene: 7, Reached: 7, Passed: 14, State: "running a step", Idle: 3 * time.Second},
		{ID: "SHA256:bob", Name: "bob", Scene: 3, Reached: 3, Passed: 4, Failed: 1, State: "a check failed", Idle: 2 * time.Minute},
		{ID: "SHA256:carol", Name: "carol", Scene: 2, Reached: 3, Passed: 4, State: "disconnected, ok", Idle: 10 * time.Minute},
		{ID: "SHA256:dave", Name: "dave", State: "in the queue", Idle: 5 * time.Second},
	}}
}

func press(v *classView, keys ...string) {
	for _, k := range keys {
		var msg tea.KeyPressMsg
		switch k {
		case "down":
			msg = tea.KeyPressMsg{Code: tea.KeyDown}
		case "enter":
			msg = tea.KeyPressMsg{Code: tea.KeyEnter}
		case "esc":
			msg = tea.KeyPressMsg{Code: tea.KeyEscape}
		default:
			msg = tea.KeyPressMsg{Code: rune(k[0]), Text: k}
		}
		v.Update(msg)
	}
}

func TestTheClassViewListsEveryAttendeeWithTotals(t *testing.T) {
	v := newClassView(theClass())
	v.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	golden.RequireEqual(t, ansi.Strip(v.render()))
}

func TestTheInstructorWatchesAnAttendeesScreenReadOnly(t *testing.T) {
	v := newClassView(theClass())
	press(v, "down", "enter")
	out := ansi.Strip(v.render())
	if !strings.Contains(out, "bob's screen, read-only") || !strings.Contains(out, "PLAINTEXT fcc00.") {
		t.Errorf("bob's screen is not shown:\n%s", out)
	}
	press(v, "esc")
	if out := ansi.Strip(v.render()); !strings.Contains(out, "the class (4)") {
		t.Errorf("esc did not come back to the class:\n%s", out)
	}
}

func TestEndingALabAsksFirst(t *testing.T) {
	c := theClass()
	v := newClassView(c)
	press(v, "down", "down", "x", "n")
	if len(c.ended) != 0 {
		t.Fatalf("a lab ended without a y: %v", c.ended)
	}
	press(v, "x", "y")
	if len(c.ended) != 1 || c.ended[0] != "SHA256:carol" {
		t.Errorf("ended %v, want carol's", c.ended)
	}
}
