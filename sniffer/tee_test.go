package sniffer

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeLog is a writer that remembers when each write came, and can be
// made to fail.
type writeLog struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	at     []time.Time
	failAt int // fail every write from this one on (0: never)
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.at = append(w.at, time.Now())
	if w.failAt > 0 && len(w.at) >= w.failAt {
		return 0, errors.New("broken pipe")
	}
	return w.buf.Write(p)
}

// written is how many writes and bytes came so far.
func (w *writeLog) written() (writes, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.at), w.buf.Len()
}

func (w *writeLog) times() []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Time(nil), w.at...)
}

func (w *writeLog) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.buf.Bytes())
}

func TestTeeFlushes(t *testing.T) {
	p := capturedConversation(t)[0]
	frame := 16 + len(p.Data)
	var fails []error
	fail := func(err error) { fails = append(fails, err) }
	type step struct {
		do                 string // "write" or "flush"
		wantWrites, wantAt int    // writes and bytes seen by the writer after it
	}
	for _, tc := range []struct {
		name   string
		every  time.Duration
		failAt int
		steps  []step
		close  string // what Close says, if it fails
	}{
		{"without FlushEvery frames wait for Close", 0, 0,
			[]step{{"write", 0, 0}, {"write", 0, 0}}, ""},
		{"with FlushEvery the header goes out at once, a frame at the next flush", time.Hour, 0,
			[]step{{"write", 1, 24}, {"flush", 2, 24 + frame}, {"write", 2, 24 + frame}, {"flush", 3, 24 + 2*frame}}, ""},
		{"an idle stream is not written", time.Hour, 0,
			[]step{{"flush", 1, 24}, {"write", 1, 24}, {"flush", 2, 24 + frame}, {"flush", 2, 24 + frame}}, ""},
		{"a failed flush is told once, and Close says it", time.Hour, 2,
			[]step{{"write", 1, 24}, {"flush", 2, 24}, {"write", 2, 24}, {"flush", 2, 24}}, "write pcap: broken pipe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fails = nil
			w := &writeLog{failAt: tc.failAt}
			tee, err := newTee(w, 65535, tc.every, fail)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.steps {
				if s.do == "write" {
					tee.write(p)
				} else {
					tee.flush()
				}
				if writes, n := w.written(); writes != s.wantWrites || n != s.wantAt {
					t.Fatalf("after step %d (%s): %d writes, %d bytes; want %d, %d", i+1, s.do, writes, n, s.wantWrites, s.wantAt)
				}
			}
			err = tee.close()
			if tc.close == "" {
				if err != nil || len(fails) != 0 {
					t.Fatalf("close: %v; told %v", err, fails)
				}
				if _, err := ReadPcap(bytes.NewReader(w.bytes())); err != nil {
					t.Errorf("the stream does not read back: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.close {
				t.Errorf("close: %v, want %q", err, tc.close)
			}
			if len(fails) != 1 || fails[0].Error() != tc.close {
				t.Errorf("told %v, want %q once", fails, tc.close)
			}
		})
	}
}

func TestTeeWithFlushEveryNeedsItsHeaderOut(t *testing.T) {
	_, err := newTee(&writeLog{failAt: 1}, 65535, time.Second, func(error) {})
	if err == nil || !strings.Contains(err.Error(), "write pcap header") {
		t.Fatalf("err %v", err)
	}
}
