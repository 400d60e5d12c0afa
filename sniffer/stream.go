package sniffer

// stream is the payload kept of one direction of a flow. It grows in
// chunks that never move once written, so that keeping a byte costs one
// copy, and the classifier reads it incrementally.
type stream struct {
	chunks [][]byte // each full but the last
	n      int
}

const (
	minChunk   = 128     // a flow's first chunk fits its first bytes, from this
	firstChunk = 1 << 10 // to this; chunks then double up to chunkSize
	chunkSize  = 16 << 10
)

// Len is how many bytes the stream holds.
func (s *stream) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// write appends p, taking new chunks from alloc.
func (s *stream) write(p []byte, alloc func(size int) []byte) {
	for len(p) > 0 {
		last := len(s.chunks) - 1
		if last < 0 || len(s.chunks[last]) == cap(s.chunks[last]) {
			// A fortune is one segment of a few hundred bytes: its flow
			// holds a chunk its size, not 1 KiB, and a flow that goes on
			// grows by doubling.
			var size int
			if last < 0 {
				size = minChunk
				for size < len(p) && size < firstChunk {
					size *= 2
				}
			} else {
				size = min(2*cap(s.chunks[last]), chunkSize)
			}
			s.chunks = append(s.chunks, alloc(size)[:0])
			last++
		}
		c := s.chunks[last]
		n := min(len(p), cap(c)-len(c))
		s.chunks[last] = append(c, p[:n]...)
		s.n += n
		p = p[n:]
	}
}

// each calls fn with the bytes in [from, to), chunk by chunk.
func (s *stream) each(from, to int, fn func([]byte)) {
	if s == nil {
		return
	}
	to = min(to, s.n)
	base := 0
	for _, c := range s.chunks {
		if from >= to {
			return
		}
		end := base + len(c)
		if from < end {
			fn(c[from-base : min(to, end)-base])
			from = min(to, end)
		}
		base = end
	}
}

// bytes returns the n bytes at off (fewer at the end of the stream): a
// view into the stream when they lie in one chunk, else a copy appended
// to scratch[:0]. The result must not be kept as scratch: it may be the
// stream's own memory.
func (s *stream) bytes(off, n int, scratch []byte) []byte {
	if s == nil || off >= s.n {
		return nil
	}
	n = min(n, s.n-off)
	base := 0
	for _, c := range s.chunks {
		if off < base+len(c) {
			if off+n <= base+len(c) {
				return c[off-base : off-base+n]
			}
			break
		}
		base += len(c)
	}
	out := scratch[:0]
	s.each(off, off+n, func(b []byte) { out = append(out, b...) })
	return out
}

// copyTo appends the n bytes at off (fewer at the end) to dst.
func (s *stream) copyTo(dst []byte, off, n int) []byte {
	s.each(off, off+n, func(b []byte) { dst = append(dst, b...) })
	return dst
}

// equalAt reports whether the stream holds t at off.
func (s *stream) equalAt(off int, t string) bool {
	if off+len(t) > s.Len() {
		return false
	}
	ok := true
	i := 0
	s.each(off, off+len(t), func(b []byte) {
		if ok && string(b) != t[i:i+len(b)] {
			ok = false
		}
		i += len(b)
	})
	return ok
}

// appendTo appends the whole stream to dst.
func (s *stream) appendTo(dst []byte) []byte {
	if s == nil {
		return dst
	}
	s.each(0, s.n, func(b []byte) { dst = append(dst, b...) })
	return dst
}
