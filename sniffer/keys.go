package sniffer

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// PrivateKey is a private key to look for on the wire, by name.
type PrivateKey struct {
	Name string // "Connect CA root key (rotated)", "leaf key of fcs"
	PEM  []byte
}

// KeyHit is a piece of a private key found in a captured frame.
type KeyHit struct {
	Key   string // PrivateKey.Name
	Frame uint64 // the frame's number in the spool, from 1
	Form  string // "PEM line" or "DER bytes"
}

// KeySearch is what searching every captured byte for private keys found.
type KeySearch struct {
	Keys    int // keys searched for
	Needles int // pieces of them searched for
	Frames  uint64
	Bytes   int64
	Hits    []KeyHit
}

// Spool keeps every frame a capture saw, whole, in a file only its owner
// can read (0600), so that the whole capture can be searched afterwards
// for secrets learned later (a key is known to the lab only once it made
// or fetched it). It is safe for concurrent use.
type Spool struct {
	mu     sync.Mutex
	f      *os.File
	w      *bufio.Writer
	frames uint64
	bytes  int64
	err    error
}

// NewSpool creates a spool in dir (the system's temporary directory when
// empty). Close removes it.
func NewSpool(dir string) (*Spool, error) {
	f, err := os.CreateTemp(dir, "zt-lab-wire-*.spool")
	if err != nil {
		return nil, fmt.Errorf("spool the capture: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("spool the capture: %w", err)
	}
	return &Spool{f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

// Write appends a frame.
func (s *Spool) Write(data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil || s.f == nil {
		return
	}
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(data)))
	if _, err := s.w.Write(n[:]); err != nil {
		s.err = err
		return
	}
	if _, err := s.w.Write(data); err != nil {
		s.err = err
		return
	}
	s.frames++
	s.bytes += int64(len(data))
}

// Search looks in every frame spooled so far for a piece of any of keys.
func (s *Spool) Search(keys []PrivateKey) (KeySearch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return KeySearch{}, errors.New("the spool is closed")
	}
	if s.err != nil {
		return KeySearch{}, fmt.Errorf("spooling the capture failed: %w", s.err)
	}
	if err := s.w.Flush(); err != nil {
		return KeySearch{}, err
	}
	r := io.NewSectionReader(s.f, 0, 1<<62)
	return SearchKeys(bufio.NewReaderSize(r, 256<<10), keys)
}

// Close removes the spool.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	if rerr := os.Remove(s.f.Name()); err == nil {
		err = rerr
	}
	s.f = nil
	return err
}

// needle is a piece of a key as it could cross the wire.
type needle struct {
	key, form string
	b         []byte
}

// pieceLen is how long a piece is: one PEM line (64 base64 characters),
// or the 48 bytes of DER it encodes. A piece that long appears in a frame
// by chance about never, and a key sent whole — in PEM, in JSON (where
// PEM's line breaks become \n and its lines stay intact), or as raw DER —
// has at least one whole piece in one frame even when it is split across
// segments.
const pieceLen = 64

// needles cuts each key into the pieces looked for: its PEM body's lines
// and its DER in runs of 48 bytes, the short tails kept when at least
// 16 long.
func needles(keys []PrivateKey) ([]needle, error) {
	var out []needle
	for _, k := range keys {
		block, _ := pem.Decode(k.PEM)
		if block == nil {
			return nil, fmt.Errorf("key %q is not PEM", k.Name)
		}
		b64 := []byte(base64.StdEncoding.EncodeToString(block.Bytes))
		for i := 0; i < len(b64); i += pieceLen {
			if p := b64[i:min(i+pieceLen, len(b64))]; len(p) >= 16 {
				out = append(out, needle{k.Name, "PEM line", p})
			}
		}
		der := block.Bytes
		for i := 0; i < len(der); i += pieceLen * 3 / 4 {
			if p := der[i:min(i+pieceLen*3/4, len(der))]; len(p) >= 16 {
				out = append(out, needle{k.Name, "DER bytes", p})
			}
		}
	}
	return out, nil
}

// SearchKeys reads frames as a Spool writes them (a little-endian uint32
// length, then the frame) and finds every frame holding a piece of a key.
// It looks up each byte position of each frame by its first 8 bytes, so
// its cost grows with the capture, not with the number of pieces.
func SearchKeys(r io.Reader, keys []PrivateKey) (KeySearch, error) {
	ns, err := needles(keys)
	if err != nil {
		return KeySearch{}, err
	}
	res := KeySearch{Keys: len(keys), Needles: len(ns)}
	byPrefix := map[uint64][]int{}
	for i, n := range ns {
		byPrefix[binary.LittleEndian.Uint64(n.b)] = append(byPrefix[binary.LittleEndian.Uint64(n.b)], i)
	}
	var frame []byte
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return res, nil
			}
			return res, fmt.Errorf("read the spool: %w", err)
		}
		n := binary.LittleEndian.Uint32(hdr[:])
		if cap(frame) < int(n) {
			frame = make([]byte, n)
		}
		frame = frame[:n]
		if _, err := io.ReadFull(r, frame); err != nil {
			return res, fmt.Errorf("read the spool: %w", err)
		}
		res.Frames++
		res.Bytes += int64(n)
		found := map[int]bool{}
		for i := 0; i+8 <= len(frame); i++ {
			for _, j := range byPrefix[binary.LittleEndian.Uint64(frame[i:])] {
				nd := ns[j]
				if !found[j] && i+len(nd.b) <= len(frame) && string(frame[i:i+len(nd.b)]) == string(nd.b) {
					found[j] = true
					res.Hits = append(res.Hits, KeyHit{Key: nd.key, Frame: res.Frames, Form: nd.form})
				}
			}
		}
	}
}
