package sniffer

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Kind is what a flow's verdict says about it.
type Kind uint8

// Verdict kinds. Unknown is the honest answer when the data does not say.
const (
	Unknown   Kind = iota // not enough data, or nothing recognised
	Plaintext             // someone on the wire can read it
	Encrypted             // ciphertext, and none of the known fortunes in it
)

func (k Kind) String() string {
	switch k {
	case Plaintext:
		return "PLAINTEXT"
	case Encrypted:
		return "ENCRYPTED"
	}
	return "UNKNOWN"
}

// Verdict says whether a flow could be read, and why.
type Verdict struct {
	Kind Kind
	// Protocol names what was recognised: "TLS", "Consul RPC over TLS",
	// "Consul gossip", "text"; empty when nothing was.
	Protocol string
	// Evidence says why, one finding per entry, in the order they matter.
	Evidence []string
	// Fortune is a known fortune found whole on the wire.
	Fortune string
	// Excerpt is readable payload (PLAINTEXT), for display.
	Excerpt string
	// KnownBytes counts payload bytes inside runs of known fortune text
	// (8 bytes or more); ScannedBytes how many payload bytes were looked
	// at; KnownFortunes how many fortunes were looked for.
	KnownBytes    int
	ScannedBytes  int
	KnownFortunes int
	// PayloadBytes counts the payload seen, both ways; more than
	// ScannedBytes when the flow outgrew what is kept of it.
	PayloadBytes uint64
	// Entropy is in bits per byte, of TLS application data or gossip
	// ciphertext when recognised, else of the whole payload; over
	// EntropyBytes bytes.
	Entropy      float64
	EntropyBytes int
	// TLS is what the TLS records said, when there were any.
	TLS *TLSInfo
}

// String is the verdict in one line: kind, protocol and first evidence.
func (v Verdict) String() string {
	s := v.Kind.String()
	if v.Protocol != "" {
		s += " (" + v.Protocol + ")"
	}
	if len(v.Evidence) > 0 {
		first, _, _ := strings.Cut(v.Evidence[0], "\n")
		s += ": " + first
	}
	return s
}

// flowView is what the classifier is shown of a flow.
type flowView struct {
	key  FlowKey
	data [2]*stream // kept payload, client to server then back
	seen [2]uint64  // payload bytes seen each way
	// datagrams holds the lengths of the first UDP datagrams in data.
	datagrams [2][]int32
	packets   uint64
	midStream bool // the capture missed the TCP handshake
	gaps      [2]int
}

// side is the classifier's running state over one direction; it only ever
// reads the bytes added since the last verdict.
type side struct {
	scan       scan
	tls        tlsStream
	notTLS     bool
	textUpto   int
	printableN int
	// hist counts the values of the first textLimit bytes; nil until
	// there is one, so that a direction without payload does not hold it.
	hist       *[256]uint16
	run        int
	longestRun int
}

// textLimit bounds the bytes of a direction whose text statistics are
// kept: its start says whether it is text.
const textLimit = 4 << 10

func isText(c byte) bool { return textBytes[c] == 1 }

// textBytes marks printable ASCII and the white space text is made of.
var textBytes = func() (t [256]uint8) {
	for c := 0x20; c <= 0x7e; c++ {
		t[c] = 1
	}
	t['\n'], t['\r'], t['\t'] = 1, 1, 1
	return t
}()

func (s *side) advanceText(st *stream) {
	st.each(s.textUpto, textLimit, func(b []byte) {
		if s.hist == nil {
			s.hist = new([256]uint16)
		}
		hist := s.hist
		printable, run, longest := s.printableN, s.run, s.longestRun
		for _, c := range b {
			hist[c]++
			t := int(textBytes[c])
			printable += t
			run = (run + 1) * t
			longest = max(longest, run)
		}
		s.printableN, s.run, s.longestRun = printable, run, longest
		s.textUpto += len(b)
	})
}

// classifier holds a flow's incremental classification state.
type classifier struct {
	sides [2]side
	info  TLSInfo
}

func entropy[T uint16 | uint32](hist *[256]T, n int) float64 {
	if n == 0 {
		return 0
	}
	var h float64
	for _, c := range hist {
		if c == 0 {
			continue
		}
		p := float64(c) / float64(n)
		h -= p * math.Log2(p)
	}
	return h
}

// advance reads what direction d of the flow gained since the last call;
// k.mu is held for reading.
// The analyzer calls it as payload arrives, while the bytes are still in
// the cache; verdict calls it again, which costs nothing when nothing is
// new (or everything, once, when a fortune was added since).
func (c *classifier) advance(d int, st *stream, key *FlowKey, midStream bool, k *Known) {
	s := &c.sides[d]
	s.scan.advance(k, st)
	if s.textUpto < textLimit {
		s.advanceText(st)
	}
	if key.Proto == TCP && !s.notTLS && !s.tls.broken {
		c.startTLS(d, st, key.Server.Port(), midStream)
		s.tls.advance(st, &c.info)
	}
}

// verdict classifies the flow as seen so far.
func (c *classifier) verdict(v *flowView, k *Known, names Names) Verdict {
	k.rlock()
	defer k.runlock()
	var vd Verdict
	server := v.key.Server.Port()
	for d := range 2 {
		c.advance(d, v.data[d], &v.key, v.midStream, k)
		c.sides[d].scan.advanceShort(k, v.data[d])
		vd.ScannedBytes += v.data[d].Len()
		vd.KnownBytes += c.sides[d].scan.known
		vd.PayloadBytes += v.seen[d]
	}
	if k != nil {
		vd.KnownFortunes = len(k.texts)
	}
	dirName := [2]string{
		v.key.direction(names, 0),
		v.key.direction(names, 1),
	}

	if vd.PayloadBytes == 0 {
		vd.Evidence = append(vd.Evidence, fmt.Sprintf("no payload yet: %d packets without data", v.packets))
		return vd
	}
	if vd.ScannedBytes < int(min(vd.PayloadBytes, math.MaxInt)) {
		vd.Evidence = append(vd.Evidence, fmt.Sprintf("looked at the first %d of %d payload bytes (the rest was not kept)", vd.ScannedBytes, vd.PayloadBytes))
	}
	var gapNote string
	if v.midStream || v.gaps[0] > 0 || v.gaps[1] > 0 {
		gapNote = fmt.Sprintf("capture incomplete: handshake missed=%v, bytes missing %d/%d", v.midStream, v.gaps[0], v.gaps[1])
	}

	// A known fortune on the wire settles it, whatever else is there.
	for d := range 2 {
		if f, ok := c.sides[d].scan.found(k, v.data[d]); ok {
			vd.Kind, vd.Fortune, vd.Protocol = Plaintext, f, "text"
			vd.Excerpt = excerpt(v.data[d], 0)
			found := make([]byte, 0, 64+len(dirName[d])+len(f))
			found = append(append(found, "known fortune found whole on the wire, "...), dirName[d]...)
			found = strconv.AppendInt(append(found, ", "...), int64(len(f)), 10)
			found = append(append(found, " bytes:\n"...), f...)
			vd.Evidence = append(make([]string, 0, len(vd.Evidence)+4), vd.Evidence...)
			vd.Evidence = append(vd.Evidence, string(found), c.knownLine(&vd))
			vd.Evidence = append(vd.Evidence, c.textLines(v, dirName)...)
			return vd
		}
	}
	if vd.KnownBytes > 0 {
		d := 0
		if c.sides[1].scan.known > c.sides[0].scan.known {
			d = 1
		}
		at := c.sides[d].scan.firstRun - 1
		vd.Kind, vd.Protocol = Plaintext, "text"
		vd.Excerpt = excerpt(v.data[d], at)
		vd.Evidence = append(vd.Evidence,
			fmt.Sprintf("%d bytes of known fortune text in the clear, %s, from offset %d: %q",
				vd.KnownBytes, dirName[d], at, clip(vd.Excerpt, 120)),
			c.knownLine(&vd))
		if gapNote != "" {
			vd.Evidence = append(vd.Evidence, gapNote)
		}
		return vd
	}

	// Consul's protocols are told by their first bytes: a flow joined
	// mid-stream has none to tell by.
	var recognised bool
	switch {
	case (server == portConsulLAN || server == portConsulWAN) && !v.midStream:
		recognised = c.gossipVerdict(&vd, v, dirName)
	case server == portConsulRPC && v.key.Proto == TCP && !v.midStream:
		recognised = c.rpcVerdict(&vd, v, dirName)
	}
	if !recognised && (c.sides[0].tls.started || c.sides[1].tls.started) {
		vd.Protocol = "TLS"
		if server == portConsulRPC {
			vd.Protocol = "Consul RPC over TLS"
		}
		c.tlsVerdict(&vd, v, dirName)
		recognised = true
	}
	if !recognised {
		c.textVerdict(&vd, v, dirName)
	}
	if gapNote != "" {
		vd.Evidence = append(vd.Evidence, gapNote)
	}
	return vd
}

// startTLS decides, once, where the TLS records of direction d start: at
// 0, after a Consul RPC type byte, or (when the capture joined late) at
// the first offset from which record headers chain.
func (c *classifier) startTLS(d int, st *stream, server uint16, midStream bool) {
	s := &c.sides[d]
	if s.tls.started || s.notTLS || st.Len() < 6 {
		return
	}
	var hb [6]byte
	head := st.bytes(0, 6, hb[:0])
	switch {
	case validRecordHeader(head):
		s.tls.start = 0
	case d == 0 && server == portConsulRPC && rpcTLS(head[0]) && validRecordHeader(head[1:]):
		s.tls.start = 1
	case midStream:
		at, ok := resyncTLS(st)
		if !ok {
			if st.Len() >= 3*(maxRecordLen+5) {
				s.notTLS = true
			}
			return
		}
		s.tls.start = at
	default:
		s.notTLS = true
		return
	}
	s.tls.started = true
}

// resyncTLS finds the first offset where three TLS record headers chain,
// or where headers chain to the end of the stream (two of them at least,
// when the last runs past it).
func resyncTLS(st *stream) (int, bool) {
	head := st.bytes(0, maxRecordLen+10, nil)
	var hb [5]byte
	for i := 0; i+5 <= len(head) && i < maxRecordLen+5; i++ {
		if !validRecordHeader(head[i:]) {
			continue
		}
		off, n := i, 0
		for n < 3 {
			h := st.bytes(off, 5, hb[:0])
			if !validRecordHeader(h) {
				break
			}
			off += 5 + (int(h[3])<<8 | int(h[4]))
			n++
		}
		if n == 3 || off == st.Len() || n == 2 && off > st.Len() {
			return i, true
		}
	}
	return 0, false
}

func (c *classifier) knownLine(vd *Verdict) string {
	if vd.KnownFortunes == 0 {
		return fmt.Sprintf("no served fortunes known to look for; %d payload bytes scanned", vd.ScannedBytes)
	}
	// Built by hand: a verdict is judged per flow, thousands a second.
	b := make([]byte, 0, 96)
	b = strconv.AppendInt(b, int64(vd.KnownBytes), 10)
	b = append(b, " bytes of known fortune text in "...)
	b = strconv.AppendInt(b, int64(vd.ScannedBytes), 10)
	b = append(b, " payload bytes scanned ("...)
	b = strconv.AppendInt(b, int64(vd.KnownFortunes), 10)
	b = append(b, " fortune"...)
	if vd.KnownFortunes != 1 {
		b = append(b, 's')
	}
	return string(append(b, " known)"...))
}

// textLines describes how readable each direction is.
func (c *classifier) textLines(v *flowView, dirName [2]string) []string {
	var out []string
	for d := range 2 {
		n, checked := v.data[d].Len(), c.sides[d].textUpto
		if checked == 0 {
			continue
		}
		b := make([]byte, 0, len(dirName[d])+48)
		b = append(append(b, dirName[d]...), ": "...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, " bytes, "...)
		b = strconv.AppendInt(b, int64(100*c.sides[d].printableN/checked), 10)
		b = append(b, "% printable"...)
		if checked < n {
			b = strconv.AppendInt(append(b, " (of the first "...), int64(checked), 10)
			b = append(b, ')')
		}
		out = append(out, string(b))
	}
	return out
}

func (c *classifier) tlsVerdict(vd *Verdict, v *flowView, dirName [2]string) {
	info := c.info
	info.ClientRecords = c.sides[0].tls.records
	info.ServerRecords = c.sides[1].tls.records
	info.ALPNOffered = append([]string(nil), info.ALPNOffered...)
	vd.TLS = &info
	vd.Evidence = append(vd.Evidence, fmt.Sprintf("TLS records: %s: %s; %s: %s",
		dirName[0], info.ClientRecords, dirName[1], info.ServerRecords))
	if info.ClientHello {
		line := "ClientHello"
		if info.SNI != "" {
			line += ", SNI " + info.SNI
		}
		if len(info.ALPNOffered) > 0 {
			line += ", ALPN offered " + strings.Join(info.ALPNOffered, ",")
		}
		vd.Evidence = append(vd.Evidence, line)
	}
	if info.ServerHello {
		line := fmt.Sprintf("ServerHello: version %s, cipher suite %s", info.VersionName(), info.CipherSuiteName())
		switch {
		case info.ALPN != "":
			line += ", ALPN " + info.ALPN
		case info.Version == tls.VersionTLS13 && len(info.ALPNOffered) > 0:
			line += ", ALPN choice encrypted (TLS 1.3)"
		}
		vd.Evidence = append(vd.Evidence, line)
	} else {
		vd.Evidence = append(vd.Evidence, "no ServerHello seen: version and cipher suite unknown")
	}
	var hist [256]uint32
	n := 0
	for d := range 2 {
		if h := c.sides[d].tls.appHist; h != nil {
			for i, x := range h {
				hist[i] += uint32(x)
			}
		}
		n += c.sides[d].tls.appLen
	}
	vd.Entropy, vd.EntropyBytes = entropy(&hist, n), n
	if n > 0 {
		vd.Evidence = append(vd.Evidence, fmt.Sprintf("application data entropy %.2f bits/byte over %d bytes", vd.Entropy, n))
	}
	vd.Evidence = append(vd.Evidence, c.knownLine(vd))
	for d := range 2 {
		if t := &c.sides[d].tls; t.broken {
			vd.Evidence = append(vd.Evidence, fmt.Sprintf("%s: TLS framing stops at byte %d: what follows is not a TLS record", dirName[d], t.brokeAt))
			if rest := v.data[d].bytes(t.brokeAt, 4096, nil); len(rest) >= 16 && printableRatio(rest) >= 0.75 {
				vd.Kind, vd.Excerpt = Plaintext, excerpt(v.data[d], t.brokeAt)
				vd.Evidence = append([]string{fmt.Sprintf("readable text after the TLS records, %s: %q", dirName[d], clip(vd.Excerpt, 120))}, vd.Evidence...)
				return
			}
		}
	}
	if info.ClientRecords.ApplicationData+info.ServerRecords.ApplicationData == 0 {
		vd.Kind = Unknown
		vd.Evidence = append([]string{"TLS handshake only: no application data yet"}, vd.Evidence...)
		return
	}
	vd.Kind = Encrypted
}

func (c *classifier) gossipVerdict(vd *Verdict, v *flowView, dirName [2]string) bool {
	vd.Protocol = "Consul gossip"
	var plain, enc, other, total int
	types := map[string]int{}
	versions := map[byte]int{}
	var hist [256]uint32
	n := 0
	add := func(s gossipShape) {
		total++
		switch s.kind {
		case gossipPlain:
			plain++
			types[memberlistType(s.msgType)]++
		case gossipEncrypted:
			enc++
			versions[s.version]++
			body := s.body[:min(len(s.body), appLimit-n)]
			for _, b := range body {
				hist[b]++
			}
			n += len(body)
		default:
			other++
		}
	}
	for d := range 2 {
		st := v.data[d]
		if v.key.Proto == UDP {
			off := 0
			for _, size := range v.datagrams[d] {
				if off+int(size) > st.Len() {
					break
				}
				add(gossipPacket(st.bytes(off, int(size), nil)))
				off += int(size)
			}
		} else if st.Len() > 0 {
			add(gossipStream(st.bytes(0, appLimit, nil)))
		}
	}
	unit := "datagrams"
	if v.key.Proto == TCP {
		unit = "stream starts"
	}
	switch {
	case plain > 0:
		vd.Kind = Plaintext
		vd.Evidence = append(vd.Evidence, fmt.Sprintf("memberlist messages in the clear (msgpack), %d of %d %s: %s",
			plain, total, unit, countList(types)))
		strs := readableStrings(v.data, 12)
		if len(strs) > 0 {
			vd.Excerpt = strings.Join(strs, " ")
			vd.Evidence = append(vd.Evidence, "readable: "+vd.Excerpt)
		}
		vd.Evidence = append(vd.Evidence, c.knownLine(vd))
		return true
	case enc > 0:
		vd.Kind = Encrypted
		var vs []string
		for ver, cnt := range versions {
			pad := "no padding"
			if ver == 0 {
				pad = "PKCS#7 padding"
			}
			vs = append(vs, fmt.Sprintf("version byte %d (AES-GCM, %s)×%d", ver, pad, cnt))
		}
		sort.Strings(vs)
		vd.Evidence = append(vd.Evidence, fmt.Sprintf("memberlist encrypted envelopes, %d of %d %s: %s, 12-byte nonce, 16-byte tag",
			enc, total, unit, strings.Join(vs, ", ")))
		vd.Entropy, vd.EntropyBytes = entropy(&hist, n), n
		vd.Evidence = append(vd.Evidence, fmt.Sprintf("ciphertext entropy %.2f bits/byte over %d bytes", vd.Entropy, n))
		if other > 0 {
			vd.Evidence = append(vd.Evidence, fmt.Sprintf("%d %s of another shape", other, unit))
		}
		vd.Evidence = append(vd.Evidence, c.knownLine(vd))
		return true
	}
	vd.Protocol = ""
	return false
}

func (c *classifier) rpcVerdict(vd *Verdict, v *flowView, dirName [2]string) bool {
	data := v.data[0].bytes(0, 16, nil)
	if len(data) == 0 {
		return false
	}
	b := data[0]
	switch {
	case b == recHandshake && c.sides[0].tls.started:
		vd.Protocol = "Consul RPC over TLS"
		vd.Evidence = append(vd.Evidence, "Consul RPC: native TLS (no type byte)")
		c.tlsVerdict(vd, v, dirName)
		return true
	case rpcTLS(b) && c.sides[0].tls.started:
		vd.Protocol = "Consul RPC over TLS"
		vd.Evidence = append(vd.Evidence, fmt.Sprintf("Consul RPC: type byte 0x%02x (%s), then a TLS handshake", b, consulRPCTypes[b]))
		c.tlsVerdict(vd, v, dirName)
		return true
	}
	name, ok := consulRPCTypes[b]
	if !ok || rpcTLS(b) || !rpcPlainShape(b, data[1:]) {
		return false
	}
	vd.Kind, vd.Protocol = Plaintext, "Consul RPC"
	vd.Evidence = append(vd.Evidence, fmt.Sprintf("Consul RPC in the clear: type byte 0x%02x (%s), no TLS", b, name))
	if strs := readableStrings(v.data, 12); len(strs) > 0 {
		vd.Excerpt = strings.Join(strs, " ")
		vd.Evidence = append(vd.Evidence, "readable: "+vd.Excerpt)
	}
	vd.Evidence = append(vd.Evidence, c.knownLine(vd))
	return true
}

func (c *classifier) textVerdict(vd *Verdict, v *flowView, dirName [2]string) {
	var hist [256]uint32
	n, printableN, longest := 0, 0, 0
	for d := range 2 {
		s := &c.sides[d]
		if s.hist != nil {
			for i, x := range s.hist {
				hist[i] += uint32(x)
			}
		}
		n += s.textUpto
		printableN += s.printableN
		longest = max(longest, s.longestRun)
	}
	vd.Entropy, vd.EntropyBytes = entropy(&hist, n), n
	switch {
	case n < 8:
		vd.Evidence = append(vd.Evidence, fmt.Sprintf("only %d payload bytes: not enough to tell", n))
	case printableN*4 >= n*3:
		vd.Kind, vd.Protocol = Plaintext, "text"
		d := 0
		if c.sides[1].printableN > c.sides[0].printableN {
			d = 1
		}
		vd.Excerpt = excerpt(v.data[d], 0)
		vd.Evidence = append(vd.Evidence, fmt.Sprintf("%d%% of %d payload bytes looked at are printable text, %s: %q",
			100*printableN/n, n, dirName[d], clip(vd.Excerpt, 120)))
	case longest >= 32:
		vd.Kind = Plaintext
		strs := readableStrings(v.data, 12)
		vd.Excerpt = strings.Join(strs, " ")
		vd.Evidence = append(vd.Evidence, fmt.Sprintf("binary protocol with readable text runs (longest %d bytes): %q", longest, clip(vd.Excerpt, 120)))
	default:
		vd.Evidence = append(vd.Evidence, fmt.Sprintf("no protocol recognised: %d%% printable, entropy %.2f bits/byte over %d bytes (ciphertext and compressed data both look high)",
			100*printableN/n, vd.Entropy, n))
	}
	vd.Evidence = append(vd.Evidence, c.knownLine(vd))
}

func printableRatio(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	n := 0
	for _, c := range b {
		if isText(c) {
			n++
		}
	}
	return float64(n) / float64(len(b))
}

// excerpt returns up to 512 bytes of st from off, for display: text
// kept, other bytes as '.'.
func excerpt(st *stream, off int) string {
	if off >= st.Len() {
		return ""
	}
	var out strings.Builder
	out.Grow(min(512, st.Len()-off))
	st.each(off, min(off+512, st.Len()), func(b []byte) {
		for _, c := range b {
			if !isText(c) || c == '\r' {
				c = '.'
			}
			out.WriteByte(c)
		}
	})
	return out.String()
}

// clip shortens s to n bytes with an ellipsis.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// readableStrings returns up to limit distinct runs of 4 or more
// printable bytes, in order, from the start of each direction.
func readableStrings(data [2]*stream, limit int) []string {
	var out []string
	seen := map[string]bool{}
	for _, st := range data {
		b := st.bytes(0, textLimit, nil)
		start := -1
		for i := 0; i <= len(b); i++ {
			if i < len(b) && b[i] >= 0x20 && b[i] <= 0x7e {
				if start < 0 {
					start = i
				}
				continue
			}
			if start >= 0 && i-start >= 4 {
				s := string(bytes.TrimSpace(b[start:i]))
				if len(s) >= 4 && !seen[s] {
					seen[s] = true
					out = append(out, clip(s, 64))
					if len(out) == limit {
						return out
					}
				}
			}
			start = -1
		}
	}
	return out
}

// countList renders counts as "ping×3 ack×2", most frequent first.
func countList(m map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var l []kv
	for k, v := range m {
		l = append(l, kv{k, v})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v || l[i].v == l[j].v && l[i].k < l[j].k })
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = fmt.Sprintf("%s×%d", e.k, e.v)
	}
	return strings.Join(parts, " ")
}
