package sniffer

import (
	"encoding/binary"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"
)

// FlowKey names a TCP or UDP flow by its two ends.
type FlowKey struct {
	Proto Proto
	// Client opened the flow: it sent the SYN, or (when the capture
	// missed the handshake) it has the higher port; for UDP it sent the
	// first datagram.
	Client netip.AddrPort
	Server netip.AddrPort
}

// String renders k as "tcp 198.18.0.2:53396 > 198.18.0.1:8181".
func (k FlowKey) String() string {
	return k.Proto.String() + " " + k.Client.String() + " > " + k.Server.String()
}

// direction renders one way of k in tcpdump's words: "fcc00.53396 >
// fcs00.8181" for d == 0, the other way for d == 1.
func (k FlowKey) direction(names Names, d int) string {
	from, to := k.Client, k.Server
	if d == 1 {
		from, to = to, from
	}
	var buf [96]byte // two names and ports fit: one allocation, the string's
	b := names.appendHost(buf[:0], from.Addr())
	b = strconv.AppendInt(append(b, '.'), int64(from.Port()), 10)
	b = names.appendHost(append(b, " > "...), to.Addr())
	b = strconv.AppendInt(append(b, '.'), int64(to.Port()), 10)
	return string(b)
}

// flowID is a flow's map key: the two ends in a fixed order, so that both
// directions find the same flow, in bytes that hash fast.
type flowID struct {
	proto  Proto
	lo, hi [18]byte // 16-byte address, 2-byte port
}

func endpoint(ap netip.AddrPort) [18]byte {
	a := ap.Addr().As16()
	return rawEndpoint(a[:], ap.Port())
}

// rawEndpoint builds an endpoint from an address as the packet holds it
// (4 or 16 bytes): IPv4 as netip.Addr.As16 has it, IPv4-mapped.
func rawEndpoint(ip []byte, port uint16) (e [18]byte) {
	if len(ip) == 4 {
		e[10], e[11] = 0xff, 0xff
		copy(e[12:16], ip)
	} else {
		copy(e[:16], ip)
	}
	e[16], e[17] = byte(port>>8), byte(port)
	return e
}

func less18(a, b *[18]byte) bool {
	if x, y := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8]); x != y {
		return x < y
	}
	if x, y := binary.BigEndian.Uint64(a[8:16]), binary.BigEndian.Uint64(b[8:16]); x != y {
		return x < y
	}
	return binary.BigEndian.Uint16(a[16:]) < binary.BigEndian.Uint16(b[16:])
}

func makeFlowID(proto Proto, a, b netip.AddrPort) flowID {
	return orderedID(proto, endpoint(a), endpoint(b))
}

// orderedID puts the ends in the id's order; srcLow says whether a is
// the id's lo end.
func orderedID(proto Proto, a, b [18]byte) flowID {
	if less18(&b, &a) {
		a, b = b, a
	}
	return flowID{proto: proto, lo: a, hi: b}
}

// AnalyzerOptions bound what an Analyzer keeps. Zero fields take the
// defaults.
type AnalyzerOptions struct {
	// StreamLimit is how many payload bytes are kept per flow and
	// direction, for Follow and the verdict (default 256 KiB). Bytes past
	// it are counted, not kept; the verdict says so.
	StreamLimit int
	// MemoryLimit is how many payload bytes are kept over all flows
	// (default 64 MiB).
	MemoryLimit int
	// MaxFlows is how many flows are kept; the least recently active go
	// first (default 4096).
	MaxFlows int
}

func (o *AnalyzerOptions) defaults() {
	if o.StreamLimit <= 0 {
		o.StreamLimit = 256 << 10
	}
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = 64 << 20
	}
	if o.MaxFlows <= 0 {
		o.MaxFlows = 4096
	}
}

// AnalyzerStats counts what the analyzer was fed.
type AnalyzerStats struct {
	Packets     uint64 // frames fed
	TCP, UDP    uint64 // TCP segments and UDP datagrams
	ARP         uint64
	Other       uint64 // IP packets of another protocol (ICMP, fragments)
	Undecodable uint64 // frames with no IP or ARP layer
	Flows       int    // flows kept now
	Evicted     uint64 // flows forgotten to stay under MaxFlows
	KeptBytes   int    // payload bytes kept now
}

// Analyzer follows flows, reassembles their TCP streams and classifies
// them. It is safe for concurrent use.
type Analyzer struct {
	mu      sync.Mutex
	opts    AnalyzerOptions
	names   Names
	known   *Known
	dec     *decoder
	flows   map[flowID]*flow
	created uint64
	stats   AnalyzerStats
	kept    int
	free    [][]byte // chunks of evicted flows, for reuse

	pool      *reassembly.StreamPool
	asm       *reassembly.Assembler
	ctx       asmContext
	lastFlush time.Time
}

// NewAnalyzer returns an analyzer with the default limits. names may be
// nil.
func NewAnalyzer(names Names) *Analyzer { return NewAnalyzerWith(names, AnalyzerOptions{}) }

// NewAnalyzerWith returns an analyzer with the given limits.
func NewAnalyzerWith(names Names, opts AnalyzerOptions) *Analyzer {
	opts.defaults()
	a := &Analyzer{
		opts:  opts,
		names: names,
		known: NewKnown(),
		dec:   newDecoder(),
		flows: map[flowID]*flow{},
	}
	a.pool = reassembly.NewStreamPool(streamFactory{})
	a.asm = reassembly.NewAssembler(a.pool)
	// Out-of-order segments wait in pages of 1900 bytes: bound them.
	a.asm.MaxBufferedPagesPerConnection = 256
	a.asm.MaxBufferedPagesTotal = 16384
	return a
}

// Names returns the names the analyzer prints hosts by.
func (a *Analyzer) Names() Names { return a.names }

// Known returns the fortunes the analyzer looks for.
func (a *Analyzer) Known() *Known { return a.known }

// AddKnown records a fortune the service sent, to be found on the wire.
func (a *Analyzer) AddKnown(text string) { a.known.Add(text) }

// Stats returns the analyzer's counters.
func (a *Analyzer) Stats() AnalyzerStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.stats
	s.Flows = len(a.flows)
	s.KeptBytes = a.kept
	return s
}

// flow is everything the analyzer knows of one flow.
type flow struct {
	id        flowID
	clientLo  bool // the client is the id's lo end
	key       FlowKey
	created   uint64
	packets   [2]uint64
	bytes     [2]uint64 // frame bytes
	seen      [2]uint64 // payload bytes
	data      [2]stream
	datagrams [2][]int32
	gaps      [2]int
	midStream bool
	fin, rst  bool
	complete  bool // the reassembler ended both directions
	first     time.Time
	last      time.Time
	evicted   bool

	ts      tcpStream
	cls     *classifier
	verdict Verdict
	dirty   bool
	// knownGen is the generation of the known fortunes the verdict was
	// judged against: a fortune learnt later must be looked for too.
	knownGen int
}

// maxDatagrams bounds the datagram lengths kept per UDP direction.
const maxDatagrams = 256

// keep appends payload to direction d within the analyzer's limits.
func (a *Analyzer) keep(f *flow, d int, payload []byte) int {
	room := min(a.opts.StreamLimit-f.data[d].Len(), a.opts.MemoryLimit-a.kept, len(payload))
	if room <= 0 || f.evicted {
		return 0
	}
	f.data[d].write(payload[:room], a.chunk)
	a.kept += room
	f.cls.advance(d, &f.data[d], &f.key, f.midStream, a.known)
	return room
}

// chunk returns memory for a stream: a chunk freed by an evicted flow
// when there is one.
func (a *Analyzer) chunk(size int) []byte {
	if size == chunkSize && len(a.free) > 0 {
		c := a.free[len(a.free)-1]
		a.free = a.free[:len(a.free)-1]
		return c
	}
	return make([]byte, 0, size)
}

// maxFreeChunks bounds the chunks kept for reuse (16 MiB).
const maxFreeChunks = 1024

func (a *Analyzer) release(st *stream) {
	for _, c := range st.chunks {
		if cap(c) == chunkSize && len(a.free) < maxFreeChunks {
			a.free = append(a.free, c[:0])
		}
	}
	*st = stream{}
}

// Feed analyses one frame.
func (a *Analyzer) Feed(p Packet) {
	a.mu.Lock()
	a.known.rlock()
	a.feed(p)
	a.known.runlock()
	a.mu.Unlock()
}

// FeedAll analyses frames in order, taking the locks once.
func (a *Analyzer) FeedAll(ps []Packet) {
	a.mu.Lock()
	a.known.rlock()
	for i := range ps {
		a.feed(ps[i])
	}
	a.known.runlock()
	a.mu.Unlock()
}

func (a *Analyzer) feed(p Packet) {
	a.stats.Packets++
	d := a.dec
	d.decode(p.Data)
	switch {
	case d.hasTCP:
		a.stats.TCP++
	case d.hasUDP:
		a.stats.UDP++
	case d.hasARP:
		a.stats.ARP++
		return
	case d.hasIP4 || d.hasIP6:
		a.stats.Other++
		return
	default:
		a.stats.Undecodable++
		return
	}
	var srcIP, dstIP []byte
	if d.hasIP4 {
		srcIP, dstIP = d.ip4.SrcIP, d.ip4.DstIP
	} else {
		srcIP, dstIP = d.ip6.SrcIP, d.ip6.DstIP
	}
	var proto Proto
	var sport, dport uint16
	if d.hasTCP {
		proto, sport, dport = TCP, uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort)
	} else {
		proto, sport, dport = UDP, uint16(d.udp.SrcPort), uint16(d.udp.DstPort)
	}
	srcEnd := rawEndpoint(srcIP, sport)
	id := orderedID(proto, srcEnd, rawEndpoint(dstIP, dport))
	f := a.flows[id]
	if f == nil {
		srcAddr, dstAddr, ok := d.addrs()
		if !ok {
			a.stats.Undecodable++
			return
		}
		f = a.newFlow(id, proto, netip.AddrPortFrom(srcAddr, sport), netip.AddrPortFrom(dstAddr, dport), p.Time)
	}
	dir := 0
	if (srcEnd == f.id.lo) != f.clientLo {
		dir = 1
	}
	length := p.Length
	if length == 0 {
		length = len(p.Data)
	}
	f.packets[dir]++
	f.bytes[dir] += uint64(length)
	if p.Time.After(f.last) {
		f.last = p.Time
	}
	f.dirty = true

	if proto == UDP {
		payload := d.udp.Payload
		f.seen[dir] += uint64(len(payload))
		if len(payload) > 0 && len(f.datagrams[dir]) < maxDatagrams && a.keep(f, dir, payload) == len(payload) {
			f.datagrams[dir] = append(f.datagrams[dir], int32(len(payload)))
		}
		return
	}
	tcp := &d.tcp
	if tcp.FIN {
		f.fin = true
	}
	if tcp.RST {
		f.rst = true
	}
	if len(tcp.Payload) == 0 && !tcp.SYN && !tcp.FIN && !tcp.RST {
		// A bare acknowledgement carries nothing to reassemble.
		return
	}
	a.ctx.ci = gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(p.Data), Length: length}
	a.ctx.flow, a.ctx.dir = f, dir
	var netFlow gopacket.Flow
	if d.hasIP4 {
		netFlow = d.ip4.NetworkFlow()
	} else {
		netFlow = d.ip6.NetworkFlow()
	}
	a.asm.AssembleWithContext(netFlow, tcp, &a.ctx)

	// Give up on lost segments and idle connections now and then, by
	// capture time.
	if p.Time.Sub(a.lastFlush) > time.Second {
		if !a.lastFlush.IsZero() {
			a.asm.FlushWithOptions(reassembly.FlushOptions{T: p.Time.Add(-2 * time.Second), TC: p.Time.Add(-2 * time.Minute)})
		}
		a.lastFlush = p.Time
	}
}

func (a *Analyzer) newFlow(id flowID, proto Proto, src, dst netip.AddrPort, t time.Time) *flow {
	if len(a.flows) >= a.opts.MaxFlows {
		a.evict()
	}
	client, server := src, dst
	mid := false
	if proto == TCP {
		tcp := &a.dec.tcp
		switch {
		case tcp.SYN && !tcp.ACK:
		case tcp.SYN && tcp.ACK:
			client, server = dst, src
		default:
			mid = true
			if src.Port() < dst.Port() {
				client, server = dst, src
			}
		}
	} else if src.Port() < 1024 && dst.Port() >= 1024 {
		client, server = dst, src
	}
	a.created++
	f := &flow{
		id:        id,
		key:       FlowKey{Proto: proto, Client: client, Server: server},
		clientLo:  endpoint(client) == id.lo,
		created:   a.created,
		midStream: mid,
		first:     t,
		last:      t,
		cls:       &classifier{},
	}
	f.ts.a = a
	f.ts.f = f
	a.flows[id] = f
	return f
}

// evict forgets the least recently active eighth of the flows.
func (a *Analyzer) evict() {
	all := make([]*flow, 0, len(a.flows))
	for _, f := range a.flows {
		all = append(all, f)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].last.Before(all[j].last) })
	for _, f := range all[:max(1, len(all)/8)] {
		delete(a.flows, f.id)
		f.evicted = true
		a.kept -= f.data[0].Len() + f.data[1].Len()
		a.release(&f.data[0])
		a.release(&f.data[1])
		a.stats.Evicted++
	}
}

// asmContext carries the current packet into the reassembly callbacks.
type asmContext struct {
	ci   gopacket.CaptureInfo
	flow *flow
	dir  int
}

func (c *asmContext) GetCaptureInfo() gopacket.CaptureInfo { return c.ci }

type streamFactory struct{}

func (streamFactory) New(_, _ gopacket.Flow, _ *layers.TCP, ac reassembly.AssemblerContext) reassembly.Stream {
	ctx := ac.(*asmContext)
	s := &ctx.flow.ts
	s.firstDir = ctx.dir
	return s
}

// tcpStream receives a flow's reassembled bytes.
type tcpStream struct {
	a *Analyzer
	f *flow
	// firstDir is the direction (0: from the client) of the packet that
	// made the reassembler create this stream: its "client to server".
	firstDir int
}

// flow returns the stream's flow, or the one now kept under its id if
// the stream's was evicted while the reassembler still held it.
func (s *tcpStream) flow() *flow {
	if s.f.evicted {
		if f := s.a.flows[s.f.id]; f != nil {
			s.f = f
		}
	}
	return s.f
}

func (s *tcpStream) Accept(tcp *layers.TCP, _ gopacket.CaptureInfo, _ reassembly.TCPFlowDirection, nextSeq reassembly.Sequence, start *bool, _ reassembly.AssemblerContext) bool {
	f := s.flow()
	if f.complete {
		// Both ways ended: what comes now (the last ACK, a retransmitted
		// FIN) is no stream data, unless a new connection reuses the ends.
		if !tcp.SYN {
			return false
		}
		f.complete = false
	}
	// Joining a connection mid-stream: start where the capture did.
	if !*start && nextSeq == -1 && !tcp.SYN {
		*start = true
	}
	return true
}

func (s *tcpStream) ReassembledSG(sg reassembly.ScatterGather, _ reassembly.AssemblerContext) {
	f := s.flow()
	dir, _, _, skip := sg.Info()
	d := s.firstDir
	if dir == reassembly.TCPDirServerToClient {
		d = 1 - d
	}
	length, _ := sg.Lengths()
	if skip > 0 {
		f.gaps[d] += skip
	}
	if length == 0 {
		return
	}
	f.seen[d] += uint64(length)
	f.dirty = true
	room := min(length, s.a.opts.StreamLimit-f.data[d].Len())
	if room > 0 {
		s.a.keep(f, d, sg.Fetch(room))
	}
}

func (s *tcpStream) ReassemblyComplete(reassembly.AssemblerContext) bool {
	s.flow().complete = true
	return true
}

// FlowSummary is one row of the flow table.
type FlowSummary struct {
	Key FlowKey
	// ClientName and ServerName are the ends' host names, or addresses.
	ClientName, ServerName string
	// Packets, Bytes (frame bytes on the wire) and Payload (TCP or UDP
	// payload) count each way: [0] client to server, [1] back.
	Packets [2]uint64
	Bytes   [2]uint64
	Payload [2]uint64
	// Kept is how many payload bytes Follow returns each way.
	Kept        [2]int
	First, Last time.Time
	// Closed is set when a FIN or RST was seen.
	Closed bool
	// MidStream is set when the capture missed the TCP handshake; Missing
	// counts bytes lost to segments the capture never saw.
	MidStream bool
	Missing   int
	Verdict   Verdict
}

// Direction renders one way of the flow, "fcc00.53396 > fcs00.8181" for
// 0 (client to server) and the reverse for 1.
func (s FlowSummary) Direction(names Names, d int) string { return s.Key.direction(names, d) }

func (a *Analyzer) summary(f *flow) FlowSummary {
	if gen := a.known.generation(); f.dirty || f.knownGen != gen {
		f.knownGen = gen
		v := flowView{
			key:       f.key,
			data:      [2]*stream{&f.data[0], &f.data[1]},
			seen:      f.seen,
			datagrams: f.datagrams,
			packets:   f.packets[0] + f.packets[1],
			midStream: f.midStream,
			gaps:      f.gaps,
		}
		f.verdict = f.cls.verdict(&v, a.known, a.names)
		f.dirty = false
	}
	return FlowSummary{
		Key:        f.key,
		ClientName: a.names.host(f.key.Client.Addr()),
		ServerName: a.names.host(f.key.Server.Addr()),
		Packets:    f.packets,
		Bytes:      f.bytes,
		Payload:    f.seen,
		Kept:       [2]int{f.data[0].Len(), f.data[1].Len()},
		First:      f.first,
		Last:       f.last,
		Closed:     f.fin || f.rst,
		MidStream:  f.midStream,
		Missing:    f.gaps[0] + f.gaps[1],
		Verdict:    f.verdict,
	}
}

// Flows returns every flow kept, oldest first, each with its verdict.
func (a *Analyzer) Flows() []FlowSummary {
	a.mu.Lock()
	defer a.mu.Unlock()
	all := make([]*flow, 0, len(a.flows))
	for _, f := range a.flows {
		all = append(all, f)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].created < all[j].created })
	out := make([]FlowSummary, len(all))
	for i, f := range all {
		out[i] = a.summary(f)
	}
	return out
}

// Flow returns the flow with key k (in either orientation).
func (a *Analyzer) Flow(k FlowKey) (FlowSummary, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.flows[makeFlowID(k.Proto, k.Client, k.Server)]
	if f == nil {
		return FlowSummary{}, false
	}
	return a.summary(f), true
}

// Follow returns copies of the payload kept of flow k: what the client
// sent, and what the server sent, each reassembled in order.
func (a *Analyzer) Follow(k FlowKey) (fromClient, fromServer []byte, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.flows[makeFlowID(k.Proto, k.Client, k.Server)]
	if f == nil {
		return nil, nil, false
	}
	return f.data[0].appendTo(nil), f.data[1].appendTo(nil), true
}

// Flush hands the reassembler's waiting out-of-order data to the flows
// and closes its connections: call it when the capture has ended.
func (a *Analyzer) Flush() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.known.rlock()
	defer a.known.runlock()
	a.asm.FlushAll()
}
