package sniffer

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/tls"
	"encoding/binary"
	mrand "math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

var (
	fccEnd = netip.AddrPortFrom(labFCC, 53396)
	fcsEnd = netip.AddrPortFrom(labFCS, 8181)
)

// analyze feeds packets to a new analyzer that knows the given fortunes
// and returns its only flow.
func analyze(t *testing.T, pkts []Packet, known ...string) (*Analyzer, FlowSummary) {
	t.Helper()
	a := NewAnalyzer(labNames)
	for _, k := range known {
		a.AddKnown(k)
	}
	a.FeedAll(pkts)
	flows := a.Flows()
	if len(flows) != 1 {
		t.Fatalf("%d flows, want 1: %+v", len(flows), flows)
	}
	return a, flows[0]
}

func evidence(v Verdict) string { return strings.Join(v.Evidence, "\n") }

// fortuneConv is the seed's exchange: the consumer connects, the service
// answers a fortune in segments of mss bytes and closes.
func fortuneConv(t testing.TB, mss int) *conv {
	c := newConv(t, fccEnd, fcsEnd)
	c.send(1, []byte(seedFortune), mss)
	c.close()
	return c
}

func TestSnifferSeesTheFortuneInTheClear(t *testing.T) {
	for _, mss := range []int{1448, 80, 7} {
		c := fortuneConv(t, mss)
		a, f := analyze(t, c.pkts, seedFortune)
		v := f.Verdict
		if v.Kind != Plaintext || v.Fortune != strings.TrimSpace(seedFortune) {
			t.Fatalf("mss %d: verdict %v, fortune %q\n%s", mss, v.Kind, v.Fortune, evidence(v))
		}
		if !strings.Contains(evidence(v), strings.TrimSpace(seedFortune)) {
			t.Errorf("mss %d: evidence lacks the fortune:\n%s", mss, evidence(v))
		}
		if !strings.Contains(v.Evidence[0], "fcs00.8181 > fcc00.53396") {
			t.Errorf("evidence does not say which way: %q", v.Evidence[0])
		}
		if f.Key.Client != fccEnd || f.Key.Server != fcsEnd || !f.Closed || f.MidStream || f.Missing != 0 {
			t.Errorf("flow %+v", f)
		}
		if f.Payload != [2]uint64{0, uint64(len(seedFortune))} {
			t.Errorf("payload counts %v", f.Payload)
		}
		if f.Packets[0]+f.Packets[1] != uint64(len(c.pkts)) {
			t.Errorf("packets %v, fed %d", f.Packets, len(c.pkts))
		}
		fromClient, fromServer, ok := a.Follow(FlowKey{Proto: TCP, Client: fcsEnd, Server: fccEnd}) // either way round
		if !ok || len(fromClient) != 0 || string(fromServer) != seedFortune {
			t.Errorf("follow: %v %q %q", ok, fromClient, fromServer)
		}
	}
}

func TestReassemblyPutsSegmentsInOrder(t *testing.T) {
	c := fortuneConv(t, 60)
	// Segments 0..3 of the fortune are packets 3, 5, 7, 9 (each is
	// acknowledged): deliver them 9, 5, 3, 7.
	p := c.pkts
	p[3], p[7], p[9] = p[9], p[3], p[7]
	a, f := analyze(t, p, seedFortune)
	if f.Verdict.Kind != Plaintext || f.Verdict.Fortune == "" {
		t.Fatalf("verdict %v\n%s", f.Verdict.Kind, evidence(f.Verdict))
	}
	_, fromServer, _ := a.Follow(f.Key)
	if string(fromServer) != seedFortune {
		t.Errorf("reassembled %q", fromServer)
	}
}

func TestMidStreamCapture(t *testing.T) {
	c := fortuneConv(t, 100)
	a, f := analyze(t, c.pkts[3:], seedFortune) // no handshake
	if !f.MidStream || f.Verdict.Kind != Plaintext || f.Verdict.Fortune == "" {
		t.Fatalf("mid-stream: %+v\n%s", f, evidence(f.Verdict))
	}
	if f.Key.Client != fccEnd {
		t.Errorf("client guessed as %v", f.Key.Client)
	}
	_ = a
	// Missing the first segment: part of the fortune, not the whole.
	_, f = analyze(t, c.pkts[5:], seedFortune)
	v := f.Verdict
	if v.Kind != Plaintext || v.Fortune != "" || v.KnownBytes < 100 {
		t.Fatalf("partial fortune: %v fortune=%q known=%d\n%s", v.Kind, v.Fortune, v.KnownBytes, evidence(v))
	}
	if !strings.Contains(v.Evidence[0], "bytes of known fortune text in the clear") {
		t.Errorf("evidence: %s", evidence(v))
	}
}

func TestUnknownFortuneIsStillReadable(t *testing.T) {
	_, f := analyze(t, fortuneConv(t, 1448).pkts)
	v := f.Verdict
	if v.Kind != Plaintext || v.Fortune != "" || !strings.HasPrefix(v.Excerpt, "The holy passion") {
		t.Fatalf("%v %q\n%s", v.Kind, v.Excerpt, evidence(v))
	}
	if !strings.Contains(evidence(v), "no served fortunes known to look for") {
		t.Errorf("evidence: %s", evidence(v))
	}
}

func TestTLSIsEncryptedWithNoFortuneBytes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		max     uint16
		version uint16
	}{
		{"TLS 1.3", 0, tls.VersionTLS13},
		{"TLS 1.2", tls.VersionTLS12, tls.VersionTLS12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConv(t, fccEnd, netip.AddrPortFrom(labFCS, 21000))
			replay(c, tlsExchange(t, tc.max, "fortune please\n", seedFortune), nil)
			c.close()
			_, f := analyze(t, c.pkts, seedFortune)
			v := f.Verdict
			if v.Kind != Encrypted || v.KnownBytes != 0 || v.Protocol != "TLS" {
				t.Fatalf("%v (%s) known=%d\n%s", v.Kind, v.Protocol, v.KnownBytes, evidence(v))
			}
			info := v.TLS
			if info == nil || info.Version != tc.version || !strings.HasPrefix(info.CipherSuiteName(), "TLS_") ||
				info.SNI != "fcs00" || strings.Join(info.ALPNOffered, ",") != "fortune/1" || info.ServerRecords.ApplicationData == 0 {
				t.Fatalf("TLS info %+v", info)
			}
			// TLS 1.3 moved the server's ALPN choice into the encrypted
			// extensions.
			if wantALPN := map[uint16]string{tls.VersionTLS12: "fortune/1"}[tc.version]; info.ALPN != wantALPN {
				t.Errorf("ALPN %q, want %q", info.ALPN, wantALPN)
			}
			if v.Entropy < 6 || v.EntropyBytes == 0 {
				t.Errorf("entropy %.2f over %d", v.Entropy, v.EntropyBytes)
			}
			for _, want := range []string{"TLS records:", "SNI fcs00", "cipher suite TLS_", "ALPN offered fortune/1",
				"application data entropy", "0 bytes of known fortune text in", "(1 fortune known)"} {
				if !strings.Contains(evidence(v), want) {
					t.Errorf("evidence lacks %q:\n%s", want, evidence(v))
				}
			}
		})
	}
}

func TestTLSJoinedMidStream(t *testing.T) {
	c := newConv(t, fccEnd, netip.AddrPortFrom(labFCS, 21000))
	replay(c, tlsExchange(t, 0, "fortune please\n", strings.Repeat(seedFortune, 20)), nil)
	// Skip the handshake and the first 6 data segments.
	_, f := analyze(t, c.pkts[3+12:], seedFortune)
	v := f.Verdict
	if v.Kind != Encrypted || !f.MidStream {
		t.Fatalf("%v mid=%v\n%s", v.Kind, f.MidStream, evidence(v))
	}
}

func TestConsulRPC(t *testing.T) {
	rpc := netip.AddrPortFrom(labC0, 8300)
	t.Run("TLS after the RPCTLS byte", func(t *testing.T) {
		c := newConv(t, fccEnd, rpc)
		replay(c, tlsExchange(t, 0, "Status.Ping", "pong"), []byte{3})
		_, f := analyze(t, c.pkts, seedFortune)
		v := f.Verdict
		if v.Kind != Encrypted || v.Protocol != "Consul RPC over TLS" || !strings.Contains(evidence(v), "type byte 0x03 (RPCTLS)") {
			t.Fatalf("%v (%s)\n%s", v.Kind, v.Protocol, evidence(v))
		}
	})
	t.Run("msgpack in the clear", func(t *testing.T) {
		c := newConv(t, fccEnd, rpc)
		req := append([]byte{0x00, 0x82, 0xa6}, "Method\xabStatus.Ping\xa3Seq\x01"...)
		c.send(0, req, 1448)
		c.send(1, append([]byte{0x82, 0xa5}, "Error\xc0\xa3Seq\x01"...), 1448)
		_, f := analyze(t, c.pkts)
		v := f.Verdict
		if v.Kind != Plaintext || v.Protocol != "Consul RPC" || !strings.Contains(evidence(v), "Status.Ping") {
			t.Fatalf("%v (%s)\n%s", v.Kind, v.Protocol, evidence(v))
		}
	})
}

// memberlist messages, as hashicorp/memberlist writes them.
var (
	pingMsg = append([]byte{0x00, 0x83, 0xa5}, "SeqNo\x07\xa4Node\xa8consul01\xaaSourceNode\xa8consul00"...)
	ackMsg  = append([]byte{0x02, 0x82, 0xa5}, "SeqNo\x07\xa7Payload\xc4\x00"...)
)

func gossipKey() cipher.AEAD {
	block, _ := aes.NewCipher([]byte("0123456789abcdef0123456789abcdef"))
	gcm, _ := cipher.NewGCM(block)
	return gcm
}

// sealGossip encrypts a memberlist message as encryptPayload version 1
// does: version byte, 12-byte nonce, ciphertext and tag.
func sealGossip(msg []byte, nonce byte) []byte {
	n := make([]byte, 12)
	n[0] = nonce
	out := append([]byte{1}, n...)
	return gossipKey().Seal(out, n, msg, nil)
}

func TestConsulGossip(t *testing.T) {
	c0, c1 := netip.AddrPortFrom(labC0, 8301), netip.AddrPortFrom(labC1, 8301)
	t.Run("udp in the clear", func(t *testing.T) {
		_, f := analyze(t, []Packet{udpPacket(t, c0, c1, pingMsg), udpPacket(t, c1, c0, ackMsg)})
		v := f.Verdict
		if v.Kind != Plaintext || v.Protocol != "Consul gossip" || !strings.Contains(evidence(v), "ack×1 ping×1") ||
			!strings.Contains(v.Excerpt, "consul01") {
			t.Fatalf("%v (%s)\n%s", v.Kind, v.Protocol, evidence(v))
		}
	})
	t.Run("udp encrypted", func(t *testing.T) {
		_, f := analyze(t, []Packet{udpPacket(t, c0, c1, sealGossip(pingMsg, 1)), udpPacket(t, c1, c0, sealGossip(ackMsg, 2))}, "consul01 is a node")
		v := f.Verdict
		if v.Kind != Encrypted || v.KnownBytes != 0 || !strings.Contains(evidence(v), "version byte 1 (AES-GCM, no padding)×2") {
			t.Fatalf("%v (%s)\n%s", v.Kind, v.Protocol, evidence(v))
		}
	})
	t.Run("udp encrypted with a label", func(t *testing.T) {
		labelled := append([]byte{244, 3}, "dc1"...)
		_, f := analyze(t, []Packet{udpPacket(t, c0, c1, append(labelled, sealGossip(pingMsg, 3)...))})
		if f.Verdict.Kind != Encrypted {
			t.Fatalf("%v\n%s", f.Verdict.Kind, evidence(f.Verdict))
		}
	})
	t.Run("tcp push-pull encrypted", func(t *testing.T) {
		sealed := sealGossip(append([]byte{6, 0x83, 0xa5}, "Nodes\x03\xacUserStateLen\x00\xa4Join\xc2"...), 4)
		stream := append([]byte{10, 0, 0, 0, 0}, sealed...)
		binary.BigEndian.PutUint32(stream[1:], uint32(len(sealed)))
		c := newConv(t, netip.AddrPortFrom(labC0, 41000), c1)
		c.send(0, stream, 1448)
		c.send(1, stream, 1448)
		_, f := analyze(t, c.pkts)
		if v := f.Verdict; v.Kind != Encrypted || v.Protocol != "Consul gossip" {
			t.Fatalf("%v (%s)\n%s", v.Kind, v.Protocol, evidence(v))
		}
	})
	t.Run("tcp push-pull in the clear", func(t *testing.T) {
		c := newConv(t, netip.AddrPortFrom(labC0, 41000), c1)
		c.send(0, append([]byte{6, 0x83, 0xa5}, "Nodes\x03\xacUserStateLen\x00\xa4Join\xc2"...), 1448)
		_, f := analyze(t, c.pkts)
		if v := f.Verdict; v.Kind != Plaintext || v.Protocol != "Consul gossip" || !strings.Contains(evidence(v), "push-pull") {
			t.Fatalf("%v (%s)\n%s", v.Kind, v.Protocol, evidence(v))
		}
	})
}

func TestUnknownIsNotAGuess(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	noise := make([]byte, 4096)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	c := newConv(t, fccEnd, netip.AddrPortFrom(labFCS, 9999))
	c.send(0, noise, 1448)
	for _, tc := range []struct {
		name string
		pkts []Packet
		want string
	}{
		{"handshake only", newConv(t, fccEnd, fcsEnd).pkts, "no payload yet: 3 packets"},
		{"three bytes", func() []Packet { c := newConv(t, fccEnd, fcsEnd); c.send(0, []byte{1, 2, 3}, 10); return c.pkts }(), "only 3 payload bytes"},
		{"random bytes", c.pkts, "no protocol recognised"},
		{"TLS hello without data", func() []Packet {
			c := newConv(t, fccEnd, fcsEnd)
			ch := tlsExchange(t, 0, "x", "y")
			c.send(0, ch[0].data, 1448) // the ClientHello alone
			return c.pkts
		}(), "TLS handshake only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, f := analyze(t, tc.pkts, seedFortune)
			if f.Verdict.Kind != Unknown || !strings.Contains(evidence(f.Verdict), tc.want) {
				t.Fatalf("%v\n%s", f.Verdict.Kind, evidence(f.Verdict))
			}
		})
	}
}

func TestAnalyzerLimits(t *testing.T) {
	a := NewAnalyzerWith(labNames, AnalyzerOptions{StreamLimit: 64, MaxFlows: 4})
	a.AddKnown(seedFortune)
	a.FeedAll(fortuneConv(t, 1448).pkts)
	f := a.Flows()[0]
	if f.Kept[1] != 64 || !strings.Contains(evidence(f.Verdict), "looked at the first 64 of 209 payload bytes") {
		t.Errorf("kept %v\n%s", f.Kept, evidence(f.Verdict))
	}
	for i := range 10 {
		c := newConv(t, netip.AddrPortFrom(labFCC, uint16(50000+i)), fcsEnd)
		c.send(1, []byte("You love peace.\n"), 1448)
		a.FeedAll(c.pkts)
	}
	st := a.Stats()
	if st.Flows > 4 || st.Evicted == 0 || st.KeptBytes > 4*2*64 {
		t.Errorf("stats %+v", st)
	}
}

func TestFlowTableAndFollowViews(t *testing.T) {
	a := NewAnalyzer(labNames)
	a.AddKnown(seedFortune)
	a.FeedAll(fortuneConv(t, 100).pkts)
	c0, c1 := netip.AddrPortFrom(labC0, 8301), netip.AddrPortFrom(labC1, 8301)
	a.FeedAll([]Packet{udpPacket(t, c0, c1, pingMsg), udpPacket(t, c1, c0, ackMsg)})
	a.FeedAll(newConv(t, netip.AddrPortFrom(labFCC, 53400), fcsEnd).pkts)
	flows := a.Flows()
	golden(t, "flows.golden", AppendFlowTable(nil, flows))
	golden(t, "verdict_fortune.golden", AppendVerdict(nil, flows[0].Verdict))
	fc, fs, _ := a.Follow(flows[0].Key)
	golden(t, "follow_fortune.golden", AppendFollow(nil, flows[0], labNames, fc, fs))
}

func TestCiphertextIsNeverGossipInTheClear(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(5, 8))
	msg := make([]byte, 60)
	plain, other := 0, 0
	for i := range 200000 {
		for j := range msg {
			msg[j] = byte(rng.Uint32())
		}
		switch gossipPacket(sealGossip(msg[:20+i%40], byte(i))).kind {
		case gossipPlain:
			plain++
		case gossipOther:
			other++
		}
	}
	if plain != 0 || other > 200000/100 {
		t.Errorf("of 200000 sealed datagrams, %d read as plaintext, %d as neither", plain, other)
	}
	// And a message in the clear of a shape not known is not taken for
	// an envelope.
	odd := append([]byte{0x00, 0x82, 0xa8}, "Whatever\xa8consul01\xa4Port\xcd\x20\x6d consul01 dc1 lan"...)
	if s := gossipPacket(odd); s.kind == gossipEncrypted {
		t.Errorf("plaintext of an unknown shape read as encrypted")
	}
}

func TestConsulRPCJoinedMidStream(t *testing.T) {
	rpc := netip.AddrPortFrom(labC0, 8300)
	c := newConv(t, netip.AddrPortFrom(labFCC, 50123), rpc)
	replay(c, tlsExchange(t, 0, strings.Repeat("Catalog.Register", 100), strings.Repeat("ok", 500)), []byte{3})
	// Joined after the handshake, at a segment boundary that need not be
	// a record boundary.
	_, f := analyze(t, c.pkts[3+8:], seedFortune)
	v := f.Verdict
	if !f.MidStream || v.Kind != Encrypted || v.Protocol != "Consul RPC over TLS" {
		t.Fatalf("%v (%s) mid=%v\n%s", v.Kind, v.Protocol, f.MidStream, evidence(v))
	}
	// Random bytes that happen to start with a Consul RPC type byte, seen
	// mid-stream, are not Consul RPC in the clear.
	noise := make([]byte, 3000)
	rng := mrand.New(mrand.NewPCG(9, 9))
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	noise[0] = 5
	c = newConv(t, netip.AddrPortFrom(labFCC, 50124), rpc)
	c.send(0, noise, 1448)
	_, f = analyze(t, c.pkts[3:], seedFortune)
	if f.Verdict.Kind != Unknown {
		t.Fatalf("%v (%s)\n%s", f.Verdict.Kind, f.Verdict.Protocol, evidence(f.Verdict))
	}
}

func TestShortFortunesAreFoundWhole(t *testing.T) {
	for _, fortune := range []string{"You love peace.\n", "A deep C diva.\n", "You will have long and healthy life.\n"} {
		c := newConv(t, fccEnd, fcsEnd)
		c.send(1, []byte(fortune), 1448)
		c.close()
		_, f := analyze(t, c.pkts, "You love peace.", "A deep C diva.", "You will have long and healthy life.")
		if v := f.Verdict; v.Kind != Plaintext || v.Fortune != strings.TrimSpace(fortune) || v.KnownBytes != len(v.Fortune) {
			t.Errorf("%q: %v fortune=%q known=%d\n%s", fortune, v.Kind, v.Fortune, v.KnownBytes, evidence(v))
		}
	}
}

// AppendVerdict appends v as a kind line and its evidence, indented.
func AppendVerdict(dst []byte, v Verdict) []byte {
	dst = append(dst, v.Kind.String()...)
	if v.Protocol != "" {
		dst = append(dst, " ("...)
		dst = append(dst, v.Protocol...)
		dst = append(dst, ')')
	}
	dst = append(dst, '\n')
	for _, e := range v.Evidence {
		for i, line := range strings.Split(e, "\n") {
			if i == 0 {
				dst = append(dst, "  - "...)
			} else {
				dst = append(dst, "    "...)
			}
			dst = append(dst, line...)
			dst = append(dst, '\n')
		}
	}
	return dst
}

// AppendFollow appends the reassembled payload of a flow as text, each
// direction under a header naming it (like Wireshark's Follow TCP
// Stream, one direction after the other). Bytes that are not text show
// as '.'.
func AppendFollow(dst []byte, f FlowSummary, names Names, fromClient, fromServer []byte) []byte {
	for d, data := range [2][]byte{fromClient, fromServer} {
		dst = append(dst, "== "...)
		dst = append(dst, f.Key.Proto.String()...)
		dst = append(dst, ' ')
		dst = append(dst, f.Key.direction(names, d)...)
		dst = append(dst, ": "...)
		dst = strconv.AppendInt(dst, int64(len(data)), 10)
		dst = append(dst, " bytes"...)
		if uint64(len(data)) < f.Payload[d] {
			dst = append(dst, " (of "...)
			dst = strconv.AppendUint(dst, f.Payload[d], 10)
			dst = append(dst, " seen)"...)
		}
		dst = append(dst, '\n')
		for _, c := range data {
			if !isText(c) || c == '\r' {
				c = '.'
			}
			dst = append(dst, c)
		}
		if len(data) > 0 && data[len(data)-1] != '\n' {
			dst = append(dst, '\n')
		}
	}
	return dst
}
