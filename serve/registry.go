//go:build linux

package serve

import (
	"errors"
	"slices"
	"sync"
	"time"
)

// ErrRoomFull refuses an attendee when the server knows as many as it
// has uids for.
var ErrRoomFull = errors.New("the room is full")

// ErrTooManySessions refuses a key that already has as many sessions as
// the server allows one key.
var ErrTooManySessions = errors.New("too many sessions with this key")

// Attendee is one person in the room, known by their key's fingerprint.
// Their lab outlives a dropped connection by the registry's grace period.
type Attendee struct {
	ID     string // the key's SHA256 fingerprint
	Name   string
	Slot   int // theirs while they are known: it picks their uid and directory
	Joined time.Time

	startMu sync.Mutex // held by the session that waits for and starts the lab

	mu        sync.Mutex
	sessions  int
	lab       *Lab
	lastInput time.Time
	attached  func() // detaches the session on screen, for a newer one
	expiry    stopper
}

// Lab returns the attendee's lab, nil before it starts.
func (a *Attendee) Lab() *Lab {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lab
}

// SetLab records the attendee's lab.
func (a *Attendee) SetLab(l *Lab) {
	a.mu.Lock()
	a.lab = l
	a.mu.Unlock()
}

// Sessions is how many connections the attendee has now.
func (a *Attendee) Sessions() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessions
}

// Typed records input from the attendee, for the idle time.
func (a *Attendee) Typed(at time.Time) {
	a.mu.Lock()
	a.lastInput = at
	a.mu.Unlock()
}

// LastInput is when the attendee last typed (their join, before that).
func (a *Attendee) LastInput() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lastInput.IsZero() {
		return a.Joined
	}
	return a.lastInput
}

// TakeScreen makes the calling session the one on the lab's screen: the
// session there before is detached (told and closed) by its detach.
func (a *Attendee) TakeScreen(detach func()) {
	a.mu.Lock()
	prev := a.attached
	a.attached = detach
	a.mu.Unlock()
	if prev != nil {
		prev()
	}
}

// stopper is a timer as the registry uses it (time.Timer in the server).
type stopper interface{ Stop() bool }

// Registry is every attendee the server knows, by key.
type Registry struct {
	mu     sync.Mutex
	keep   time.Duration
	perKey int
	now    func() time.Time
	after  func(time.Duration, func()) stopper
	expire func(*Attendee) // ends an attendee's lab after the grace period
	byID   map[string]*Attendee
	slots  []bool // in use
	// capacity bounds the slots; 0 is no bound.
	capacity int
}

// NewRegistry keeps a disconnected attendee's lab for keep, allows perKey
// sessions per key, and calls expire (from its own goroutine) for an
// attendee whose grace period ran out; the attendee is forgotten after.
func NewRegistry(keep time.Duration, perKey int, expire func(*Attendee)) *Registry {
	return &Registry{
		keep: keep, perKey: max(1, perKey), now: time.Now, expire: expire,
		after: func(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) },
		byID:  map[string]*Attendee{},
	}
}

// Join is a new session with the key id. A known attendee is returned
// with reconnect true and their grace period stopped.
func (r *Registry) Join(id, name string) (a *Attendee, reconnect bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.byID[id]; ok {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.sessions >= r.perKey {
			return nil, false, ErrTooManySessions
		}
		a.sessions++
		if a.expiry != nil {
			a.expiry.Stop()
			a.expiry = nil
		}
		return a, true, nil
	}
	slot := slices.Index(r.slots, false)
	if slot < 0 && r.capacity > 0 && len(r.slots) >= r.capacity {
		return nil, false, ErrRoomFull
	}
	if slot < 0 {
		slot = len(r.slots)
		r.slots = append(r.slots, false)
	}
	r.slots[slot] = true
	a = &Attendee{ID: id, Name: name, Slot: slot, Joined: r.now(), sessions: 1}
	r.byID[id] = a
	return a, false, nil
}

// Leave ends one of a's sessions. With none left, the grace period
// starts; a Join with the same key before it ends stops it.
func (r *Registry) Leave(a *Attendee) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sessions > 0 {
		a.sessions--
	}
	if a.sessions > 0 || r.byID[a.ID] != a {
		return
	}
	a.expiry = r.after(r.keep, func() { r.expireNow(a) })
}

func (r *Registry) expireNow(a *Attendee) {
	r.mu.Lock()
	a.mu.Lock()
	stale := r.byID[a.ID] != a || a.sessions > 0
	a.mu.Unlock()
	if stale {
		r.mu.Unlock()
		return // they came back, or the lab ended on its own meanwhile
	}
	// Forgotten first, so a Join from now on is a new attendee; the slot
	// (their uid and directory) stays taken until the lab has ended.
	delete(r.byID, a.ID)
	r.mu.Unlock()
	r.expire(a)
	r.mu.Lock()
	r.slots[a.Slot] = false
	r.mu.Unlock()
}

// Remove forgets a at once (their lab has ended) and frees their slot.
func (r *Registry) Remove(a *Attendee) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID[a.ID] != a {
		return
	}
	delete(r.byID, a.ID)
	r.slots[a.Slot] = false
	a.mu.Lock()
	if a.expiry != nil {
		a.expiry.Stop()
		a.expiry = nil
	}
	a.mu.Unlock()
}

// Attendees lists everyone known, in order of joining.
func (r *Registry) Attendees() []*Attendee {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Attendee, 0, len(r.byID))
	for _, a := range r.byID {
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y *Attendee) int { return x.Joined.Compare(y.Joined) })
	return out
}
