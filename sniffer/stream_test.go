package sniffer

import (
	"bytes"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"github.com/ztlab/zt-lab/assets"
)

func TestStreamAcrossChunks(t *testing.T) {
	data := []byte(seedFortune)
	for _, size := range []int{1, 3, 7, 64, 1 << 20} {
		s := streamOf(data[:100], size)
		s.write(data[100:], func(int) []byte { return make([]byte, 0, size) })
		if s.Len() != len(data) || !bytes.Equal(s.appendTo(nil), data) {
			t.Fatalf("size %d: stream holds %q", size, s.appendTo(nil))
		}
		for _, r := range [][2]int{{0, 5}, {5, 20}, {60, 100}, {200, 50}, {209, 5}} {
			want := data[min(r[0], len(data)):min(r[0]+r[1], len(data))]
			if got := s.bytes(r[0], r[1], nil); !bytes.Equal(got, want) {
				t.Errorf("size %d: bytes(%d, %d) = %q, want %q", size, r[0], r[1], got, want)
			}
			if got := s.copyTo(nil, r[0], r[1]); !bytes.Equal(got, want) {
				t.Errorf("size %d: copyTo(%d, %d) = %q", size, r[0], r[1], got)
			}
		}
		if !s.equalAt(4, "holy passion") || s.equalAt(4, "holy passions") || s.equalAt(205, "dar\"\n!") {
			t.Errorf("size %d: equalAt", size)
		}
		if s.at(4) != 'h' {
			t.Errorf("size %d: at(4) = %q", size, s.at(4))
		}
	}
	var empty *stream
	if empty.Len() != 0 || empty.bytes(0, 4, nil) != nil || empty.appendTo(nil) != nil {
		t.Error("a nil stream is not empty")
	}
}

func TestScanCountsKnownBytesAnywhere(t *testing.T) {
	k := NewKnown()
	k.Add(seedFortune)
	k.Add("Q.")
	fortune := []byte(strings.TrimSpace(seedFortune))
	noise := bytes.Repeat([]byte{0xAA}, 37)
	// The fortune at an odd offset, a run of it long enough to be sure
	// to be seen, a short fortune.
	run := gramLen + scanStride - 1
	data := append(append(append(append(append([]byte(nil), noise...), fortune...), noise...), fortune[50:50+run]...), noise...)
	data = append(data, "..Q.."...)
	want := len(fortune) + run + 2
	k.rlock()
	defer k.runlock()
	for _, size := range []int{1, 5, 8, 100, 1 << 20} {
		for _, step := range []int{1, 13, 1000} {
			st := &stream{}
			var sc scan
			for off := 0; off < len(data); off += step {
				st.write(data[off:min(off+step, len(data))], func(int) []byte { return make([]byte, 0, size) })
				sc.advance(k, st)
				sc.advanceShort(k, st)
			}
			if sc.known != want {
				t.Errorf("chunks %d, steps %d: %d known bytes, want %d", size, step, sc.known, want)
			}
			if f, ok := sc.found(k, st); !ok || f != string(fortune) {
				t.Errorf("chunks %d, steps %d: found %q", size, step, f)
			}
			if sc.firstRun != len(noise)+1 {
				t.Errorf("first run at %d", sc.firstRun-1)
			}
		}
	}
}

func TestScanFindsFortunesBeyondASCII(t *testing.T) {
	k := NewKnown()
	k.Add(seedFortune)
	utf8 := "Ça ira — mieux demain, dit le proverbe, à qui sait attendre."
	k.Add(utf8)
	data := append(append([]byte("\x00\x01 noise "), utf8...), " and more"...)
	k.rlock()
	defer k.runlock()
	var sc scan
	sc.advance(k, streamOf(data, 16))
	if f, ok := sc.found(k, streamOf(data, 16)); !ok || f != utf8 || sc.known != len(utf8) {
		t.Fatalf("found %q (%v), %d known bytes, want %d", f, ok, sc.known, len(utf8))
	}
}

// at returns the byte at off; the caller checks off < Len.
func (s *stream) at(off int) byte {
	for _, c := range s.chunks {
		if off < len(c) {
			return c[off]
		}
		off -= len(c)
	}
	return 0
}

// streamOf returns a stream holding b, cut into chunks of at most size
// bytes (tests cut it anywhere).
func streamOf(b []byte, size int) *stream {
	s := &stream{}
	s.write(b, func(int) []byte { return make([]byte, 0, max(1, size)) })
	return s
}

// TestScanSteppingOverWholeFortunesFindsWhatEveryOffsetDoes compares the
// scan that steps over a fortune found whole with the walk that looks up
// every offset, on streams of the lab's fortunes, pieces of them, noise
// and fortunes that start inside others, fed in pieces of every size.
func TestScanSteppingOverWholeFortunesFindsWhatEveryOffsetDoes(t *testing.T) {
	fortunes := assets.Fortunes()
	k := NewKnown()
	for _, f := range fortunes {
		k.Add(f)
	}
	// A fortune holding another's start, and one starting inside it.
	k.Add("Outer text that holds " + strings.TrimSpace(fortunes[3])[:20] + " and goes on for a while.")
	k.Add("tart of a fortune that starts inside another one, and is long")
	k.Add("The start of a fortune that starts inside another one, and is longer")
	rng := mrand.New(mrand.NewPCG(1, 2))
	k.rlock()
	defer k.runlock()
	for i := range 300 {
		var data []byte
		for len(data) < 2000 {
			f := []byte(strings.TrimSpace(k.texts[rng.IntN(len(k.texts))]))
			switch rng.IntN(4) {
			case 0:
				data = append(data, f...)
			case 1:
				a := rng.IntN(len(f))
				data = append(data, f[a:a+rng.IntN(len(f)-a)+1]...)
			case 2:
				for range rng.IntN(40) {
					data = append(data, byte(rng.UintN(256)))
				}
			default:
				data = append(data, "\n"...)
			}
		}
		step, size := 1+rng.IntN(600), 1+rng.IntN(2000)
		var got, want scan
		for _, c := range []struct {
			sc   *scan
			skip bool
		}{{&got, true}, {&want, false}} {
			skipWholeFortunes = c.skip
			st := &stream{}
			for off := 0; off < len(data); off += step {
				st.write(data[off:min(off+step, len(data))], func(int) []byte { return make([]byte, 0, size) })
				c.sc.advance(k, st)
			}
			c.sc.advanceShort(k, st)
			f, _ := c.sc.found(k, st)
			c.sc.scratch = []byte(f) // compared below
		}
		skipWholeFortunes = true
		if got.known != want.known || got.firstRun != want.firstRun || string(got.scratch) != string(want.scratch) || len(got.cands) != len(want.cands) {
			t.Fatalf("stream %d (steps of %d, chunks of %d): stepping over finds %d known bytes from %d, %q, %d candidates; every offset %d from %d, %q, %d",
				i, step, size, got.known, got.firstRun, got.scratch, len(got.cands), want.known, want.firstRun, want.scratch, len(want.cands))
		}
	}
}
