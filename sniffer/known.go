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
	// inner[i] says that some fortune's first gram is a gram of texts[i]
	// past its start: a scan that finds texts[i] whole must still look at
	// every offset inside it, or miss that fortune's start.
	inner  []bool
	short  []int32  // fortunes too short for the grams
	bloom  []uint64 // prefilter for grams, 32 bits a gram
	shift  uint     // 64 - log2(bits in bloom)
	binary bool     // some gram holds a byte >= 0x80
	gen    int      // len(texts) when last changed
}

// NewKnown returns an empty set of known fortunes.
func NewKnown() *Known {
	return &Known{
		seen:   map[string]bool{},
		grams:  map[uint64]struct{}{},
		starts: map[uint64][]int32{},
	}
}

// growBloom keeps the prefilter at 32 bits a gram or more (3% false
// hits), so that a looked-up offset costs a bit test, not a map lookup.
// k.mu is held.
func (k *Known) growBloom() {
	bits := 1 << 16
	for bits < 32*len(k.grams) {
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
	k.inner = append(k.inner, false)
	k.gen = len(k.texts)
	if len(text) < gramLen+scanStride-1 {
		// Too short to be sure to hold a looked-up gram.
		k.short = append(k.short, i)
		return
	}
	for j := 0; j+gramLen <= len(text); j++ {
		g := binary.LittleEndian.Uint64([]byte(text[j : j+gramLen]))
		if _, ok := k.grams[g]; ok {
			continue
		}
		k.grams[g] = struct{}{}
		k.binary = k.binary || g&highBits != 0
		if len(k.bloom) > 0 {
			h := k.bloomHash(g)
			k.bloom[h/64] |= 1 << (h % 64)
		}
	}
	k.growBloom()
	first := binary.LittleEndian.Uint64([]byte(text[:gramLen]))
	k.starts[first] = append(k.starts[first], i)
	// The new fortune's start inside the others, and the others' starts
	// inside the new one.
	for j, t := range k.texts {
		if !k.inner[j] && len(t) >= gramLen && strings.Contains(t[1:], text[:gramLen]) {
			k.inner[j] = true
		}
	}
	for j := 1; j+gramLen <= len(text) && !k.inner[i]; j++ {
		_, k.inner[i] = k.starts[binary.LittleEndian.Uint64([]byte(text[j:j+gramLen]))]
	}
}

// Len is how many fortunes are known.
func (k *Known) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.texts)
}

// rlock and runlock hold k for reading over many scans (a batch of
// packets); nil is an empty set.
func (k *Known) rlock() {
	if k != nil {
		k.mu.RLock()
	}
}

func (k *Known) runlock() {
	if k != nil {
		k.mu.RUnlock()
	}
}

func (k *Known) generation() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.gen
}

// highBits has the top bit of every byte of a gram: ASCII text has none,
// ciphertext almost always some.
const highBits = 0x8080808080808080

func (k *Known) bloomHash(g uint64) uint64 { return (g * 0x9E3779B97F4A7C15) >> k.shift }

// has reports whether the gram g (gramLen bytes, little-endian) is a run
// of a known fortune. k.mu is held.
func (k *Known) has(g uint64) bool {
	// While every fortune is ASCII, a gram with a high bit set is none
	// of theirs: one test instead of a bloom lookup, for most ciphertext.
	if len(k.bloom) == 0 || g&highBits != 0 && !k.binary {
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

// scanStride spaces the stream offsets whose gram is looked up: a run of
// known text of gramLen+scanStride-1 bytes or more always holds one, and
// around a hit every offset is looked up, so that such runs are counted
// exactly while ciphertext costs one bit test every scanStride bytes.
// Shorter fortunes are searched for whole.
const scanStride = 16

// cand is a known fortune whose first gram was seen at off.
type cand struct {
	fortune int32
	off     int
}

// scan is what a stream was found to hold of the known fortunes. It
// advances over the stream as it grows, and starts over when a fortune is
// added.
type scan struct {
	gen       int // Known.generation scanned against
	next      int // next stride offset to look up
	tested    int // offsets below this in a hit's window were looked up
	pendingTo int // end of the last hit's window
	coveredTo int // stream offset up to which known bytes are counted
	known     int // bytes of the stream inside runs of known fortunes
	firstRun  int // 1 + offset of the first known run; 0 if none
	shortNext int // stream offset up to which short fortunes were sought
	cands     []cand
	scratch   []byte
}

// advance scans the bytes st gained since the last call. k.mu is held
// for reading.
func (s *scan) advance(k *Known, st *stream) {
	if k == nil {
		return
	}
	if s.gen != k.gen {
		*s = scan{gen: k.gen, cands: s.cands[:0], scratch: s.scratch}
	}
	n := st.Len()
	var g8 [gramLen]byte
	gramAt := func(q int) uint64 {
		return binary.LittleEndian.Uint64(st.bytes(q, gramLen, g8[:0]))
	}
	// The rest of the last hit's window, now that more bytes are here.
	for s.tested < s.pendingTo && s.tested+gramLen <= n {
		s.tested = s.test(k, st, gramAt(s.tested), s.tested)
	}
	if len(k.bloom) > 0 {
		base := 0
		for _, c := range st.chunks {
			end := base + len(c)
			for p := s.next; p < end && p+gramLen <= n; p += scanStride {
				var g uint64
				if p+gramLen <= end {
					g = binary.LittleEndian.Uint64(c[p-base:])
				} else {
					g = gramAt(p)
				}
				s.next = p + scanStride
				if p < s.tested || !k.has(g) {
					continue
				}
				s.pendingTo = p + scanStride
				for q := max(s.tested, p-scanStride+1); q < s.pendingTo && q+gramLen <= n; q = s.tested {
					if q >= base && q+gramLen <= end {
						s.tested = s.test(k, st, binary.LittleEndian.Uint64(c[q-base:]), q)
					} else {
						s.tested = s.test(k, st, gramAt(q), q)
					}
				}
			}
			base = end
		}
	}
}

// advanceShort looks for the fortunes too short for the grams in the
// bytes st gained: whole, with a plain search. It is not run as packets
// arrive, only when a verdict is asked for. k.mu is held for reading.
func (s *scan) advanceShort(k *Known, st *stream) {
	if k == nil {
		return
	}
	if s.gen != k.gen {
		return // advance starts over first
	}
	n := st.Len()
	if len(k.short) == 0 || n <= s.shortNext {
		return
	}
	longest := 0
	for _, fi := range k.short {
		longest = max(longest, len(k.texts[fi]))
	}
	from := max(0, s.shortNext-longest+1)
	s.scratch = st.copyTo(s.scratch[:0], from, n-from)
	for _, fi := range k.short {
		t := k.texts[fi]
		if i := bytes.Index(s.scratch, []byte(t)); i >= 0 {
			s.addCand(fi, from+i)
			s.cover(from+i, len(t))
		}
	}
	s.shortNext = n
}

// skipWholeFortunes lets a scan step over a fortune found whole (see
// test); its tests turn it off to compare with the offset-by-offset walk.
var skipWholeFortunes = true

// test looks up the gram g at stream offset q of st and returns the next
// offset to look up. That is q+1, unless a known fortune starts at q,
// whole, with no fortune's start inside it: then every gram of it is
// known and no other fortune starts within it, so looking up each of its
// offsets would find what covering it at once does, and the scan goes on
// past it (its last stride point's window still to be looked up, as when
// stepping through it). k.mu is held.
func (s *scan) test(k *Known, st *stream, g uint64, q int) int {
	if !k.has(g) {
		return q + 1
	}
	s.cover(q, gramLen)
	whole := 0
	for _, f := range k.starts[g] {
		s.addCand(f, q)
		if t := k.texts[f]; !k.inner[f] && len(t) > whole && st.equalAt(q, t) {
			whole = len(t)
		}
	}
	if whole == 0 || !skipWholeFortunes {
		return q + 1
	}
	s.cover(q, whole)
	last := q + whole - gramLen // the fortune's last gram
	s.pendingTo = max(s.pendingTo, last/scanStride*scanStride+scanStride)
	return last + 1
}

// cover counts the n bytes at q as known text.
func (s *scan) cover(q, n int) {
	if s.firstRun == 0 {
		s.firstRun = q + 1
	}
	if q+n > s.coveredTo {
		s.known += q + n - max(q, s.coveredTo)
		s.coveredTo = q + n
	}
}

func (s *scan) addCand(f int32, off int) {
	for _, c := range s.cands {
		if c == (cand{f, off}) {
			return
		}
	}
	if len(s.cands) < 64 {
		s.cands = append(s.cands, cand{f, off})
	}
}

// found returns the longest known fortune that st holds whole. k.mu is
// held for reading.
func (s *scan) found(k *Known, st *stream) (string, bool) {
	if k == nil || len(s.cands) == 0 {
		return "", false
	}
	best := ""
	for _, c := range s.cands {
		t := k.texts[c.fortune]
		if len(t) > len(best) && st.equalAt(c.off, t) {
			best = t
		}
	}
	return best, best != ""
}
