package sniffer

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// capturedConversation is what a capture of the seed's exchange holds:
// the fortune flow and a gossip datagram.
func capturedConversation(t testing.TB) []Packet {
	c := fortuneConv(t, 80)
	pkts := append([]Packet(nil), c.pkts...)
	pkts = append(pkts, udpPacket(t, fccEnd, fcsEnd, []byte("hello")))
	for i := range pkts {
		pkts[i].Seq = uint64(i + 1)
		pkts[i].Time = labTime.Add(time.Duration(i) * 1500 * time.Microsecond)
	}
	// One frame cut by the snap length, as a capture would.
	pkts[3].Length = len(pkts[3].Data) + 100
	return pkts
}

func TestPcapReadsBackTheSamePackets(t *testing.T) {
	pkts := capturedConversation(t)
	var buf bytes.Buffer
	if err := WritePcap(&buf, pkts, 65535); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPcap(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(pkts) {
		t.Fatalf("read %d packets, wrote %d", len(got), len(pkts))
	}
	for i := range pkts {
		w, g := pkts[i], got[i]
		if !bytes.Equal(g.Data, w.Data) || g.Length != w.Length || !g.Time.Equal(w.Time.Truncate(time.Microsecond)) {
			t.Errorf("packet %d: read %d bytes (wire %d) at %v, wrote %d (wire %d) at %v",
				i+1, len(g.Data), g.Length, g.Time, len(w.Data), w.Length, w.Time)
		}
	}
	// What is read back analyses the same.
	a := NewAnalyzer(labNames)
	a.AddKnown(seedFortune)
	a.FeedAll(got)
	if f, ok := a.Flow(FlowKey{Proto: TCP, Client: fccEnd, Server: fcsEnd}); !ok || f.Verdict.Kind != Plaintext || f.Verdict.Fortune == "" {
		t.Errorf("read-back flow: %v %+v", ok, f.Verdict)
	}
}

func TestSavePcapAndTshark(t *testing.T) {
	pkts := capturedConversation(t)
	r := newRing(len(pkts), 1<<20)
	for _, p := range pkts {
		r.add(p)
	}
	path := filepath.Join(t.TempDir(), "fortune.pcap")
	write := func(w io.Writer) error { return WritePcap(w, r.snapshot(nil), 0) }
	if err := SavePcap(path, write); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ReadPcap(f)
	if err != nil || len(got) != len(pkts) {
		t.Fatalf("read back %d packets: %v", len(got), err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}

	tshark := externalTool(t, "tshark", "tshark")
	out, err := exec.Command(tshark, "-r", path, "-T", "fields", "-e", "frame.len", "-e", "frame.cap_len", "-e", "tcp.srcport", "-e", "udp.srcport").Output()
	if err != nil {
		t.Fatalf("tshark -r: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(pkts) {
		t.Fatalf("tshark reads %d packets, want %d:\n%s", len(lines), len(pkts), out)
	}
	for i, line := range lines {
		fields := strings.Split(line, "\t")
		wantLen, wantCap := strconv.Itoa(pkts[i].Length), strconv.Itoa(len(pkts[i].Data))
		if len(fields) < 2 || fields[0] != wantLen || fields[1] != wantCap {
			t.Errorf("tshark packet %d: %q, want len %s caplen %s", i+1, line, wantLen, wantCap)
		}
	}
	// tshark finds the fortune in the TCP payload too.
	out, err = exec.Command(tshark, "-r", path, "-Y", `tcp.payload contains "Pudd'nhead"`, "-T", "fields", "-e", "frame.number").Output()
	if err != nil {
		t.Fatalf("tshark -Y: %v", err)
	}
	if strings.TrimSpace(string(out)) == "" {
		t.Error("tshark does not see the fortune in the pcap")
	}
}

func TestRingKeepsTheNewest(t *testing.T) {
	r := newRing(3, 100)
	for i := 1; i <= 5; i++ {
		r.add(Packet{Seq: uint64(i), Data: make([]byte, 30)})
	}
	got := r.snapshot(nil)
	if len(got) != 3 || got[0].Seq != 3 || got[2].Seq != 5 {
		t.Fatalf("ring holds %v", got)
	}
	r.add(Packet{Seq: 6, Data: make([]byte, 90)}) // bytes bound: only this one fits
	if got := r.snapshot(nil); len(got) != 1 || got[0].Seq != 6 {
		t.Fatalf("ring holds %v", got)
	}
	r.add(Packet{Seq: 7, Data: make([]byte, 101)}) // larger than the ring: not kept
	if got := r.snapshot(nil); len(got) != 1 || got[0].Seq != 6 {
		t.Fatalf("ring holds %v", got)
	}
}

func TestRingGrowsToItsBoundKeepingOrder(t *testing.T) {
	for _, tc := range []struct {
		name             string
		frames, maxBytes int
		add              int
		wantFirst, wantN uint64
		wantSlotsAtMost  int
	}{
		{"a few frames hold a few slots", 100000, 1 << 20, 10, 1, 10, 64},
		{"past the first growth, in order", 100000, 1 << 20, 1000, 1, 1000, 1024},
		{"the count bound wraps", 100, 1 << 20, 1000, 901, 100, 100},
		{"the byte bound drops the oldest while growing", 1000, 300 * 10, 500, 201, 300, 512},
	} {
		r := newRing(tc.frames, tc.maxBytes)
		for i := 1; i <= tc.add; i++ {
			r.add(Packet{Seq: uint64(i), Data: make([]byte, 10)})
		}
		got := r.snapshot(nil)
		if uint64(len(got)) != tc.wantN || got[0].Seq != tc.wantFirst {
			t.Errorf("%s: %d frames from %d, want %d from %d", tc.name, len(got), got[0].Seq, tc.wantN, tc.wantFirst)
			continue
		}
		for i := range got {
			if got[i].Seq != tc.wantFirst+uint64(i) {
				t.Errorf("%s: frame %d is %d, want %d", tc.name, i, got[i].Seq, tc.wantFirst+uint64(i))
				break
			}
		}
		if len(r.frames) > tc.wantSlotsAtMost {
			t.Errorf("%s: %d slots for %d frames, want at most %d", tc.name, len(r.frames), len(got), tc.wantSlotsAtMost)
		}
	}
}
