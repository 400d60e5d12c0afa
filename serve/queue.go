//go:build linux

package serve

import "sync"

// Queue admits labs in order of arrival: at most Max run at once, and at
// most Starting of those are starting at the same moment, so a room that
// joins in the same minute does not start thirty labs on two cores.
type Queue struct {
	mu       sync.Mutex
	max      int
	starting int
	running  int // admitted and not yet done, starting ones included
	inStart  int // admitted and not yet started
	waiting  []*Ticket
	changed  chan struct{} // closed and replaced on every change
}

// NewQueue returns a queue for labs labs, starting at most starting at a
// time (both at least 1).
func NewQueue(labs, starting int) *Queue {
	return &Queue{max: max(1, labs), starting: max(1, starting), changed: make(chan struct{})}
}

// Ticket is one place in the queue, then one admitted lab.
type Ticket struct {
	q        *Queue
	ready    chan struct{}
	admitted bool
	started  bool
	done     bool
}

// Enter joins the queue; the ticket's Ready channel closes when a lab may
// start.
func (q *Queue) Enter() *Ticket {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := &Ticket{q: q, ready: make(chan struct{})}
	q.waiting = append(q.waiting, t)
	q.admit()
	return t
}

// admit lets in whoever fits; q.mu is held.
func (q *Queue) admit() {
	for len(q.waiting) > 0 && q.running < q.max && q.inStart < q.starting {
		t := q.waiting[0]
		q.waiting = q.waiting[1:]
		t.admitted = true
		q.running++
		q.inStart++
		close(t.ready)
	}
	close(q.changed)
	q.changed = make(chan struct{})
}

// Changed returns a channel closed at the next change of the queue.
func (q *Queue) Changed() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.changed
}

// Counts are the queue's numbers.
type Counts struct{ Running, Starting, Waiting, Max int }

// Counts returns how many labs run, start and wait.
func (q *Queue) Counts() Counts {
	q.mu.Lock()
	defer q.mu.Unlock()
	return Counts{Running: q.running, Starting: q.inStart, Waiting: len(q.waiting), Max: q.max}
}

// Ready is closed when the ticket's lab may start.
func (t *Ticket) Ready() <-chan struct{} { return t.ready }

// Position is the ticket's place among those waiting, from 1; 0 once
// admitted or done.
func (t *Ticket) Position() int {
	t.q.mu.Lock()
	defer t.q.mu.Unlock()
	for i, w := range t.q.waiting {
		if w == t {
			return i + 1
		}
	}
	return 0
}

// Started says the admitted lab is up (its first screen came): the next
// one may start.
func (t *Ticket) Started() {
	q := t.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if t.admitted && !t.started && !t.done {
		t.started = true
		q.inStart--
		q.admit()
	}
}

// Done gives the place up: a waiter leaves the queue, an admitted lab
// frees its slot. Calling it again does nothing.
func (t *Ticket) Done() {
	q := t.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if t.done {
		return
	}
	t.done = true
	if !t.admitted {
		for i, w := range q.waiting {
			if w == t {
				q.waiting = append(q.waiting[:i:i], q.waiting[i+1:]...)
				break
			}
		}
	} else {
		q.running--
		if !t.started {
			q.inStart--
		}
	}
	q.admit()
}
