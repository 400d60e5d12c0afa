package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ztlab/zt-lab/sniffer"
)

// TestSniffShowsTheFortuneAndSavesThePcap runs `zt-lab sniff` from another
// terminal while the consumer fetches: the fortune shows in the tcpdump -X
// ASCII column, host names replace addresses, Ctrl-C still prints the
// counters, and the pcap reads back.
func TestSniffShowsTheFortuneAndSavesThePcap(t *testing.T) {
	u := newUser(t)
	u.must("up", "--detach")
	pcap := filepath.Join(t.TempDir(), "wire.pcap")
	sniff := u.command("sniff", "--port", "8181", "--write", pcap)
	var out screen // written by exec's copier while we read it
	sniff.Stdout, sniff.Stderr = &out, &out
	if err := sniff.Start(); err != nil {
		t.Fatal(err)
	}
	waitOut := func(what, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				sniff.Process.Kill()
				t.Fatalf("sniff never showed %s (%q):\n%s", what, want, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitOut("that it listens", "listening on wire0")
	fortune := u.must("exec", "fcc00", "--", ztlab, "fortune", "get", "fcs00:8181")
	// The ASCII column prints spaces as dots.
	words := strings.Fields(fortune)
	first := strings.Join(words[:min(2, len(words))], ".")
	first = first[:min(len(first), 12)]
	waitOut("the fortune", first)
	sniff.Process.Signal(syscall.SIGINT)
	if err := sniff.Wait(); err != nil {
		t.Fatalf("sniff after Ctrl-C: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{"fcc00.", "> fcs00.8181", "(correct)", first, "packets captured, 0 dropped by kernel, 0 dropped by buffer"} {
		if !strings.Contains(s, want) {
			t.Errorf("sniff output lacks %q:\n%s", want, s)
		}
	}
	f, err := os.Open(pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pkts, err := sniffer.ReadPcap(f)
	if err != nil || len(pkts) < 6 {
		t.Fatalf("the pcap holds %d packets (%v), want a whole TCP flow", len(pkts), err)
	}
}
