package sniffer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// pcapStreamOf writes pkts as a pcap stream: "micro" as PcapWriter does,
// "nano" with nanosecond timestamps, "big-endian" as a big-endian host
// writes microseconds.
func pcapStreamOf(t testing.TB, pkts []Packet, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch format {
	case "micro", "big-endian":
		if err := WritePcap(&buf, pkts, 65535); err != nil {
			t.Fatal(err)
		}
	case "nano":
		w := pcapgo.NewWriterNanos(&buf)
		if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
			t.Fatal(err)
		}
		for _, p := range pkts {
			ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(p.Data), Length: p.Length}
			if err := w.WritePacket(ci, p.Data); err != nil {
				t.Fatal(err)
			}
		}
	default:
		t.Fatalf("no pcap format %q", format)
	}
	b := buf.Bytes()
	if format == "big-endian" {
		swap32 := func(b []byte) { binary.BigEndian.PutUint32(b, binary.LittleEndian.Uint32(b)) }
		swap16 := func(b []byte) { binary.BigEndian.PutUint16(b, binary.LittleEndian.Uint16(b)) }
		swap32(b[0:])
		swap16(b[4:])
		swap16(b[6:])
		for _, off := range []int{8, 12, 16, 20} {
			swap32(b[off:])
		}
		for off := 24; off < len(b); {
			n := int(binary.LittleEndian.Uint32(b[off+8:]))
			for i := 0; i < 16; i += 4 {
				swap32(b[off+i:])
			}
			off += 16 + n
		}
	}
	return b
}

// streamPackets is a capture of the seed's exchange, with timestamps that
// only nanoseconds hold.
func streamPackets(t *testing.T) []Packet {
	pkts := capturedConversation(t)
	for i := range pkts {
		pkts[i].Time = pkts[i].Time.Add(time.Duration(100*i+7) * time.Nanosecond)
	}
	return pkts
}

// closeCounter is a stream that counts its Close calls.
type closeCounter struct {
	io.Reader
	closes atomic.Int32
}

func (c *closeCounter) Close() error {
	c.closes.Add(1)
	return nil
}

func newStream(b []byte) *closeCounter { return &closeCounter{Reader: bytes.NewReader(b)} }

// drainAll reads c's packets until it closes them.
func drainAll(t *testing.T, c *Capture) []Packet {
	t.Helper()
	var got []Packet
	timeout := time.After(10 * time.Second)
	for {
		select {
		case p, ok := <-c.Packets():
			if !ok {
				return got
			}
			got = append(got, p)
		case <-timeout:
			t.Fatalf("the capture did not end; %d packets so far", len(got))
		}
	}
}

func samePackets(t *testing.T, got, want []Packet, resolution time.Duration) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d packets, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !bytes.Equal(g.Data, w.Data) || g.Length != w.Length || !g.Time.Equal(w.Time.Truncate(resolution)) {
			t.Errorf("packet %d: %d bytes (wire %d) at %v, want %d (wire %d) at %v",
				i+1, len(g.Data), g.Length, g.Time, len(w.Data), w.Length, w.Time.Truncate(resolution))
		}
	}
}

func TestOpenStreamDeliversEveryFrame(t *testing.T) {
	want := streamPackets(t)
	for _, tc := range []struct {
		format     string
		resolution time.Duration
	}{
		{"micro", time.Microsecond},
		{"nano", time.Nanosecond},
		{"big-endian", time.Microsecond},
	} {
		t.Run(tc.format, func(t *testing.T) {
			r := newStream(pcapStreamOf(t, want, tc.format))
			c, err := OpenStream("ssh:fcs00", r, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := drainAll(t, c)
			<-c.Done()
			if err := c.Err(); err != nil {
				t.Errorf("the stream's end is an error: %v", err)
			}
			samePackets(t, got, want, tc.resolution)
			for i, p := range got {
				if p.Seq != uint64(i+1) {
					t.Errorf("packet %d numbered %d", i+1, p.Seq)
				}
			}
			n := uint64(len(want))
			if st := c.Stats(); st != (Stats{Seen: n, Delivered: n, Ring: len(want)}) {
				t.Errorf("stats %+v", st)
			}
			if c.Interface() != "ssh:fcs00" {
				t.Errorf("interface %q", c.Interface())
			}
			var pcap bytes.Buffer
			if err := c.WritePcap(&pcap); err != nil {
				t.Fatal(err)
			}
			exported, err := ReadPcap(&pcap)
			if err != nil {
				t.Fatal(err)
			}
			samePackets(t, exported, want, time.Microsecond)

			for range 2 {
				if err := c.Close(); err != nil {
					t.Errorf("close after the end: %v", err)
				}
			}
			if n := r.closes.Load(); n != 1 {
				t.Errorf("the stream was closed %d times", n)
			}
		})
	}
}

func TestOpenStreamOptions(t *testing.T) {
	pkts := streamPackets(t)
	n := uint64(len(pkts))
	for _, tc := range []struct {
		name  string
		opts  Options
		check func(t *testing.T, got []Packet, st Stats, written []byte)
	}{
		{"a filter keeps the gossip only", Options{Filter: Filter{Proto: UDP}},
			func(t *testing.T, got []Packet, st Stats, _ []byte) {
				samePackets(t, got, pkts[len(pkts)-1:], time.Microsecond)
				if st.Seen != 1 || st.Ring != 1 {
					t.Errorf("stats %+v", st)
				}
			}},
		{"not port 8181 keeps none of the fortune's flow", Options{Filter: Filter{NotPort: 8181}},
			func(t *testing.T, got []Packet, st Stats, _ []byte) {
				if len(got) != 0 || st.Seen != 0 {
					t.Errorf("%d packets, stats %+v", len(got), st)
				}
			}},
		{"the snap length cuts frames, not their length", Options{Snaplen: 54},
			func(t *testing.T, got []Packet, _ Stats, _ []byte) {
				for i, p := range got {
					if want := min(54, len(pkts[i].Data)); !bytes.Equal(p.Data, pkts[i].Data[:want]) || p.Length != pkts[i].Length {
						t.Errorf("packet %d: %d bytes (wire %d), want %d (wire %d)", i+1, len(p.Data), p.Length, want, pkts[i].Length)
					}
				}
			}},
		{"the ring keeps the newest", Options{RingFrames: 3},
			func(t *testing.T, got []Packet, st Stats, _ []byte) {
				if len(got) != len(pkts) || st.Seen != n || st.Ring != 3 {
					t.Errorf("%d packets, stats %+v", len(got), st)
				}
			}},
		{"Write gets every frame as a pcap", Options{Write: new(bytes.Buffer)},
			func(t *testing.T, _ []Packet, _ Stats, written []byte) {
				back, err := ReadPcap(bytes.NewReader(written))
				if err != nil {
					t.Fatal(err)
				}
				samePackets(t, back, pkts, time.Microsecond)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := OpenStream("ssh:fcs00", newStream(pcapStreamOf(t, pkts, "micro")), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := drainAll(t, c)
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			var written []byte
			if b, ok := tc.opts.Write.(*bytes.Buffer); ok {
				written = b.Bytes()
			}
			tc.check(t, got, c.Stats(), written)
		})
	}
}

func TestOpenStreamCountsWhatItsConsumerMissed(t *testing.T) {
	pkts := streamPackets(t)
	c, err := OpenStream("ssh:fcs00", newStream(pcapStreamOf(t, pkts, "micro")), Options{Buffer: 2})
	if err != nil {
		t.Fatal(err)
	}
	<-c.Done() // nobody reads while the stream is read
	got := drainAll(t, c)
	n := uint64(len(pkts))
	if st := c.Stats(); st != (Stats{Seen: n, Delivered: 2, BufferDrops: n - 2, Ring: len(pkts)}) || len(got) != 2 {
		t.Errorf("%d packets delivered, stats %+v", len(got), st)
	}
}

// brokenStreams are pcap streams that go wrong after their header, and
// how many frames come before.
func brokenStreams(t *testing.T) []struct {
	name   string
	stream []byte
	frames int
	err    string
} {
	pkts := streamPackets(t)
	whole := pcapStreamOf(t, pkts, "micro")
	cutHeader := pcapStreamOf(t, pkts[:2], "micro")
	cutHeader = append(cutHeader, pcapStreamOf(t, pkts[2:3], "micro")[24:24+16]...)

	huge := pcapStreamOf(t, pkts[:1], "micro")
	binary.LittleEndian.PutUint32(huge[16:], 0xffffffff) // a snap length no frame has
	record := make([]byte, 16+64)
	binary.LittleEndian.PutUint32(record[8:], 1<<20)
	binary.LittleEndian.PutUint32(record[12:], 1<<20)
	huge = append(huge, record...)

	longer := pcapStreamOf(t, pkts[:1], "micro")
	record = make([]byte, 16+100)
	binary.LittleEndian.PutUint32(record[8:], 100)
	binary.LittleEndian.PutUint32(record[12:], 60)
	longer = append(longer, record...)

	return []struct {
		name   string
		stream []byte
		frames int
		err    string
	}{
		{"cut inside a frame", whole[:len(whole)-5], len(pkts) - 1, "unexpected EOF"},
		{"cut after a record's header", cutHeader, 2, "unexpected EOF"},
		{"a record longer than any frame", huge, 1, "exceeds snap length"},
		{"a record longer than its frame", longer, 1, "exceeds original packet length"},
	}
}

func TestOpenStreamEndsOnABrokenStream(t *testing.T) {
	for _, tc := range brokenStreams(t) {
		t.Run(tc.name, func(t *testing.T) {
			c, err := OpenStream("ssh:fcs00", newStream(tc.stream), Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := drainAll(t, c)
			<-c.Done()
			err = c.Err()
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "capture on ssh:fcs00: read pcap stream: ") {
				t.Errorf("err %v, want one about %q", err, tc.err)
			}
			if len(got) != tc.frames {
				t.Errorf("%d frames before the error, want %d", len(got), tc.frames)
			}
			if err := c.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
}

func TestOpenStreamRefuses(t *testing.T) {
	pkts := streamPackets(t)
	var raw bytes.Buffer
	w := pcapgo.NewWriter(&raw)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		stream []byte
		opts   Options
		err    string
	}{
		{"an empty stream", nil, Options{}, "the stream ended before its pcap header: did the capture at the other end start?"},
		{"half a header", pcapStreamOf(t, nil, "micro")[:10], Options{}, "ended before its pcap header"},
		{"an SSH banner", []byte("SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\n"), Options{}, "read pcap header: "},
		{"IP without Ethernet", raw.Bytes(), Options{}, "the stream's link type is Raw: only Ethernet captures can be read"},
		{"a filter that cannot be compiled", pcapStreamOf(t, pkts, "micro"), Options{Filter: Filter{Proto: 1}}, "only tcp and udp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newStream(tc.stream)
			c, err := OpenStream("ssh:fcs00", r, tc.opts)
			if err == nil {
				c.Close()
				t.Fatal("opened")
			}
			if !strings.HasPrefix(err.Error(), "capture on ssh:fcs00: ") || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err %q, want one about %q", err, tc.err)
			}
			if n := r.closes.Load(); n != 1 {
				t.Errorf("the stream was closed %d times", n)
			}
		})
	}
}

func TestOpenStreamGivesUpWhenItsStreamCloses(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	go func() {
		time.Sleep(20 * time.Millisecond)
		r.Close()
	}()
	if _, err := OpenStream("ssh:fcs00", r, Options{}); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("err %v, want the closed pipe", err)
	}
}

func TestCloseEndsAStreamThatStaysOpen(t *testing.T) {
	pkts := streamPackets(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write(pcapStreamOf(t, pkts[:2], "micro")); err != nil {
		t.Fatal(err)
	}
	c, err := OpenStream("ssh:fcs00", r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case <-c.Packets():
		case <-time.After(5 * time.Second):
			t.Fatal("no frame from the stream")
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close waits for a stream that stays open")
	}
	if got := drainAll(t, c); len(got) != 0 {
		t.Errorf("%d frames after Close", len(got))
	}
	<-c.Done()
	if err := c.Err(); err != nil {
		t.Errorf("Close is an error: %v", err)
	}
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("the stream is still open: %v", err)
	}
}

// TestFlushEveryWhileFramesFlow feeds a capture a frame every few
// milliseconds: its Write must see them at least every FlushEvery, not
// in one block at Close.
func TestFlushEveryWhileFramesFlow(t *testing.T) {
	const every = 30 * time.Millisecond
	pkts := streamPackets(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write(pcapStreamOf(t, nil, "micro")); err != nil {
		t.Fatal(err)
	}
	out := &writeLog{}
	c, err := OpenStream("ssh:fcs00", r, Options{Write: out, FlushEvery: every})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	var sent int
	for time.Since(start) < 15*every {
		rec := pcapStreamOf(t, pkts[sent%len(pkts):sent%len(pkts)+1], "micro")[24:]
		if _, err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		sent++
		time.Sleep(2 * time.Millisecond)
	}
	flowed := time.Now()
	at := out.times()
	var longest time.Duration
	for i := 1; i < len(at) && at[i].Before(flowed); i++ {
		longest = max(longest, at[i].Sub(at[i-1]))
	}
	t.Logf("%d frames in %v, written in %d writes, at most %v apart", sent, flowed.Sub(start), len(at), longest)
	// A loaded machine runs the flusher late now and then: a margin,
	// but far below the 450 ms of frames that would wait for Close.
	if len(at) < 5 || longest > every+100*time.Millisecond {
		t.Errorf("%d writes, at most %v apart, want one every %v", len(at), longest, every)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	back, err := ReadPcap(bytes.NewReader(out.bytes()))
	if err != nil || len(back) != sent {
		t.Errorf("read back %d frames of %d: %v", len(back), sent, err)
	}
}

// TestFlushEveryAcrossTwoStreams is a remote capture in miniature: a
// capture writes a pcap stream to a pipe, another reads it. Each frame
// must come out of the second soon after it went into the first, though
// nothing follows it.
func TestFlushEveryAcrossTwoStreams(t *testing.T) {
	const every = 20 * time.Millisecond
	pkts := streamPackets(t)
	in, feed, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	wire, out, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := feed.Write(pcapStreamOf(t, nil, "micro")); err != nil {
		t.Fatal(err)
	}
	remote, err := OpenStream("fcs00", in, Options{Write: out, FlushEvery: every})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	local, err := OpenStream("ssh:fcs00", wire, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	var slowest time.Duration
	for i, p := range pkts {
		sent := time.Now()
		if _, err := feed.Write(pcapStreamOf(t, pkts[i:i+1], "micro")[24:]); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-local.Packets():
			if !bytes.Equal(got.Data, p.Data) {
				t.Fatalf("frame %d differs", i+1)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("frame %d never came out", i+1)
		}
		slowest = max(slowest, time.Since(sent))
	}
	t.Logf("%d frames, the slowest across in %v", len(pkts), slowest)
	if slowest > every+200*time.Millisecond {
		t.Errorf("a frame took %v to cross, want about %v", slowest, every)
	}
	if err := remote.Close(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	<-local.Done()
	if err := local.Err(); err != nil {
		t.Errorf("the end of the stream is an error: %v", err)
	}
}

// dropsStream is a stream that knows the other side's kernel drops, as
// the SSH provider's remote capture does.
type dropsStream struct {
	*closeCounter
	drops atomic.Uint64
}

func (s *dropsStream) KernelDrops() uint64 { return s.drops.Load() }

func TestOpenStreamCountsTheOtherSidesKernelDrops(t *testing.T) {
	want := streamPackets(t)
	r := &dropsStream{closeCounter: newStream(pcapStreamOf(t, want, "micro"))}
	r.drops.Store(3)
	c, err := OpenStream("ssh:fcs00", r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.KernelDrops != 3 {
		t.Errorf("kernel drops %d while the other side says 3", st.KernelDrops)
	}
	r.drops.Store(5)
	drainAll(t, c)
	<-c.Done()
	if st := c.Stats(); st.KernelDrops != 5 {
		t.Errorf("kernel drops %d at the end, the other side says 5", st.KernelDrops)
	}
	c.Close()
	r.drops.Store(9)
	if st := c.Stats(); st.KernelDrops != 5 {
		t.Errorf("kernel drops %d after close, want the 5 counted until then", st.KernelDrops)
	}
}
