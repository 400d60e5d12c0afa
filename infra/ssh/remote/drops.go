package remote

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
)

// dropsPrefix starts a line of a remote capture's stderr that says how
// many frames the host's kernel has dropped so far. The pcap stream on
// stdout has no room for it.
const dropsPrefix = "zt-lab kernel drops: "

// reportDrops writes n as a drops line.
func reportDrops(w io.Writer, n uint64) {
	fmt.Fprintf(w, "%s%d\n", dropsPrefix, n)
}

// Drops reads a remote capture's stderr: it keeps the kernel's drop count
// that the capture reports, and passes every other line on to rest (what
// the capture says when it fails).
type Drops struct {
	n    atomic.Uint64
	rest io.Writer

	mu      sync.Mutex
	partial []byte // a line not ended yet
}

// maxLine bounds a line held while it is not ended yet; a longer one goes
// on to rest in pieces.
const maxLine = 4 << 10

func NewDrops(rest io.Writer) *Drops { return &Drops{rest: rest} }

// KernelDrops is the last count the capture reported.
func (d *Drops) KernelDrops() uint64 { return d.n.Load() }

func (d *Drops) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			d.partial = append(d.partial, p...)
			if len(d.partial) > maxLine {
				_, _ = d.rest.Write(d.partial)
				d.partial = d.partial[:0]
			}
			break
		}
		line := append(d.partial, p[:i+1]...)
		d.partial = d.partial[:0]
		p = p[i+1:]
		if v, ok := parseDrops(line); ok {
			d.n.Store(v)
			continue
		}
		_, _ = d.rest.Write(line)
	}
	return n, nil
}

// parseDrops reads a drops line, newline included.
func parseDrops(line []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(line, []byte(dropsPrefix))
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(string(bytes.TrimSuffix(rest, []byte("\n"))), 10, 64)
	return v, err == nil
}
