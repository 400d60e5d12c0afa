package sniffer

import (
	"bytes"
	"encoding/binary"
	"io"
	mrand "math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/ztlab/zt-lab/assets"
)

// benchSource replays mixed TCP traffic from memory: benchFlows
// connections at a time, each a handshake, benchData segments of random
// direction and frame sizes from 64 to 1500 bytes (text or random bytes),
// and a close; then the next generation of connections, on new client
// ports. Ports and sequence numbers are patched in place, so that every
// segment is new data to the reassembler.
type benchSource struct {
	frames   [][]byte // templates, in the order fed
	flow     []int    // which connection each frame belongs to
	dir      []int    // 0: client to server
	relSeq   []uint32 // sequence number relative to the side's first
	relAck   []uint32
	round    uint32
	i        int
	base     [][2]uint32 // per connection: initial sequence numbers
	perRound [][2]uint32 // bytes each side sends in a round (plus SYN, FIN)
}

const (
	benchFlows = 64
	benchData  = 128
)

// benchText is English that is no known fortune (the seed's own prose),
// with the seed's fortune in it now and then.
var benchText = strings.Repeat(`Zero Trust is an information security mantra that implements security controls such as encryption so that the underlying infrastructure (hardware, network, software, etc) need not be implicitly trusted. For many organizations, this extends into the cloud where this philosophy is applied to workloads running in public, virtualized clouds. `+
	`Securing Data in Motion as it traverses the physical network can be accomplished with a Service Mesh. This layer of software introduces client and server side authentication and encryption using TLS (transport layer security). `+
	`Since this traffic runs across public network infrastructure in an unencrypted format it is vulnerable to a "man in the middle" snooping and possible modification. `, 4) + seedFortune

// benchFortunes are what the analyzer of a busy lab knows: two hundred
// fortunes, none of them in benchText but the seed's.
func benchFortunes() []string {
	rng := mrand.New(mrand.NewPCG(3, 5))
	words := strings.Fields("you will have long and healthy life love peace deep diva opera singer whose high is lower than those of other principal female friendship sweet steady loyal nature last through whole lifetime money")
	out := []string{seedFortune}
	for len(out) < 200 {
		var b strings.Builder
		for b.Len() < 80+rng.IntN(200) {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteByte(' ')
		}
		out = append(out, b.String()+".")
	}
	return out
}

func newBenchSource(t testing.TB) *benchSource {
	rng := mrand.New(mrand.NewPCG(7, 11))
	text := benchText
	s := &benchSource{base: make([][2]uint32, benchFlows), perRound: make([][2]uint32, benchFlows)}
	type pending struct {
		c    *conv
		left int
		text bool
	}
	convs := make([]pending, benchFlows)
	for i := range convs {
		client := netip.AddrPortFrom(labFCC, 1024)
		server := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 1, byte(i)}), 8181)
		convs[i] = pending{c: newConv(t, client, server), left: benchData, text: i%2 == 0}
		s.base[i] = [2]uint32{300437031, 666152398}
	}
	// Interleave the connections' segments at random, keeping each
	// connection's own order.
	cursor := make([]int, benchFlows)
	active := benchFlows
	for active > 0 {
		i := rng.IntN(benchFlows)
		p := &convs[i]
		if p.left == 0 && cursor[i] == len(p.c.pkts) {
			continue
		}
		if cursor[i] == len(p.c.pkts) {
			if p.left > 0 {
				size := 64 + rng.IntN(1500-64+1)
				n := max(0, size-ethHdrLen-20-20)
				payload := make([]byte, n)
				if p.text {
					off := rng.IntN(len(text) - 1500)
					copy(payload, text[off:])
				} else {
					for j := range payload {
						payload[j] = byte(rng.Uint32())
					}
				}
				d := rng.IntN(2)
				if n == 0 {
					p.c.segment(d, &layers.TCP{}, nil)
				} else {
					p.c.segment(d, &layers.TCP{PSH: true}, payload)
				}
				p.left--
				if p.left == 0 {
					p.c.close()
				}
			}
		}
		for cursor[i] < len(p.c.pkts) {
			frame := p.c.pkts[cursor[i]].Data
			tcpHdr := frame[ethHdrLen+20:]
			d := 0
			if binary.BigEndian.Uint16(tcpHdr[0:2]) == 8181 {
				d = 1
			}
			s.frames = append(s.frames, append([]byte(nil), frame...))
			s.flow = append(s.flow, i)
			s.dir = append(s.dir, d)
			s.relSeq = append(s.relSeq, binary.BigEndian.Uint32(tcpHdr[4:8])-s.base[i][d])
			s.relAck = append(s.relAck, binary.BigEndian.Uint32(tcpHdr[8:12])-s.base[i][1-d])
			cursor[i]++
		}
		if p.left == 0 && cursor[i] == len(p.c.pkts) {
			active--
			s.perRound[i] = [2]uint32{p.c.seq[0] - s.base[i][0], p.c.seq[1] - s.base[i][1]}
		}
	}
	return s
}

// next returns the next frame, patched for the current round.
func (s *benchSource) next() Packet {
	if s.i == len(s.frames) {
		s.i = 0
		s.round++
	}
	i := s.i
	s.i++
	f, frame := s.flow[i], s.frames[i]
	tcpHdr := frame[ethHdrLen+20:]
	port := uint16(1024 + (int(s.round)*benchFlows+f)%60000)
	portOff := 0
	if s.dir[i] == 1 {
		portOff = 2
	}
	binary.BigEndian.PutUint16(tcpHdr[portOff:], port)
	d := s.dir[i]
	// Each round starts every connection afresh: its sides' numbers
	// move on by what the last round sent, as a new ISN would.
	seq := s.base[f][d] + s.round*s.perRound[f][d] + s.relSeq[i]
	ack := s.base[f][1-d] + s.round*s.perRound[f][1-d] + s.relAck[i]
	binary.BigEndian.PutUint32(tcpHdr[4:], seq)
	binary.BigEndian.PutUint32(tcpHdr[8:], ack)
	// A microsecond between frames: a million frames a second.
	at := time.Duration(int(s.round)*len(s.frames)+i) * time.Microsecond
	return Packet{Time: labTime.Add(at), Data: frame, Length: len(frame)}
}

func BenchmarkDecode(b *testing.B) {
	src := newBenchSource(b)
	d := newDecoder()
	b.ReportAllocs()
	b.SetBytes(int64(len(src.frames[len(src.frames)/2])))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.decode(src.frames[i%len(src.frames)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

// BenchmarkPipeline decodes, reassembles and classifies: frames are fed
// in batches of 256 (what a consumer drains from the capture at once),
// and every 16384 frames the flow table is asked for, which brings every
// changed flow's verdict up to date, as a UI's tick would.
func BenchmarkPipeline(b *testing.B) {
	src := newBenchSource(b)
	a := NewAnalyzerWith(labNames, AnalyzerOptions{MaxFlows: 512})
	for _, f := range benchFortunes() {
		a.AddKnown(f)
	}
	// Warm up: a first round creates the reassembler's pools.
	for range len(src.frames) {
		a.Feed(src.next())
	}
	a.Flows()
	var bytes int64
	batch := make([]Packet, 0, 256)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := src.next()
		bytes += int64(len(p.Data))
		batch = append(batch, p)
		if len(batch) == cap(batch) || i == b.N-1 {
			a.FeedAll(batch)
			batch = batch[:0]
		}
		if i%16384 == 16383 {
			a.Flows()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
	b.ReportMetric(float64(bytes)/float64(b.N), "B/pkt")
	if st := a.Stats(); st.TCP == 0 {
		b.Fatalf("stats %+v", st)
	}
}

// BenchmarkFeed is the pipeline without the verdicts.
func BenchmarkFeed(b *testing.B) {
	src := newBenchSource(b)
	a := NewAnalyzerWith(labNames, AnalyzerOptions{MaxFlows: 512})
	for range len(src.frames) {
		a.Feed(src.next())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.Feed(src.next())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

func BenchmarkFormatX(b *testing.B) {
	pr := NewPrinter(seedNames, nil)
	p := seedPacket(b)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = pr.AppendX(buf[:0], p)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

// TestBenchSourceIsInOrder checks that the replayed traffic is what the
// benchmark claims: whole, in-order streams, round after round.
func TestBenchSourceIsInOrder(t *testing.T) {
	src := newBenchSource(t)
	a := NewAnalyzerWith(labNames, AnalyzerOptions{MaxFlows: 512})
	for range 3 * len(src.frames) {
		a.Feed(src.next())
	}
	flows := a.Flows()
	if len(flows) != 3*benchFlows {
		t.Fatalf("%d flows, want %d", len(flows), 3*benchFlows)
	}
	var plain, unknown int
	for _, f := range flows {
		if f.MidStream || f.Missing != 0 || !f.Closed {
			t.Fatalf("flow %v: mid-stream %v, missing %d, closed %v", f.Key, f.MidStream, f.Missing, f.Closed)
		}
		switch f.Verdict.Kind {
		case Plaintext:
			plain++
		case Unknown:
			unknown++
		}
	}
	if plain != len(flows)/2 || unknown != len(flows)/2 {
		t.Errorf("%d plaintext and %d unknown flows of %d", plain, unknown, len(flows))
	}
	sizes := map[bool]int{}
	for _, f := range src.frames {
		sizes[len(f) < 100]++
		if len(f) < 60 || len(f) > 1500 {
			t.Fatalf("frame of %d bytes", len(f))
		}
	}
	t.Logf("%d frames a round, %d under 100 bytes", len(src.frames), sizes[true])
}

// BenchmarkOpenStream is the capture's own work per frame (copy out,
// count, ring, tee, hand over), shared by live captures and streams:
// frames of the mixed traffic come from a pcap stream in memory, and a
// consumer drains them as the pump does.
func BenchmarkOpenStream(b *testing.B) {
	src := newBenchSource(b)
	var stream bytes.Buffer
	pw, err := NewPcapWriter(&stream, 0)
	if err != nil {
		b.Fatal(err)
	}
	for range src.frames {
		if err := pw.WritePacket(src.next()); err != nil {
			b.Fatal(err)
		}
	}
	header, body := stream.Bytes()[:24], stream.Bytes()[24:]
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"deliver", Options{}},
		{"deliver and write", Options{Write: io.Discard}},
		{"deliver and write, flushed every 20ms", Options{Write: io.Discard, FlushEvery: 20 * time.Millisecond}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rounds := (b.N + len(src.frames) - 1) / len(src.frames)
			r := io.MultiReader(bytes.NewReader(header), &repeatReader{b: body, n: rounds})
			b.SetBytes(int64(len(body) / len(src.frames)))
			b.ReportAllocs()
			b.ResetTimer()
			c, err := OpenStream("bench", io.NopCloser(r), tc.opts)
			if err != nil {
				b.Fatal(err)
			}
			for range c.Packets() {
			}
			b.StopTimer()
			c.Close()
			st := c.Stats()
			if st.Seen != uint64(rounds*len(src.frames)) || c.Err() != nil {
				b.Fatalf("stats %+v, %v", st, c.Err())
			}
			b.ReportMetric(float64(st.Seen)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

// repeatReader reads b n times.
type repeatReader struct {
	b    []byte
	n    int
	read int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := copy(p, r.b[r.read:])
	r.read += k
	if r.read == len(r.b) {
		r.read = 0
		r.n--
	}
	return k, nil
}

// BenchmarkReplayFetches is what `zt-lab bench` measures in memory: the
// lab's own traffic while the consumer fetches fortunes as fast as it can
// (each fetch a new connection: handshake, the fortune, its ack, both
// FINs), the fortunes those the service serves, fed to a fresh analyzer
// that knows them all, the
// verdicts asked for at the end, pass after pass.
func BenchmarkReplayFetches(b *testing.B) {
	fortunes := assets.Fortunes()
	var frames []Packet
	for i := range 1000 {
		client := netip.AddrPortFrom(labFCC, uint16(32768+i))
		server := netip.AddrPortFrom(labFCS, 8181)
		c := newConv(b, client, server)
		c.send(1, []byte(fortunes[i%len(fortunes)]+"\n"), 1448)
		c.close()
		frames = append(frames, c.pkts...)
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		b.StopTimer()
		a := NewAnalyzer(labNames)
		for _, f := range fortunes {
			a.AddKnown(f)
		}
		b.StartTimer()
		a.FeedAll(frames)
		a.Flows()
		n += len(frames)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "pkts/s")
	b.ReportMetric(0, "ns/op")
}
