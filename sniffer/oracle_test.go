package sniffer

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// externalTool finds an outside program a test checks the sniffer
// against. CI installs every one (make test-deps) and must run the check:
// there a missing tool fails the test. Elsewhere the test is skipped,
// saying what to install.
func externalTool(t *testing.T, name, debPkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed, and under CI this oracle must run: make test-deps installs it (Debian package %s)", name, debPkg)
	}
	t.Skipf("%s is not installed (Debian package %s; make test-deps): the check against it did not run", name, debPkg)
	return ""
}

// dumpLines are the hex and ASCII lines of a tcpdump -X style output:
// "\t0x0010:  8bb2 526b ...  ..Rk....", each trimmed of trailing space.
func dumpLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " \t"), "0x") {
			lines = append(lines, strings.TrimRight(strings.TrimLeft(l, " \t"), " "))
		}
	}
	return lines
}

// tcpdumpShapes are the packet shapes of formatCases that tcpdump itself
// is asked about: every shape the formatter handles, from a TCP segment
// with a payload to ARP. "not_ethernet" (three bytes) is left to its
// golden: tcpdump prints "[|ether]" and no dump for a frame shorter than
// an Ethernet header.
var tcpdumpShapes = []string{
	"seed_fortune",           // TCP with a payload
	"tcp_syn",                // TCP, no payload, options
	"tcp_synack",             // TCP, no payload, options
	"tcp_fin_padded",         // TCP, no payload, Ethernet padding after it
	"tcp_rst",                // TCP, padded
	"tcp_offloaded_checksum", // TCP with a payload and a wrong checksum
	"tcp_sack",               // TCP with SACK blocks
	"udp_gossip",             // UDP with a payload
	"ip6_tcp",                // IPv6, TCP with a payload
	"ip6_udp",                // IPv6, UDP
	"arp_request",            // ARP, padded
	"arp_reply",              // ARP, padded
	"icmp_echo",              // ICMP
	"ip_fragment",            // an IP fragment
	"ip_options_ecn",         // IP options and ECN bits
	"ip_bad_checksum",        // a bad IP header checksum
	"truncated",              // a frame cut by the snap length
}

// The tcpdump -X view is checked against tcpdump itself: each packet shape
// is written to a pcap, read back with `tcpdump -nn -X -r`, and the two
// dumps compared. What is compared is what must agree byte for byte: every
// hex and ASCII line, its offset, its sixteen bytes in groups of two and
// its dots for what is not printable — the lines that start "0x". The
// header line above them is not compared: the lab prints host names for
// the lab's addresses and its own verbose fields (tcpdump -v's "(tos 0x0,
// ttl 64, ...)" in one line), and tcpdump prints its time in the local
// time zone.
func TestFormatXAgreesWithTcpdump(t *testing.T) {
	tcpdump := externalTool(t, "tcpdump", "tcpdump")
	cases := map[string]Packet{}
	for _, tc := range formatCases(t) {
		cases[tc.name] = tc.p
	}
	for _, name := range tcpdumpShapes {
		t.Run(name, func(t *testing.T) {
			p, ok := cases[name]
			if !ok {
				t.Fatalf("no format case %q", name)
			}
			path := filepath.Join(t.TempDir(), name+".pcap")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := WritePcap(f, []Packet{p}, 65535); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(tcpdump, "-nn", "-X", "-r", path)
			cmd.Env = append(os.Environ(), "TZ=UTC")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("tcpdump -X -r: %v\n%s", err, out)
			}
			theirs := dumpLines(string(out))
			ours := dumpLines(string(FormatX(nil, p, nil)))
			if len(theirs) == 0 {
				t.Fatalf("tcpdump printed no dump:\n%s", out)
			}
			if strings.Join(ours, "\n") != strings.Join(theirs, "\n") {
				t.Errorf("the lab's dump differs from tcpdump's\nlab:\n%s\ntcpdump:\n%s", strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
			}
		})
	}
}
