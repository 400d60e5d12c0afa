//go:build linux

package serve

import "testing"

func isReady(t *Ticket) bool {
	select {
	case <-t.Ready():
		return true
	default:
		return false
	}
}

func TestTheQueueAdmitsInOrderUpToTheMaximum(t *testing.T) {
	q := NewQueue(2, 2)
	a, b, c, d := q.Enter(), q.Enter(), q.Enter(), q.Enter()
	if !isReady(a) || !isReady(b) || isReady(c) || isReady(d) {
		t.Fatal("want the first two admitted, the others waiting")
	}
	if c.Position() != 1 || d.Position() != 2 || a.Position() != 0 {
		t.Errorf("positions %d %d %d, want 1 2 0", c.Position(), d.Position(), a.Position())
	}
	changed := q.Changed()
	a.Started()
	a.Done() // alice leaves: carol is next
	select {
	case <-changed:
	default:
		t.Error("no change signalled")
	}
	if !isReady(c) || isReady(d) || d.Position() != 1 {
		t.Errorf("after a lab ended: carol ready %v, dave ready %v at %d", isReady(c), isReady(d), d.Position())
	}
	if got := q.Counts(); got.Running != 2 || got.Waiting != 1 {
		t.Errorf("counts %+v", got)
	}
}

func TestAWaiterWhoLeavesGivesUpTheirPlace(t *testing.T) {
	q := NewQueue(1, 1)
	a, b, c := q.Enter(), q.Enter(), q.Enter()
	b.Done()
	if c.Position() != 1 {
		t.Errorf("carol at %d, want 1", c.Position())
	}
	a.Done()
	a.Done() // twice is once
	if !isReady(c) {
		t.Error("carol was not admitted")
	}
	if got := q.Counts(); got.Running != 1 || got.Waiting != 0 {
		t.Errorf("counts %+v", got)
	}
}

func TestStartsAreLimitedToWhatTheCoresAllow(t *testing.T) {
	q := NewQueue(10, 2)
	a, b, c := q.Enter(), q.Enter(), q.Enter()
	if !isReady(a) || !isReady(b) || isReady(c) {
		t.Fatal("want two starting and the third waiting")
	}
	if got := q.Counts(); got.Starting != 2 {
		t.Errorf("starting %d", got.Starting)
	}
	a.Started()
	if !isReady(c) {
		t.Error("a start finished but the third did not start")
	}
	b.Done() // a lab that ends before its first screen frees its start
	d := q.Enter()
	if !isReady(d) {
		t.Error("a failed start kept its place among the starting")
	}
}
