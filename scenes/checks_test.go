package scenes

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/mesh"
	"github.com/ztlab/zt-lab/sniffer"
)

// Every check of the walkthrough is shown the situation it is there to
// catch, beside the one it is there to prove: each bad row must fail, with
// evidence that says why; each good row must pass. A check that regressed
// to always-pass, or to always-fail, fails here.

const (
	fortuneA = "A day for firm decisions!!!!!  Or is it?\n"
	fortuneB = "You will be honoured for contributing your time and skill to a worthy cause.\n"
)

var (
	fccAddr = netip.MustParseAddr("198.18.0.30")
	fcsAddr = netip.MustParseAddr("198.18.0.20")
	c0Addr  = netip.MustParseAddr("198.18.0.10")
	c1Addr  = netip.MustParseAddr("198.18.0.11")
)

func fcc(port uint16) netip.AddrPort { return netip.AddrPortFrom(fccAddr, port) }
func fcs(port uint16) netip.AddrPort { return netip.AddrPortFrom(fcsAddr, port) }

// plainFlow is the seeds' exchange: fcc00 connects to fcs00:port, the
// service answers text and closes.
func plainFlow(t testing.TB, client uint16, server uint16, text string) []sniffer.Packet {
	return newWireConv(t, fcc(client), fcs(server)).send(1, []byte(text)).close()
}

// requireCheck fails the test unless c passed as wanted, and, for a
// failure, unless its evidence names why.
func requireCheck(t *testing.T, c check.Check, pass bool, why ...string) {
	t.Helper()
	if c.Pass != pass {
		t.Fatalf("Pass = %v, want %v: %s\n%s", c.Pass, pass, c.Name, evidenceOf(c))
	}
	for _, w := range why {
		if !strings.Contains(evidenceOf(c), w) {
			t.Errorf("evidence does not say %q:\n%s", w, evidenceOf(c))
		}
	}
}

func TestCheckWireSeesTheFortuneInTheClear(t *testing.T) {
	t.Parallel()
	served := []string{fortuneA, fortuneB}
	for _, tc := range []struct {
		name string
		last string
		pkts []sniffer.Packet
		pass bool
		why  []string
	}{
		{"the consumer's fortune in the clear", fortuneA, plainFlow(t, 40000, FortunePort, fortuneA), true,
			[]string{"PLAINTEXT", "the stolen fortune, read off the wire:", strings.TrimSpace(fortuneA)}},
		{"another fortune on the wire than the consumer printed", fortuneA, plainFlow(t, 40000, FortunePort, fortuneB), false,
			[]string{"was not found whole on the wire"}},
		{"the flow is ciphertext", fortuneA, tlsFlow(t, fcc(40000), fcs(FortunePort), nil, noise(3, 300), noise(4, 600)), false,
			[]string{"ENCRYPTED", "was not found whole on the wire"}},
		{"no flow to the port", fortuneA, plainFlow(t, 40000, 8182, fortuneA), false,
			[]string{"no flow fcc00 > fcs00:8181 was captured"}},
		{"no capture ran", fortuneA, nil, false, []string{"no capture ran"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // the bad rows each wait out the check's deadline
			env := checkEnv(newCheckLab(), tc.last, served, tc.pkts)
			c := env.checkWire(context.Background(), "the sniffer read the fortune in the clear", ConsumerHost, ServiceHost, FortunePort, sniffer.Plaintext)
			requireCheck(t, c, tc.pass, tc.why...)
		})
	}
}

// Prose no fortune holds: text in TLS records the sniffer cannot call a
// stolen fortune.
const (
	proseA = "Meet me by the old mill at nine; bring the ledger and the spare key, and tell nobody. "
	proseB = "The shipment leaves on Tuesday from the east dock, crates seven to twelve, paid in cash on arrival. "
)

func TestCheckWireSeesNoFortuneThroughTheMesh(t *testing.T) {
	t.Parallel()
	served := []string{fortuneA, fortuneB}
	mtls := tlsFlow(t, fcc(40000), fcs(mesh.MeshPort), nil, noise(3, 300), noise(4, 600))
	for _, tc := range []struct {
		name string
		pkts []sniffer.Packet
		pass bool
		why  []string
	}{
		{"TLS records only", mtls, true,
			[]string{"ENCRYPTED", "0 bytes of 2 served fortunes in", "payload entropy 7."}},
		// TLS framing is not encryption: records that carry text the
		// sniffer does not know as a fortune are still not noise.
		{"TLS records carrying text", tlsFlow(t, fcc(40000), fcs(mesh.MeshPort), nil, []byte(strings.Repeat(proseA, 2)), []byte(strings.Repeat(proseB, 3))), false,
			[]string{"ENCRYPTED", "bits/byte over", "not noise"}},
		{"plaintext on the mesh port", plainFlow(t, 40000, mesh.MeshPort, fortuneA), false,
			[]string{"PLAINTEXT", "bytes of served fortunes"}},
		{"a fortune inside TLS records", tlsFlow(t, fcc(40000), fcs(mesh.MeshPort), nil, noise(3, 30), []byte(fortuneA)), false,
			[]string{"PLAINTEXT", "bytes of served fortunes"}},
		{"the mesh is encrypted but the old port still leaks", append(append([]sniffer.Packet(nil), mtls...), plainFlow(t, 40001, FortunePort, fortuneB)...), false,
			[]string{"fcc00.40001 > fcs00.8181 carries", "bytes of served fortunes"}},
		{"no flow through the mesh", plainFlow(t, 40000, FortunePort, fortuneA), false,
			[]string{"no flow fcc00 > fcs00:9191 was captured"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // the bad rows each wait out the check's deadline
			env := checkEnv(newCheckLab(), fortuneA, served, tc.pkts)
			c := env.checkWire(context.Background(), "no fortune bytes on the wire through the mesh", ConsumerHost, ServiceHost, mesh.MeshPort, sniffer.Encrypted)
			requireCheck(t, c, tc.pass, tc.why...)
		})
	}
}

// Consul's own traffic: encrypted gossip over UDP, RPC over TLS after its
// type byte — or the same in the clear.
func TestCheckConsulWire(t *testing.T) {
	t.Parallel()
	gossip := func(msg []byte, encrypt bool) []sniffer.Packet {
		if encrypt {
			msg = sealGossip(msg, 1)
		}
		return []sniffer.Packet{udpDatagram(t, netip.AddrPortFrom(c0Addr, mesh.SerfPort), netip.AddrPortFrom(c1Addr, mesh.SerfPort), msg)}
	}
	rpcTLS := tlsFlow(t, fcc(41000), netip.AddrPortFrom(c0Addr, mesh.ServerPort), []byte{3}, noise(5, 200), noise(6, 200))
	rpcPlain := newWireConv(t, fcc(41001), netip.AddrPortFrom(c0Addr, mesh.ServerPort)).
		send(0, append([]byte{0x00, 0x82, 0xa6}, "Method\xabStatus.Ping\xa3Seq\x01"...)).
		send(1, append([]byte{0x82, 0xa5}, "Error\xc0\xa3Seq\x01"...)).close()
	// A connection opened as the capture is read: a handshake, no payload.
	opening := newWireConv(t, fcc(41002), netip.AddrPortFrom(c0Addr, mesh.ServerPort)).pkts
	join := func(ps ...[]sniffer.Packet) []sniffer.Packet {
		var out []sniffer.Packet
		for _, p := range ps {
			out = append(out, p...)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		pkts []sniffer.Packet
		pass bool
		why  []string
	}{
		{"gossip and RPC encrypted", join(gossip(pingMsg, true), rpcTLS), true,
			[]string{"1 gossip flows on 8301: ENCRYPTED", "1 RPC flows on 8300: ENCRYPTED (TLS)"}},
		{"gossip in the clear", join(gossip(pingMsg, false), rpcTLS), false,
			[]string{"PLAINTEXT (Consul gossip)"}},
		{"RPC in the clear", join(gossip(pingMsg, true), rpcPlain), false,
			[]string{"PLAINTEXT (Consul RPC)"}},
		{"one plaintext RPC flow among encrypted ones", join(gossip(pingMsg, true), rpcTLS, rpcPlain), false,
			[]string{"fcc00.41001 > consul00.8300: PLAINTEXT"}},
		{"no RPC seen", gossip(pingMsg, true), false,
			[]string{"no flow on port 8300 seen"}},
		{"an RPC connection still opening beside encrypted ones", join(gossip(pingMsg, true), rpcTLS, opening), true,
			[]string{"1 RPC flows on 8300: ENCRYPTED (TLS)", "1 flow(s) had carried no payload yet"}},
		{"only an RPC connection still opening", join(gossip(pingMsg, true), opening), false,
			[]string{"no flow on port 8300 seen"}},
		{"no capture ran", nil, false, []string{"no capture ran"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // the bad rows each wait out the check's deadline
			env := checkEnv(newCheckLab(), "", nil, tc.pkts)
			requireCheck(t, checkConsulWire(context.Background(), env), tc.pass, tc.why...)
		})
	}
}

// checkConsulWire measures once, when the evidence is in: flows on both
// ports, each one closed or judged. It does not wait for a verdict it
// likes.
func TestConsulWireSettles(t *testing.T) {
	flow := func(port uint16, kind sniffer.Kind, closed bool) sniffer.FlowSummary {
		return sniffer.FlowSummary{
			Key:     sniffer.FlowKey{Proto: sniffer.TCP, Client: fcc(41000), Server: netip.AddrPortFrom(c0Addr, port)},
			Verdict: sniffer.Verdict{Kind: kind},
			Closed:  closed,
			Payload: [2]uint64{120, 80},
		}
	}
	opening := flow(8300, sniffer.Unknown, false)
	opening.Payload = [2]uint64{}
	for _, tc := range []struct {
		name  string
		flows []sniffer.FlowSummary
		want  bool
	}{
		{"a connection still opening does not hold the wait", []sniffer.FlowSummary{flow(8300, sniffer.Encrypted, false), flow(8301, sniffer.Encrypted, false), opening}, true},
		{"nor does it stand for RPC", []sniffer.FlowSummary{opening, flow(8301, sniffer.Encrypted, false)}, false},
		{"both ports judged encrypted", []sniffer.FlowSummary{flow(8300, sniffer.Encrypted, false), flow(8301, sniffer.Encrypted, false)}, true},
		{"a plaintext verdict settles it too", []sniffer.FlowSummary{flow(8300, sniffer.Plaintext, false), flow(8301, sniffer.Encrypted, false)}, true},
		{"an open flow not judged yet", []sniffer.FlowSummary{flow(8300, sniffer.Unknown, false), flow(8301, sniffer.Encrypted, false)}, false},
		{"a closed flow never judged", []sniffer.FlowSummary{flow(8300, sniffer.Unknown, true), flow(8301, sniffer.Encrypted, false)}, true},
		{"no gossip yet", []sniffer.FlowSummary{flow(8300, sniffer.Encrypted, false)}, false},
		{"other ports do not count", []sniffer.FlowSummary{flow(8300, sniffer.Encrypted, false), flow(8301, sniffer.Encrypted, false), flow(9191, sniffer.Unknown, false)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := consulWireSettled(tc.flows); got != tc.want {
				t.Errorf("settled = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCheckHostsUp(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(l *checkLab)
		pass   bool
		why    []string
	}{
		{"five hosts up", func(*checkLab) {}, true, []string{"fcs00 198.18.0.20 up", "fcc00 198.18.0.30 up"}},
		{"a host is down", func(l *checkLab) { l.host(ServiceHost).state = infra.StateCrashed }, false, []string{"fcs00 is crashed"}},
		{"a host is missing", func(l *checkLab) { l.hosts = l.hosts[:4] }, false, []string{"the lab has no fcc00"}},
		{"two hosts share an address", func(l *checkLab) { l.host(ConsumerHost).addr = fcsAddr }, false, []string{"fcc00 and fcs00 share 198.18.0.20"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newCheckLab()
			tc.break_(l)
			requireCheck(t, checkHostsUp(context.Background(), checkEnv(l, "", nil, nil)), tc.pass, tc.why...)
		})
	}
	requireCheck(t, checkHostsUp(context.Background(), emptyEnv()), false, "no lab")
}

func TestCheckConsumerGotServed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		last   string
		served []string
		pass   bool
		why    []string
	}{
		{"the consumer printed what was served", fortuneA, []string{fortuneB, fortuneA}, true, []string{"fcc00 printed what fcs00 served:", strings.TrimSpace(fortuneA)}},
		{"the consumer printed a fortune never served", fortuneA, []string{fortuneB}, false, []string{"which the service never served"}},
		{"the consumer printed nothing", "", []string{fortuneA}, false, []string{"the consumer printed nothing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // the bad rows each wait out the check's deadline
			env := checkEnv(newCheckLab(), tc.last, tc.served, nil)
			requireCheck(t, checkConsumerGotServed(context.Background(), env), tc.pass, tc.why...)
		})
	}
}

// /proc/net/tcp as fcs00's kernel lists it, with the fortune service's
// listening sockets on the given addresses (hex, host order).
func procNetTCP(listen ...string) string {
	s := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	for i, a := range listen {
		s += fmt.Sprintf("   %d: %s:1FF5 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 %d 1 0000000000000000 100 0 0 10 0\n", i, a, i+1)
	}
	return s
}

func TestCheckListening(t *testing.T) {
	const (
		any       = "00000000"
		loopback  = "0100007F"
		labAddr   = "140012C6" // 198.18.0.20
		wantLocal = "127.0.0.1"
		wantAll   = "0.0.0.0"
	)
	for _, tc := range []struct {
		name  string
		bind  string
		table string
		err   error
		pass  bool
		why   []string
	}{
		{"on loopback only", wantLocal, procNetTCP(loopback), nil, true, []string{"a socket in LISTEN on 127.0.0.1:8181 and on no other address"}},
		{"on every address", wantAll, procNetTCP(any), nil, true, []string{"LISTEN on 0.0.0.0:8181"}},
		{"still on every address after the rebind", wantLocal, procNetTCP(any), nil, false, []string{"fcs00 listens on port 8181 at [0.0.0.0], want 127.0.0.1 only"}},
		{"on loopback and on the wire", wantLocal, procNetTCP(loopback, labAddr), nil, false, []string{"at [127.0.0.1 198.18.0.20], want 127.0.0.1 only"}},
		{"not listening at all", wantAll, procNetTCP(), nil, false, []string{"at [], want 0.0.0.0 only"}},
		{"the socket table cannot be read", wantLocal, "", fmt.Errorf("cat: /proc/net/tcp: permission denied"), false, []string{"read the sockets of fcs00: cat: /proc/net/tcp: permission denied"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newCheckLab()
			l.host(ServiceHost).run = func(argv []string) ([]byte, error) {
				if strings.Join(argv, " ") != "cat /proc/net/tcp" {
					return nil, fmt.Errorf("unexpected %q", argv)
				}
				return []byte(tc.table), tc.err
			}
			c := checkEnv(l, "", nil, nil).checkListening(context.Background(), ServiceHost, tc.bind)
			requireCheck(t, c, tc.pass, tc.why...)
		})
	}
}

func TestCheckFailures(t *testing.T) {
	fine := []Failure{
		{Host: "fcs01", Mode: infra.Crash, Detected: 900 * time.Millisecond, Recovered: 2 * time.Second},
		{Host: "fcs02", Mode: infra.Partition, Detected: 1100 * time.Millisecond, Recovered: 2 * time.Second},
		{Host: "fcs00", Mode: infra.Freeze, Detected: 1200 * time.Millisecond, Recovered: 2 * time.Second},
	}
	slow := append([]Failure(nil), fine...)
	slow[1].Detected = 4 * time.Second
	for _, tc := range []struct {
		name     string
		failures []Failure
		load     [2]int // ok, failed
		pass     bool
		why      []string
	}{
		{"each failure seen within the target, few fetches lost", fine, [2]int{200, 12}, true,
			[]string{"fcs02 partition out of the healthy set after 1.1s (within the 3s target)", "12 failed over 3 failures: 4.0 per failure"}},
		{"a failure detected too late", slow, [2]int{200, 12}, false,
			[]string{"fcs02 partition out of the healthy set after 4s (OVER the 3s target)"}},
		{"fetches lost over the limit", fine, [2]int{200, 3*FailedPerFailure + 1}, false,
			[]string{"46 failed over 3 failures: 15.3 per failure", "≤ 15 fetches"}},
		{"a failure that never ran", fine[:2], [2]int{200, 0}, false,
			[]string{"2 of 3 failures ran"}},
		{"the consumer never asked", fine, [2]int{0, 0}, false,
			[]string{"the consumer made no attempt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := checkEnv(newCheckLab(), "", nil, nil)
			env.keep(func(s *walkState) {
				s.failures = &failureRun{failures: tc.failures, ok: tc.load[0], failed: tc.load[1]}
			})
			requireCheck(t, checkFailures(context.Background(), env), tc.pass, tc.why...)
		})
	}
}

func TestCheckFailover(t *testing.T) {
	good := failover{Old: "consul01", New: "consul02", Took: 1100 * time.Millisecond, Back: true, OKDuring: 10, FailedDuring: 0, OKAfter: 30, FailedAfter: 0,
		Raft: "raft on the servers: heartbeat timeout 500ms, election timeout 500ms"}
	with := func(f func(*failover)) failover { fo := good; f(&fo); return fo }
	for _, tc := range []struct {
		name string
		fo   *failover
		pass bool
		why  []string
	}{
		{"a new leader within the target", &good, true, []string{"consul01 crashed; consul02 elected 1.1s later (target 3s)", "heartbeat timeout 500ms"}},
		{"the leader never changed", ptr(with(func(f *failover) { f.New = ""; f.Took = 0 })), false, []string{"no new leader"}},
		{"the same leader named again", ptr(with(func(f *failover) { f.New = f.Old })), false, []string{"no new leader"}},
		{"a new leader too late", ptr(with(func(f *failover) { f.Took = 4 * time.Second })), false, []string{"elected 4s later (target 3s)"}},
		{"fetches lost over the limit", ptr(with(func(f *failover) { f.FailedDuring, f.FailedAfter = 10, 6 })), false, []string{"while leaderless: 10 ok, 10 failed", "under the new leader: 30 ok, 6 failed (none may be lost)"}},
		{"two fetches lost while leaderless", ptr(with(func(f *failover) { f.FailedDuring = 2 })), false, []string{"while leaderless: 10 ok, 2 failed"}},
		{"one fetch lost under the new leader", ptr(with(func(f *failover) { f.FailedAfter = 1 })), false, []string{"under the new leader: 30 ok, 1 failed (none may be lost)"}},
		{"nothing served under the new leader", ptr(with(func(f *failover) { f.OKAfter = 0 })), false, []string{"under the new leader: 0 ok"}},
		{"the old leader never rejoined", ptr(with(func(f *failover) { f.Back = false })), false, []string{"consul01 recovered and rejoined: false"}},
		{"no failover ran", nil, false, []string{"no failover ran"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := checkEnv(newCheckLab(), "", nil, nil)
			env.keep(func(s *walkState) { s.failover = tc.fo })
			requireCheck(t, checkFailover(context.Background(), env), tc.pass, tc.why...)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestAllInstancesHealthy(t *testing.T) {
	want := allInstances()
	for _, tc := range []struct {
		name  string
		nodes []string
		ok    bool
	}{
		{"all three", []string{"fcs00", "fcs01", "fcs02"}, true},
		{"one missing", []string{"fcs00", "fcs02"}, false},
		{"a stranger in place of one", []string{"fcs00", "fcs01", "rogue00"}, false},
		{"none", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := allHealthy(want, tc.nodes); got != tc.ok {
				t.Errorf("allHealthy(%v, %v) = %v, want %v", want, tc.nodes, got, tc.ok)
			}
		})
	}
}

func TestRotationLoad(t *testing.T) {
	proved := check.Check{Name: "fortunes flow through a CA rotation, with leaves from the new root", Pass: true, Evidence: []string{"new root"}}
	for _, tc := range []struct {
		name       string
		mesh       check.Check
		ok, failed int
		pass       bool
		why        []string
	}{
		{"no fetch failed", proved, 52, 0, true, []string{"consumer during the rotation: 52 ok, 0 failed"}},
		{"the consumer lost fetches", proved, 50, 2, false, []string{"consumer during the rotation: 50 ok, 2 failed", "2 fetches failed during the rotation"}},
		{"the mesh's own check failed", check.Check{Name: proved.Name, Evidence: []string{"fcs's leaf was not re-issued from the new root"}}, 52, 0, false, []string{"not re-issued"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireCheck(t, withRotationLoad(tc.mesh, &rotationRun{ok: tc.ok, failed: tc.failed}), tc.pass, tc.why...)
		})
	}
}

// With nothing to see — no lab, no mesh, no capture, no step's results —
// every check of the walkthrough fails, and says what it lacked. A check
// that passes on an empty world proves nothing.
func TestEveryCheckFailsWithNothingToSee(t *testing.T) {
	for i, sc := range Walkthrough() {
		for j, st := range sc.Steps {
			if st.Verify == nil {
				continue
			}
			t.Run(fmt.Sprintf("%d.%d %s", i+1, j+1, st.Title), func(t *testing.T) {
				t.Parallel() // the wire checks wait out their deadlines
				c := st.Verify(context.Background(), emptyEnv())
				if c.Pass {
					t.Fatalf("%s passed with nothing to see: %q", c.Name, c.Evidence)
				}
				if len(c.Evidence) == 0 {
					t.Errorf("%s failed without saying why", c.Name)
				}
			})
		}
	}
}

// The encrypted scene's "looks like noise": ciphertext of any size reaches
// 85 % of the most entropy its size allows; text does not.
func TestPlaintextIsNotNoise(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"4 KiB of ciphertext", noise(11, 4096), true},
		{"1 KiB of ciphertext", noise(12, 1024), true},
		{"64 bytes of ciphertext", noise(13, 64), true},
		{"a fortune", []byte(fortuneA), false},
		{"4 KiB of prose", []byte(strings.Repeat(proseA+proseB, 22)), false},
		{"a megabyte of one byte", make([]byte, 1<<20), false},
		{"base64 of ciphertext", []byte(base64.StdEncoding.EncodeToString(noise(14, 3072))), false},
		{"nothing", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bits := shannon(tc.b)
			if got := looksLikeNoise(bits, len(tc.b)); got != tc.want {
				t.Errorf("%.2f bits/byte over %d bytes: looksLikeNoise = %v, want %v (threshold %.2f)", bits, len(tc.b), got, tc.want, noiseShare*maxEntropy(len(tc.b)))
			}
		})
	}
	if maxEntropy(1<<20) != 8 || maxEntropy(16) != 4 || maxEntropy(0) != 0 {
		t.Errorf("maxEntropy: %v %v %v, want 8 4 0", maxEntropy(1<<20), maxEntropy(16), maxEntropy(0))
	}
}

// shannon is the entropy of b in bits per byte, as the sniffer measures it.
func shannon(b []byte) float64 {
	var hist [256]int
	for _, x := range b {
		hist[x]++
	}
	h := 0.0
	for _, c := range hist {
		if c > 0 {
			p := float64(c) / float64(len(b))
			h -= p * math.Log2(p)
		}
	}
	return h
}
