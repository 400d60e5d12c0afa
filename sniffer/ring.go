package sniffer

import "sync"

// ring keeps the most recent frames, bounded by count and bytes, for
// writing a pcap of what was captured. Its slots grow as frames come, up
// to the bound: a short capture does not hold a hundred thousand empty
// slots (6 MB), which would also let the heap grow that much more before
// the collector runs.
type ring struct {
	mu        sync.Mutex
	frames    []Packet // slots, used circularly once grown to maxFrames
	head      int      // index of the oldest frame
	n         int
	bytes     int
	maxFrames int
	maxBytes  int
}

func newRing(frames, bytes int) *ring {
	return &ring{maxFrames: max(frames, 0), maxBytes: bytes}
}

func (r *ring) add(p Packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(p.Data) > r.maxBytes || r.maxFrames == 0 {
		return
	}
	for r.n > 0 && (r.n == r.maxFrames || r.bytes+len(p.Data) > r.maxBytes) {
		r.dropOldest()
	}
	if r.n == len(r.frames) {
		r.grow()
	}
	r.frames[(r.head+r.n)%len(r.frames)] = p
	r.n++
	r.bytes += len(p.Data)
}

// grow doubles the slots, up to maxFrames, keeping the frames in order
// from the first slot. r.mu is held, and every slot is in use.
func (r *ring) grow() {
	frames := make([]Packet, min(max(2*len(r.frames), 64), r.maxFrames))
	for i := range r.n {
		frames[i] = r.frames[(r.head+i)%len(r.frames)]
	}
	r.frames, r.head = frames, 0
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
