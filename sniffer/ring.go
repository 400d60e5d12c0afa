package sniffer

import "sync"

// ring keeps the most recent frames, bounded by count and bytes, for
// writing a pcap of what was captured.
type ring struct {
	mu       sync.Mutex
	frames   []Packet
	head     int // index of the oldest frame
	n        int
	bytes    int
	maxBytes int
}

func newRing(frames, bytes int) *ring {
	return &ring{frames: make([]Packet, frames), maxBytes: bytes}
}

func (r *ring) add(p Packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(p.Data) > r.maxBytes || len(r.frames) == 0 {
		return
	}
	for r.n > 0 && (r.n == len(r.frames) || r.bytes+len(p.Data) > r.maxBytes) {
		r.dropOldest()
	}
	r.frames[(r.head+r.n)%len(r.frames)] = p
	r.n++
	r.bytes += len(p.Data)
}

func (r *ring) dropOldest() {
	r.bytes -= len(r.frames[r.head].Data)
	r.frames[r.head] = Packet{}
	r.head = (r.head + 1) % len(r.frames)
	r.n--
}

func (r *ring) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// snapshot appends the kept frames to dst, oldest first.
func (r *ring) snapshot(dst []Packet) []Packet {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := 0; i < r.n; i++ {
		dst = append(dst, r.frames[(r.head+i)%len(r.frames)])
	}
	return dst
}
