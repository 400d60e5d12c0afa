package sniffer

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// FuzzDecode feeds arbitrary frames to every consumer of the decoder: the
// analyzer, the tcpdump view and the fortune highlighter.
func FuzzDecode(f *testing.F) {
	for _, tc := range formatCases(f) {
		f.Add(tc.p.Data)
	}
	for _, p := range fortuneConv(f, 80).pkts {
		f.Add(p.Data)
	}
	known := NewKnown()
	known.Add(seedFortune)
	f.Fuzz(func(t *testing.T, frame []byte) {
		p := Packet{Time: labTime, Data: frame, Length: len(frame)}
		a := NewAnalyzer(labNames)
		a.AddKnown(seedFortune)
		a.Feed(p)
		a.Feed(p) // a duplicate, as a loopback capture sees
		for _, fl := range a.Flows() {
			if fl.Verdict.Kind == Encrypted && fl.Verdict.KnownBytes != 0 {
				t.Fatalf("encrypted with %d known bytes", fl.Verdict.KnownBytes)
			}
			a.Follow(fl.Key)
		}
		out := FormatX(nil, p, labNames)
		if !bytes.HasSuffix(out, []byte("\n")) || bytes.Count(out, []byte("\n")) < 1+(max(0, len(frame)-ethHdrLen)+15)/16 {
			t.Fatalf("output:\n%s", out)
		}
		pr := NewPrinter(labNames, known)
		for _, s := range pr.Spans(nil, p) {
			if s.Start < 0 || s.End > len(frame) || s.Start >= s.End {
				t.Fatalf("span %v of a %d-byte frame", s, len(frame))
			}
		}
	})
}

// FuzzClassify runs the verdict over arbitrary payloads on any port, fed
// at once and in two steps, with the seed's fortune known.
func FuzzClassify(f *testing.F) {
	// Small seeds keep the fuzzer's minimizing short: X25519 alone makes
	// a ClientHello of 300 bytes, not 1,800.
	tls13 := tlsExchangeWith(f, 0, []tls.CurveID{tls.X25519}, "fortune?", "You love peace.\n")
	var c2s, s2c []byte
	for _, ch := range tls13 {
		if ch.from == 0 {
			c2s = append(c2s, ch.data...)
		} else {
			s2c = append(s2c, ch.data...)
		}
	}
	f.Add(c2s, s2c, uint16(21000), false, uint16(300))
	f.Add(append([]byte{3}, c2s...), s2c, uint16(8300), false, uint16(1))
	f.Add([]byte(nil), []byte(seedFortune), uint16(8181), false, uint16(100))
	f.Add(pingMsg, ackMsg, uint16(8301), true, uint16(10))
	f.Add(sealGossip(pingMsg, 1), sealGossip(ackMsg, 2), uint16(8301), true, uint16(45))
	f.Add(append([]byte{0x00, 0x82, 0xa6}, "Method\xabStatus.Ping"...), []byte{0x81}, uint16(8300), false, uint16(2))
	fortune := strings.TrimSpace(seedFortune)
	known := NewKnown()
	known.Add(seedFortune)
	f.Fuzz(func(t *testing.T, c2s, s2c []byte, port uint16, udp bool, split uint16) {
		view := func(n int) *flowView {
			v := &flowView{key: FlowKey{Proto: TCP, Client: fccEnd, Server: netip.AddrPortFrom(labFCS, port)}, packets: 4}
			if udp {
				v.key.Proto = UDP
			}
			for d, data := range [2][]byte{c2s, s2c} {
				data = data[:min(n, len(data))]
				// Chunks of any size: records and grams straddle them.
				v.data[d] = streamOf(data, 1+int(split)%97)
				v.seen[d] = uint64(len(data))
				if udp {
					step := max(1, int(split))
					for off := 0; off < len(data); off += step {
						v.datagrams[d] = append(v.datagrams[d], int32(min(step, len(data)-off)))
					}
				}
			}
			return v
		}
		whole := (&classifier{}).verdict(view(1<<30), known, labNames)
		c := &classifier{}
		c.verdict(view(int(split)), known, labNames)
		stepped := c.verdict(view(1<<30), known, labNames)

		for _, v := range []Verdict{whole, stepped} {
			if len(v.Evidence) == 0 {
				t.Fatalf("%v without evidence", v.Kind)
			}
			if v.Kind == Encrypted && v.KnownBytes != 0 {
				t.Fatalf("encrypted with %d known bytes:\n%s", v.KnownBytes, evidence(v))
			}
			if (bytes.Contains(c2s, []byte(fortune)) || bytes.Contains(s2c, []byte(fortune))) && (v.Kind != Plaintext || v.Fortune != fortune) {
				t.Fatalf("the fortune is on the wire but the verdict is %v:\n%s", v.Kind, evidence(v))
			}
		}
		if whole.Kind != stepped.Kind || whole.KnownBytes != stepped.KnownBytes || whole.Protocol != stepped.Protocol {
			t.Fatalf("at once: %v %s known=%d; in two steps: %v %s known=%d\n%s\n--\n%s",
				whole.Kind, whole.Protocol, whole.KnownBytes, stepped.Kind, stepped.Protocol, stepped.KnownBytes,
				evidence(whole), evidence(stepped))
		}
	})
}

// FuzzOpenStream reads arbitrary bytes as a pcap stream: whole, where the
// stream's end ends the capture, or after a valid header on a pipe that
// stays open, where Close must end it. Either way Close returns, the
// goroutine ends, the counters add up, and a stream read to its end
// agrees with ReadPcap.
func FuzzOpenStream(f *testing.F) {
	pkts := capturedConversation(f)
	var seed bytes.Buffer
	if err := WritePcap(&seed, pkts[len(pkts)-3:], 65535); err != nil {
		f.Fatal(err)
	}
	header := seed.Bytes()[:24]
	f.Add(seed.Bytes(), false)
	f.Add(seed.Bytes()[:seed.Len()-7], false)
	f.Add(seed.Bytes()[24:], true)
	f.Add([]byte(nil), false)
	f.Fuzz(func(t *testing.T, data []byte, held bool) {
		var r io.ReadCloser = io.NopCloser(bytes.NewReader(data))
		if held {
			pr, pw := io.Pipe()
			go func() {
				// Blocks until read, then fails once Close closed pr.
				if _, err := pw.Write(header); err == nil {
					pw.Write(data)
				}
			}()
			r = pr
		}
		c, err := OpenStream("fuzz", r, Options{Buffer: 4, RingFrames: 8, Snaplen: 1500})
		if err != nil {
			if held {
				t.Fatalf("a valid header refused: %v", err)
			}
			return
		}
		if !held {
			select {
			case <-c.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("a whole stream was not read to its end")
			}
		}
		closed := make(chan error, 1)
		go func() { closed <- c.Close() }()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("Close did not return")
		}
		<-c.Done()
		var got []Packet
		for p := range c.Packets() {
			got = append(got, p)
		}
		st := c.Stats()
		if st.Seen != st.Delivered+st.BufferDrops || st.Delivered != uint64(len(got)) || uint64(st.Ring) > st.Seen || st.KernelDrops != 0 {
			t.Fatalf("stats %+v, %d packets delivered", st, len(got))
		}
		for _, p := range got {
			if len(p.Data) > 1500 {
				t.Fatalf("a frame of %d bytes, snap length 1500", len(p.Data))
			}
		}
		if held {
			return
		}
		// ReadPcap takes longer records and calls a stream cut after a
		// record's header whole; where the capture read to the end, both
		// agree.
		want, rerr := ReadPcap(bytes.NewReader(data))
		if st.Seen > uint64(len(want)) {
			t.Fatalf("the capture read %d frames, ReadPcap %d", st.Seen, len(want))
		}
		if c.Err() == nil && (rerr != nil || st.Seen != uint64(len(want))) {
			t.Fatalf("the capture read %d frames to the end, ReadPcap %d (%v)", st.Seen, len(want), rerr)
		}
	})
}
