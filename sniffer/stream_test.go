package sniffer

import (
	"bytes"
	"strings"
	"testing"
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
