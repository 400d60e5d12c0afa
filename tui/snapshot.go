package tui

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"

	"github.com/ztlab/zt-lab/scenes"
	"github.com/ztlab/zt-lab/sniffer"
)

// snapshot is what the live panels show, read from the lab on a tick, off
// the screen's goroutine: View only ever renders a snapshot.
type snapshot struct {
	// panel is the panel it was read for.
	panel  scenes.Panel
	lab    bool
	hosts  []scenes.HostView
	meshed bool
	// attack is the man in the middle, when there is one.
	attack *scenes.AttackView

	capturing bool
	stats     sniffer.Stats
	// dump is the tail of the capture as tcpdump -X lines, newest last.
	dump     []dumpLine
	dataOnly bool
	flows    []sniffer.FlowSummary // newest first
	names    sniffer.Names

	consumer []string
	served   int
}

// dumpLine is one line of tcpdump -X output. Hex lines mark the columns of
// their ASCII part that hold known fortune text.
type dumpLine struct {
	text   string
	header bool
	stolen [][2]uint8 // [start, end) columns of the ASCII part
}

// asciiCol is where the ASCII part of a hex line starts once its leading
// tab is two spaces: "  0x0000:  " (10), 8 groups in 40 columns, 2 spaces.
const asciiCol = 52

// snapshotWant says how much each panel can show, so that the refresh
// reads no more than that.
type snapshotWant struct {
	panel     scenes.Panel
	dumpLines int
	flows     int
	consumer  int
	dataOnly  bool
}

// refresher reads snapshots. It keeps a tcpdump printer between reads;
// one read at a time.
type refresher struct {
	src      labSource
	pr       *sniffer.Printer
	analyzer *sniffer.Analyzer
	labID    string
	buf      []byte
	spans    []sniffer.Span
}

func newRefresher(src labSource) *refresher { return &refresher{src: src} }

// read takes a snapshot of what w asks for.
func (r *refresher) read(w snapshotWant) *snapshot {
	s := &snapshot{panel: w.panel, dataOnly: w.dataOnly}
	lab, ok := r.src.Lab()
	if ok {
		s.lab, s.hosts, s.attack = true, lab.Hosts, lab.Attack
	}
	s.meshed = r.src.Meshed()
	s.stats, s.capturing = r.src.CaptureStats()
	s.names = r.src.Names()
	s.served = len(r.src.Served())
	if w.dumpLines > 0 || w.flows > 0 {
		a := r.src.Analyzer()
		if a != r.analyzer || lab.ID != r.labID || r.pr == nil {
			var known *sniffer.Known
			if a != nil {
				known = a.Known()
			}
			r.pr = sniffer.NewPrinter(s.names, known)
			r.analyzer, r.labID = a, lab.ID
		}
		if w.dumpLines > 0 {
			s.dump = r.dump(w.dumpLines, w.dataOnly)
		}
		if a != nil && w.flows > 0 {
			s.flows = recentFlows(a.Flows(), w.flows)
		}
	}
	if w.consumer > 0 {
		s.consumer = r.src.ConsumerLog(w.consumer)
	}
	return s
}

// dataScan is how many of the newest frames are looked through for frames
// with data.
const dataScan = 512

// dump renders the newest frames as tcpdump -X lines until n lines are
// filled; a frame shows at most n lines, so that a jumbo frame does not
// hide the frames before it.
func (r *refresher) dump(n int, dataOnly bool) []dumpLine {
	want := n
	if dataOnly {
		want = dataScan
	}
	pkts := r.src.Packets(want)
	var blocks [][]dumpLine
	total := 0
	for i := len(pkts) - 1; i >= 0 && total < n; i-- {
		p := pkts[i]
		if dataOnly && payloadLen(p.Data) == 0 {
			continue
		}
		b := r.format(p, n)
		blocks = append(blocks, b)
		total += len(b)
	}
	out := make([]dumpLine, 0, total)
	for i := len(blocks) - 1; i >= 0; i-- {
		out = append(out, blocks[i]...)
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

// format renders one frame in at most max lines.
func (r *refresher) format(p sniffer.Packet, max int) []dumpLine {
	r.buf = r.pr.AppendX(r.buf[:0], p)
	r.spans = r.pr.Spans(r.spans[:0], p)
	var lines []dumpLine
	rest := r.buf
	hex := -1 // index of the first hex line
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		isHex := bytes.HasPrefix(line, []byte("\t0x"))
		if isHex && hex < 0 {
			hex = len(lines)
		}
		text := strings.Replace(string(line), "\t", "  ", 1)
		lines = append(lines, dumpLine{text: text, header: !isHex})
	}
	if hex >= 0 {
		for _, sp := range r.spans {
			for o := sp.Start; o < sp.End; {
				row := hex + o/16
				if row >= len(lines) {
					break
				}
				end := min(sp.End, (o/16+1)*16)
				lines[row].stolen = append(lines[row].stolen, [2]uint8{uint8(o % 16), uint8((end-1)%16 + 1)})
				o = end
			}
		}
	}
	if max < 2 {
		max = 2
	}
	if over := len(lines) - max; over > 0 && hex >= 0 {
		// Cut short, the frame shows its stolen text rather than the
		// IP and TCP headers' hex: each line names its offset.
		first := hex
		for first < len(lines) && len(lines[first].stolen) == 0 {
			first++
		}
		if first < len(lines) {
			n := min(first-hex, over)
			lines = append(lines[:hex], lines[hex+n:]...)
		}
	}
	if len(lines) > max {
		more := len(lines) - (max - 1)
		lines = append(lines[:max-1], dumpLine{text: "  … " + itoa(more) + " more lines", header: true})
	}
	return lines
}

// recentFlows returns up to n flows, those with payload first, newest
// first.
func recentFlows(all []sniffer.FlowSummary, n int) []sniffer.FlowSummary {
	slices.SortStableFunc(all, func(a, b sniffer.FlowSummary) int {
		ap, bp := a.Payload[0]+a.Payload[1] > 0, b.Payload[0]+b.Payload[1] > 0
		if ap != bp {
			if ap {
				return -1
			}
			return 1
		}
		return b.Last.Compare(a.Last)
	})
	if len(all) > n {
		all = all[:n]
	}
	return all
}

// payloadLen is the TCP or UDP payload length of an Ethernet frame, 0 for
// anything else.
func payloadLen(f []byte) int {
	if len(f) < 14 {
		return 0
	}
	et := binary.BigEndian.Uint16(f[12:14])
	f = f[14:]
	if et == 0x8100 && len(f) >= 4 { // one VLAN tag
		et = binary.BigEndian.Uint16(f[2:4])
		f = f[4:]
	}
	var proto byte
	var ipLen, total int
	switch et {
	case 0x0800:
		if len(f) < 20 {
			return 0
		}
		ipLen = int(f[0]&0x0f) * 4
		total = int(binary.BigEndian.Uint16(f[2:4]))
		proto = f[9]
	case 0x86dd:
		if len(f) < 40 {
			return 0
		}
		ipLen = 40
		total = 40 + int(binary.BigEndian.Uint16(f[4:6]))
		proto = f[6]
	default:
		return 0
	}
	total = min(total, len(f))
	if ipLen >= total {
		return 0
	}
	seg := f[ipLen:total]
	switch proto {
	case 6:
		if len(seg) < 20 {
			return 0
		}
		return max(0, len(seg)-int(seg[12]>>4)*4)
	case 17:
		return max(0, len(seg)-8)
	}
	return 0
}
