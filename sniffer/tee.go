package sniffer

import (
	"bufio"
	"fmt"
	"io"
	"sync"
	"time"
)

// tee writes the frames a capture keeps to Options.Write as a pcap
// stream. It buffers them, and writes the buffer out when it is full, by
// Close, and every Options.FlushEvery if set, idle or not, so that a
// reader at the other end of a pipe sees a frame soon after it was
// captured.
type tee struct {
	fail func(error) // told the first write error; nothing is written after it

	mu    sync.Mutex // guards below: the capture writes, the flusher flushes
	buf   *bufio.Writer
	pcap  *PcapWriter
	dirty bool // frames wait in buf
	err   error

	quit, done chan struct{} // stop the flusher, and it stopped; nil without one
}

// newTee writes the pcap header to w, at once when every is set (a
// reader waits for it before it reads frames), and starts flushing every
// every.
func newTee(w io.Writer, snaplen int, every time.Duration, fail func(error)) (*tee, error) {
	t := &tee{fail: fail, buf: bufio.NewWriterSize(w, 256<<10)}
	var err error
	if t.pcap, err = NewPcapWriter(t.buf, snaplen); err != nil {
		return nil, err
	}
	if every <= 0 {
		return t, nil
	}
	if err := t.buf.Flush(); err != nil {
		return nil, fmt.Errorf("write pcap header: %w", err)
	}
	t.quit, t.done = make(chan struct{}), make(chan struct{})
	go t.flushEvery(every)
	return t, nil
}

// write appends p to the stream.
func (t *tee) write(p Packet) {
	t.mu.Lock()
	if t.err != nil {
		t.mu.Unlock()
		return
	}
	err := t.pcap.WritePacket(p)
	t.dirty = true
	if err != nil {
		t.err = err
	}
	t.mu.Unlock()
	if err != nil {
		t.fail(err)
	}
}

// flush writes out the frames waiting in the buffer, if any.
func (t *tee) flush() {
	t.mu.Lock()
	if !t.dirty || t.err != nil {
		t.mu.Unlock()
		return
	}
	t.dirty = false
	err := t.buf.Flush()
	if err != nil {
		err = fmt.Errorf("write pcap: %w", err)
		t.err = err
	}
	t.mu.Unlock()
	if err != nil {
		t.fail(err)
	}
}

func (t *tee) flushEvery(every time.Duration) {
	defer close(t.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-t.quit:
			return
		case <-tick.C:
			t.flush()
		}
	}
}

// close stops the flusher and writes out what is left. It returns the
// stream's first write error, if any.
func (t *tee) close() error {
	if t.quit != nil {
		close(t.quit)
		<-t.done
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return t.err
	}
	if err := t.buf.Flush(); err != nil {
		return fmt.Errorf("write pcap: %w", err)
	}
	return nil
}
