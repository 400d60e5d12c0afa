package sniffer

import (
	"bytes"
	"encoding/binary"
	mathbits "math/bits"
	"strings"
	"sync"
)

// gramLen is the shortest run of a known fortune that counts as found on
// the wire. Eight bytes of ciphertext match a given eight bytes of text
// with probability 2^-64: a match is never chance.
const gramLen = 8

// Known holds the fortunes the service sent, to find them on the wire. It
// is safe for concurrent use.
type Known struct {
	mu     sync.RWMutex
	texts  []string
	seen   map[string]bool
	grams  map[uint64]struct{} // every gramLen-byte run of every fortune
	starts map[uint64][]int32  // fortunes by their first gram
	short  []int32             // fortunes shorter than gramLen
	bloom  []uint64            // prefilter for grams, 16 bits a gram
	shift  uint                // 64 - log2(bits in bloom)
	gen    int                 // len(texts) when last changed
}

// NewKnown returns an empty set of known fortunes.
func NewKnown() *Known {
	return &Known{
		seen:   map[string]bool{},
		grams:  map[uint64]struct{}{},
		starts: map[uint64][]int32{},
	}
}

// growBloom keeps the prefilter at 16 bits a gram or more, so that a
// stream byte costs a bit test, not a map lookup. k.mu is held.
func (k *Known) growBloom() {
	bits := 1 << 16
	for bits < 16*len(k.grams) {
		bits <<= 1
	}
	if bits <= 64*len(k.bloom) {
		return
	}
	k.bloom = make([]uint64, bits/64)
	k.shift = uint(64 - mathbits.Len(uint(bits)-1))
	for g := range k.grams {
		h := k.bloomHash(g)
		k.bloom[h/64] |= 1 << (h % 64)
	}
}

// Add records a fortune the service sent. Surrounding white space is not
// part of it: the wire and the consumer's output may differ there.
func (k *Known) Add(text string) {
	text = strings.TrimSpace(text)
	if text == "" {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.seen[text] {
		return
	}
	k.seen[text] = true
	i := int32(len(k.texts))
	k.texts = append(k.texts, text)
	k.gen = len(k.texts)
	if len(text) < gramLen {
		k.short = append(k.short, i)
		return
	}
	for j := 0; j+gramLen <= len(text); j++ {
		g := binary.LittleEndian.Uint64([]byte(text[j : j+gramLen]))
		if _, ok := k.grams[g]; ok {
			continue
		}
		k.grams[g] = struct{}{}
		if len(k.bloom) > 0 {
			h := k.bloomHash(g)
			k.bloom[h/64] |= 1 << (h % 64)
		}
	}
	k.growBloom()
	first := binary.LittleEndian.Uint64([]byte(text[:gramLen]))
	k.starts[first] = append(k.starts[first], i)
}

// Len is how many fortunes are known.
func (k *Known) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.texts)
}

func (k *Known) generation() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.gen
}

func (k *Known) bloomHash(g uint64) uint64 { return (g * 0x9E3779B97F4A7C15) >> k.shift }

// has reports whether the gram g (gramLen bytes, little-endian) is a run
// of a known fortune. k.mu is held.
func (k *Known) has(g uint64) bool {
	if len(k.bloom) == 0 {
		return false
	}
	h := k.bloomHash(g)
	if k.bloom[h/64]&(1<<(h%64)) == 0 {
		return false
	}
	_, ok := k.grams[g]
	return ok
}

// Span is a range [Start, End) of bytes.
type Span struct{ Start, End int }

// Spans appends to dst the ranges of b that are runs of known fortunes
// (at least gramLen bytes long, or a whole short fortune), merged and in
// order.
func (k *Known) Spans(dst []Span, b []byte) []Span {
	k.mu.RLock()
	defer k.mu.RUnlock()
	for i := 0; i+gramLen <= len(b); i++ {
		if !k.has(binary.LittleEndian.Uint64(b[i:])) {
			continue
		}
		dst = addSpan(dst, Span{i, i + gramLen})
	}
	for _, fi := range k.short {
		t := k.texts[fi]
		for off := 0; ; {
			j := bytes.Index(b[off:], []byte(t))
			if j < 0 {
				break
			}
			dst = addSpan(dst, Span{off + j, off + j + len(t)})
			off += j + 1
		}
	}
	return dst
}

// addSpan adds s to spans sorted by start, merging overlaps.
func addSpan(spans []Span, s Span) []Span {
	n := len(spans)
	if n > 0 && s.Start <= spans[n-1].End && s.Start >= spans[n-1].Start {
		spans[n-1].End = max(spans[n-1].End, s.End)
		return spans
	}
	// Short fortunes are found after the grams: keep the order.
	i := n
	for i > 0 && spans[i-1].Start > s.Start {
		i--
	}
	spans = append(spans, Span{})
	copy(spans[i+1:], spans[i:])
	spans[i] = s
	// Merge around i.
	out := spans[:0]
	for _, sp := range spans {
		if m := len(out); m > 0 && sp.Start <= out[m-1].End {
			out[m-1].End = max(out[m-1].End, sp.End)
			continue
		}
		out = append(out, sp)
	}
	return out
}

// scan is what a stream of bytes was found to hold of the known
// fortunes. It advances over the stream as it grows, and starts over when
// a fortune is added.
type scan struct {
	gen       int     // Known.generation scanned against
	next      int     // next stream offset to test as a gram start
	coveredTo int     // stream offset up to which known bytes are counted
	known     int     // bytes of the stream inside runs of known fortunes
	cands     []int32 // fortunes whose first gram was seen
	firstRun  int     // 1 + offset of the first known run; 0 if none
}

// advance scans the new bytes of data (the stream so far).
func (s *scan) advance(k *Known, data []byte) {
	if k == nil {
		return
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if s.gen != k.gen {
		*s = scan{gen: k.gen, cands: s.cands[:0]}
	}
	for i := s.next; i+gramLen <= len(data); i++ {
		g := binary.LittleEndian.Uint64(data[i:])
		if !k.has(g) {
			continue
		}
		if s.firstRun == 0 {
			s.firstRun = i + 1
		}
		start := max(i, s.coveredTo)
		s.known += i + gramLen - start
		s.coveredTo = i + gramLen
		if fs, ok := k.starts[g]; ok {
			for _, f := range fs {
				s.addCand(f)
			}
		}
	}
	if n := len(data) - gramLen + 1; n > s.next {
		s.next = n
	}
	// Short fortunes are only ever found whole.
	for _, fi := range k.short {
		if bytes.Contains(data, []byte(k.texts[fi])) {
			s.addCand(fi)
		}
	}
}

func (s *scan) addCand(f int32) {
	for _, c := range s.cands {
		if c == f {
			return
		}
	}
	if len(s.cands) < 64 {
		s.cands = append(s.cands, f)
	}
}

// found returns the longest known fortune that data holds whole.
func (s *scan) found(k *Known, data []byte) (string, bool) {
	if k == nil || len(s.cands) == 0 {
		return "", false
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	best := ""
	for _, f := range s.cands {
		t := k.texts[f]
		if len(t) > len(best) && bytes.Contains(data, []byte(t)) {
			best = t
		}
	}
	return best, best != ""
}
