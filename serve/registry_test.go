//go:build linux

package serve

import (
	"errors"
	"testing"
	"time"
)

// fakeTimers holds the registry's timers for the test to fire.
type fakeTimers struct{ pending []*fakeTimer }

type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() bool { was := !t.stopped; t.stopped = true; return was }

func (ft *fakeTimers) after(d time.Duration, f func()) stopper {
	t := &fakeTimer{d: d, f: f}
	ft.pending = append(ft.pending, t)
	return t
}

// fire runs every timer not stopped.
func (ft *fakeTimers) fire() {
	p := ft.pending
	ft.pending = nil
	for _, t := range p {
		if !t.stopped {
			t.f()
		}
	}
}

func newTestRegistry(perKey int) (*Registry, *fakeTimers, *[]string) {
	var ended []string
	r := NewRegistry(15*time.Minute, perKey, func(a *Attendee) { ended = append(ended, a.Name) })
	ft := &fakeTimers{}
	r.after = ft.after
	return r, ft, &ended
}

func TestAReconnectWithinTheGracePeriodKeepsTheLab(t *testing.T) {
	r, ft, ended := newTestRegistry(2)
	a, again, err := r.Join("SHA256:alice", "alice")
	if err != nil || again {
		t.Fatalf("first join: %v, reconnect %v", err, again)
	}
	r.Leave(a)
	if len(ft.pending) != 1 || ft.pending[0].d != 15*time.Minute {
		t.Fatalf("leaving did not start a 15 min grace period: %+v", ft.pending)
	}
	b, again, err := r.Join("SHA256:alice", "alice")
	if err != nil || !again || b != a {
		t.Fatalf("reconnect: same attendee %v, reconnect %v, %v", b == a, again, err)
	}
	ft.fire() // the stopped timer must not end the lab
	if len(*ended) != 0 {
		t.Errorf("the lab was ended although alice came back: %v", *ended)
	}
}

func TestTheGracePeriodEndsTheLabAndFreesTheSlot(t *testing.T) {
	r, ft, ended := newTestRegistry(2)
	a, _, _ := r.Join("SHA256:alice", "alice")
	b, _, _ := r.Join("SHA256:bob", "bob")
	if a.Slot == b.Slot {
		t.Fatal("two attendees share a slot (a uid)")
	}
	r.Leave(a)
	ft.fire()
	if len(*ended) != 1 || (*ended)[0] != "alice" {
		t.Fatalf("ended %v, want alice", *ended)
	}
	c, again, _ := r.Join("SHA256:alice", "alice")
	if again || c == a {
		t.Error("alice came back after the grace period to the old lab")
	}
	if c.Slot != a.Slot {
		t.Errorf("the freed slot %d was not reused (got %d)", a.Slot, c.Slot)
	}
	if got := r.Attendees(); len(got) != 2 {
		t.Errorf("%d attendees known, want 2", len(got))
	}
}

func TestOneKeyMayHaveOnlySoManySessions(t *testing.T) {
	r, _, _ := newTestRegistry(2)
	a, _, _ := r.Join("SHA256:alice", "alice")
	if _, _, err := r.Join("SHA256:alice", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Join("SHA256:alice", "alice"); !errors.Is(err, ErrTooManySessions) {
		t.Errorf("a third session: %v", err)
	}
	r.Leave(a)
	if _, _, err := r.Join("SHA256:alice", "alice"); err != nil {
		t.Errorf("after one left: %v", err)
	}
}

func TestALabThatEndsOnItsOwnIsForgotten(t *testing.T) {
	r, ft, ended := newTestRegistry(2)
	a, _, _ := r.Join("SHA256:alice", "alice")
	r.Remove(a) // alice pressed q
	r.Leave(a)  // then her session ended
	ft.fire()
	if len(*ended) != 0 || len(r.Attendees()) != 0 {
		t.Errorf("ended %v, known %d", *ended, len(r.Attendees()))
	}
}

func TestTheRoomHasACapacity(t *testing.T) {
	r, _, _ := newTestRegistry(1)
	r.capacity = 2
	r.Join("a", "a")
	r.Join("b", "b")
	if _, _, err := r.Join("c", "c"); !errors.Is(err, ErrRoomFull) {
		t.Errorf("a third attendee in a room of two: %v", err)
	}
}

func TestAnAttendeeOnScreenIsDetachedByTheirNewerSession(t *testing.T) {
	r, _, _ := newTestRegistry(2)
	a, _, _ := r.Join("SHA256:alice", "alice")
	first := 0
	a.TakeScreen(func() { first++ })
	a.TakeScreen(func() {})
	if first != 1 {
		t.Errorf("the first session was detached %d times, want 1", first)
	}
}
