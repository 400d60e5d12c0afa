package infra

import "sync"

// TailLines is how many lines of output a process keeps in memory.
const TailLines = 512

// Lines keeps the last TailLines lines a process wrote, for Proc.Tail.
// Its zero value is ready; it is safe for concurrent use.
type Lines struct {
	mu   sync.Mutex
	ring []string
	next int // where the next line goes once ring is full
}

// Add keeps line, forgetting the oldest once TailLines are kept.
func (l *Lines) Add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ring) < TailLines {
		l.ring = append(l.ring, line)
		return
	}
	l.ring[l.next] = line
	l.next = (l.next + 1) % TailLines
}

// Tail returns up to n of the last lines, oldest first; n < 0 returns
// every line kept.
func (l *Lines) Tail(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := make([]string, 0, len(l.ring))
	if len(l.ring) < TailLines {
		lines = append(lines, l.ring...)
	} else {
		lines = append(lines, l.ring[l.next:]...)
		lines = append(lines, l.ring[:l.next]...)
	}
	if n >= 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}
