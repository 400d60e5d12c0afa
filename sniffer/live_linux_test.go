package sniffer

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// netnsEnv marks the test binary re-executed inside its own user and
// network namespace. Nothing here ever runs in the machine's namespace.
const netnsEnv = "ZTLAB_SNIFFER_PRIVATE_NETNS"

// mustCaptureEnv tells the re-executed test that it may not skip: inside
// its namespace it is uid 0 whoever started it, so the outer test decides.
const mustCaptureEnv = "ZTLAB_SNIFFER_MUST_CAPTURE"

// mustCapture says whether the live capture has to run here: under CI
// (CI set) and as root nothing stops it, so a skip there would report a
// check that never ran as if it had passed.
func mustCapture() bool {
	if os.Getenv(netnsEnv) == "1" {
		return os.Getenv(mustCaptureEnv) == "1"
	}
	return os.Getenv("CI") != "" || os.Getuid() == 0
}

// cannotCapture ends a live test that cannot capture here: it fails under
// CI or as root, and skips, saying why, only for a developer without root
// and without CI.
func cannotCapture(t *testing.T, format string, args ...any) {
	t.Helper()
	why := fmt.Sprintf(format, args...)
	if mustCapture() {
		t.Fatalf("%s: under CI or as root the live capture must run, so this is a failure, not a skip", why)
	}
	t.Skipf("%s: live capture NOT tested (not root, CI unset; run as root or with CI=1 to make this a failure)", why)
}

// inPrivateNetns re-executes the running test in a new user+network
// namespace (uid and gid 0 mapped to the caller's) and reports its
// result; it returns true when the caller is that re-executed test and
// should go on.
func inPrivateNetns(t *testing.T) bool {
	if os.Getenv(netnsEnv) == "1" {
		// Refuse to touch a namespace that already has interfaces: it
		// could be the machine's.
		links, err := netlink.LinkList()
		if err != nil {
			t.Fatalf("list links: %v", err)
		}
		if len(links) != 1 || links[0].Attrs().Name != "lo" {
			t.Fatalf("expected a fresh network namespace with lo only, found %d links: refusing to go on", len(links))
		}
		return true
	}
	if testing.Short() && !mustCapture() {
		t.Skip("live capture re-executes the test in a private namespace: skipped with -short (not root, CI unset)")
	}
	must := "0"
	if mustCapture() {
		must = "1"
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1", "-test.timeout=120s")
	cmd.Env = append(os.Environ(), netnsEnv+"=1", mustCaptureEnv+"="+must)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cannotCapture(t, "cannot create a private user+net namespace here (%v)", err)
	}
	err := cmd.Wait()
	t.Logf("in a private namespace:\n%s", out.String())
	if err != nil {
		t.Fatalf("live test in a private namespace: %v", err)
	}
	if strings.Contains(out.String(), "--- SKIP") {
		cannotCapture(t, "skipped in the private namespace (its log is above)")
	}
	return false
}

// wire is a lab in miniature: a bridge in the test's namespace and two
// hosts, each its own network namespace on a veth plugged into it.
type wire struct {
	bridge string
	hosts  map[string]netns.NsHandle
	addrs  map[string]netip.Addr
	names  Names
}

func newWire(t *testing.T) *wire {
	w := &wire{bridge: "br0", hosts: map[string]netns.NsHandle{}, addrs: map[string]netip.Addr{}, names: Names{}}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: w.bridge}}
	if err := netlink.LinkAdd(br); err != nil {
		if errors.Is(err, syscall.EPERM) {
			cannotCapture(t, "no CAP_NET_ADMIN in the private namespace (%v)", err)
		}
		t.Fatalf("add bridge: %v", err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"fcs00", "fcc00"} {
		addr := netip.MustParseAddr(fmt.Sprintf("198.18.0.%d", 11+i))
		ns := newNetns(t)
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "v" + name, MasterIndex: br.Index}, PeerName: "e" + name}
		if err := netlink.LinkAdd(veth); err != nil {
			t.Fatalf("add veth for %s: %v", name, err)
		}
		peer, err := netlink.LinkByName("e" + name)
		if err != nil {
			t.Fatal(err)
		}
		if err := netlink.LinkSetNsFd(peer, int(ns)); err != nil {
			t.Fatal(err)
		}
		if err := netlink.LinkSetUp(veth); err != nil {
			t.Fatal(err)
		}
		h, err := netlink.NewHandleAt(ns)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range []string{"lo", "e" + name} {
			link, err := h.LinkByName(l)
			if err != nil {
				t.Fatal(err)
			}
			if l != "lo" {
				if err := h.AddrAdd(link, &netlink.Addr{IPNet: &net.IPNet{IP: addr.AsSlice(), Mask: net.CIDRMask(24, 32)}}); err != nil {
					t.Fatal(err)
				}
			}
			if err := h.LinkSetUp(link); err != nil {
				t.Fatal(err)
			}
		}
		h.Close()
		w.hosts[name], w.addrs[name], w.names[addr] = ns, addr, name
	}
	return w
}

// newNetns creates a network namespace without entering it.
func newNetns(t *testing.T) netns.NsHandle {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Fatalf("new netns: %v", err)
	}
	if err := netns.Set(orig); err != nil {
		panic("cannot return to the test's namespace: " + err.Error())
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// on runs fn on a thread inside host's namespace: sockets fn creates
// belong to the host for good.
func (w *wire) on(host string, fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return err
	}
	defer orig.Close()
	if err := netns.Set(w.hosts[host]); err != nil {
		return err
	}
	defer func() {
		if err := netns.Set(orig); err != nil {
			panic("cannot return to the test's namespace: " + err.Error())
		}
	}()
	return fn()
}

func (w *wire) listen(t *testing.T, host string, port int) net.Listener {
	var ln net.Listener
	err := w.on(host, func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(w.addrs[host], uint16(port)).String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func (w *wire) dial(host string, to net.Addr) (net.Conn, error) {
	var c net.Conn
	err := w.on(host, func() (err error) {
		c, err = net.DialTimeout("tcp", to.String(), 5*time.Second)
		return err
	})
	return c, err
}

// serve answers every connection with text, written in parts as the
// fortune service's socat may, then closes it.
func serve(ln net.Listener, text string, parts int, wrap func(net.Conn) net.Conn) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetNoDelay(true)
			}
			if wrap != nil {
				c = wrap(c)
			}
			step := (len(text) + parts - 1) / parts
			for off := 0; off < len(text); off += step {
				if _, err := c.Write([]byte(text[off:min(off+step, len(text))])); err != nil {
					return
				}
				if parts > 1 {
					time.Sleep(5 * time.Millisecond)
				}
			}
			if tc, ok := c.(*tls.Conn); ok {
				tc.CloseWrite()
			}
		}()
	}
}

// feed hands what c captures to a until done reports true or time runs
// out.
func feed(t *testing.T, c *Capture, a *Analyzer, done func() bool) {
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !done() {
		select {
		case p, ok := <-c.Packets():
			if !ok {
				t.Fatalf("capture ended: %v", c.Err())
			}
			a.Feed(p)
		case <-tick.C:
		case <-deadline:
			t.Fatalf("gave up waiting; flows:\n%s", AppendFlowTable(nil, a.Flows()))
		}
	}
}

func flowOf(a *Analyzer, client, server net.Addr) (FlowSummary, bool) {
	return a.Flow(FlowKey{Proto: TCP,
		Client: netip.MustParseAddrPort(client.String()), Server: netip.MustParseAddrPort(server.String())})
}

func TestLiveCapture(t *testing.T) {
	if !inPrivateNetns(t) {
		return
	}
	w := newWire(t)

	t.Run("sniffer sees the fortune in the clear", func(t *testing.T) {
		ln := w.listen(t, "fcs00", 8181)
		go serve(ln, seedFortune, 3, nil)
		c, err := Open(w.bridge, Options{Filter: Filter{Port: 8181, Proto: TCP}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		a := NewAnalyzer(w.names)

		conn, err := w.dial("fcc00", ln.Addr())
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(conn)
		conn.Close()
		if err != nil || string(got) != seedFortune {
			t.Fatalf("consumer read %q, %v", got, err)
		}
		a.AddKnown(string(got)) // what the consumer printed
		var f FlowSummary
		feed(t, c, a, func() bool {
			var ok bool
			f, ok = flowOf(a, conn.LocalAddr(), ln.Addr())
			return ok && f.Closed && f.Payload[1] == uint64(len(seedFortune)) && f.Packets[0] >= 4
		})
		v := f.Verdict
		if v.Kind != Plaintext || v.Fortune != strings.TrimSpace(seedFortune) || !strings.Contains(evidence(v), v.Fortune) {
			t.Fatalf("verdict %v:\n%s", v.Kind, evidence(v))
		}
		t.Logf("flow table:\n%s", AppendFlowTable(nil, a.Flows()))
		t.Logf("verdict:\n%s", AppendVerdict(nil, v))

		c.Close()
		st := c.Stats()
		if st.Seen == 0 || st.KernelDrops != 0 || st.BufferDrops != 0 {
			t.Errorf("stats %+v", st)
		}
		var pcap bytes.Buffer
		if err := c.WritePcap(&pcap); err != nil {
			t.Fatal(err)
		}
		pkts, err := ReadPcap(&pcap)
		if err != nil || len(pkts) != st.Ring || uint64(len(pkts)) != st.Seen {
			t.Fatalf("pcap: %d packets (%v), stats %+v", len(pkts), err, st)
		}
		var dump []byte
		for _, p := range pkts {
			dump = FormatX(dump, p, w.names)
		}
		if !strings.Contains(string(dump), "fcs00.8181 > fcc00.") || !strings.Contains(string(dump), "The.holy.pas") {
			t.Errorf("tcpdump view lacks the fortune:\n%s", dump)
		}
	})

	t.Run("without promiscuous mode the bridge sees no unicast", func(t *testing.T) {
		ln := w.listen(t, "fcs00", 8182)
		go serve(ln, seedFortune, 1, nil)
		c, err := Open(w.bridge, Options{Filter: Filter{Port: 8182}, NotPromiscuous: true})
		if err != nil {
			t.Fatal(err)
		}
		conn, err := w.dial("fcc00", ln.Addr())
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(conn)
		conn.Close()
		time.Sleep(100 * time.Millisecond)
		c.Close()
		if st := c.Stats(); st.Seen != 0 {
			t.Errorf("the bridge saw %d unicast frames without promiscuous mode", st.Seen)
		}
	})

	t.Run("TLS is ciphertext with no fortune bytes", func(t *testing.T) {
		srvCfg, cliCfg := tlsConfigs(t, "fcs00", 0)
		ln := w.listen(t, "fcs00", 8443)
		go serve(ln, seedFortune, 3, func(c net.Conn) net.Conn { return tls.Server(c, srvCfg) })
		c, err := Open(w.bridge, Options{Filter: Filter{Host: w.addrs["fcs00"], Port: 8443, Proto: TCP}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		a := NewAnalyzer(w.names)
		raw, err := w.dial("fcc00", ln.Addr())
		if err != nil {
			t.Fatal(err)
		}
		conn := tls.Client(raw, cliCfg)
		got, err := io.ReadAll(conn)
		conn.Close()
		if string(got) != seedFortune {
			t.Fatalf("TLS consumer read %q, %v", got, err)
		}
		a.AddKnown(string(got))
		var f FlowSummary
		feed(t, c, a, func() bool {
			var ok bool
			f, ok = flowOf(a, raw.LocalAddr(), ln.Addr())
			return ok && f.Closed && f.Verdict.TLS != nil && f.Verdict.TLS.ServerRecords.ApplicationData >= 2
		})
		v := f.Verdict
		if v.Kind != Encrypted || v.KnownBytes != 0 || v.TLS.SNI != "fcs00" || v.TLS.Version != tls.VersionTLS13 {
			t.Fatalf("verdict %v known=%d:\n%s", v.Kind, v.KnownBytes, evidence(v))
		}
		t.Logf("verdict:\n%s", AppendVerdict(nil, v))
	})

	t.Run("a thousand fortunes without drops", func(t *testing.T) {
		ln := w.listen(t, "fcs00", 8183)
		go serve(ln, seedFortune, 1, nil)
		c, err := Open(w.bridge, Options{Filter: Filter{Port: 8183}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		a := NewAnalyzer(w.names)
		a.AddKnown(seedFortune)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // the consumer of the capture, as a UI would be
			defer wg.Done()
			for p := range c.Packets() {
				a.Feed(p)
			}
		}()
		start := time.Now()
		const n = 1000
		for i := 0; i < n; i++ {
			conn, err := w.dial("fcc00", ln.Addr())
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(conn)
			conn.Close()
			if err != nil || len(got) != len(seedFortune) {
				t.Fatalf("fortune %d: %d bytes, %v", i, len(got), err)
			}
		}
		took := time.Since(start)
		time.Sleep(200 * time.Millisecond) // the last FINs
		c.Close()
		wg.Wait()
		st := c.Stats()
		plain := 0
		for _, f := range a.Flows() {
			if f.Verdict.Kind == Plaintext && f.Verdict.Fortune != "" {
				plain++
			}
		}
		t.Logf("%d fortunes in %v; capture %+v; %d flows read in the clear", n, took.Round(time.Millisecond), st, plain)
		if st.KernelDrops != 0 || st.BufferDrops != 0 {
			t.Errorf("drops: %+v", st)
		}
		if plain != n {
			t.Errorf("%d of %d flows show the fortune", plain, n)
		}
	})

	t.Run("zt-lab sniff streams what the man in the middle reads", func(t *testing.T) {
		ln := w.listen(t, "fcs00", 8185)
		go serve(ln, seedFortune, 1, nil)
		for _, flows := range []bool{false, true} {
			ctx, cancel := context.WithCancel(context.Background())
			out := &syncBuffer{}
			var pcap bytes.Buffer
			done := make(chan error, 1)
			go func() {
				_, err := Live(ctx, w.bridge, LiveOptions{Filter: Filter{Port: 8185}, Names: w.names, Flows: flows,
					Every: 50 * time.Millisecond, Write: &pcap}, out)
				done <- err
			}()
			waitFor(t, out, "listening on br0")
			conn, err := w.dial("fcc00", ln.Addr())
			if err != nil {
				t.Fatal(err)
			}
			io.ReadAll(conn)
			conn.Close()
			want := "d.Wilson's.Calen" // the ASCII column of the hex dump
			if flows {
				want = "PLAINTEXT"
			}
			waitFor(t, out, want)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "packets captured, 0 dropped by kernel, 0 dropped by buffer\n") {
				t.Errorf("no counters line:\n%s", out.String())
			}
			if pkts, err := ReadPcap(&pcap); err != nil || len(pkts) < 6 {
				t.Errorf("--write: %d packets, %v", len(pkts), err)
			}
		}
	})

	t.Run("a capture streamed over a pipe shows the fortune, not its own connection", func(t *testing.T) {
		ln := w.listen(t, "fcs00", 8186)
		go serve(ln, seedFortune, 1, nil)
		carrier := w.listen(t, "fcs00", 2222) // what SSH would be
		go serve(carrier, strings.Repeat("SSH-2.0-OpenSSH_9.6\r\n", 100), 10, nil)
		wire, out, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		// What zt-lab runs on the remote host, writing to its stdout.
		remote, err := Open(w.bridge, Options{Filter: Filter{NotPort: 2222}, Write: out, FlushEvery: 20 * time.Millisecond, Buffer: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer remote.Close()
		local, err := OpenStream("ssh:br0", wire, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer local.Close()

		ssh, err := w.dial("fcc00", carrier.Addr())
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(ssh)
		ssh.Close()
		conn, err := w.dial("fcc00", ln.Addr())
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(conn)
		conn.Close()
		a := NewAnalyzer(w.names)
		a.AddKnown(seedFortune)
		feed(t, local, a, func() bool {
			f, ok := flowOf(a, conn.LocalAddr(), ln.Addr())
			return ok && f.Closed && f.Verdict.Kind == Plaintext
		})
		if _, ok := flowOf(a, ssh.LocalAddr(), carrier.Addr()); ok {
			t.Error("the capture carried its own connection")
		}

		if err := remote.Close(); err != nil {
			t.Fatal(err)
		}
		out.Close()
		for range local.Packets() {
		}
		if err := local.Err(); err != nil {
			t.Errorf("the end of the stream is an error: %v", err)
		}
		rs, ls := remote.Stats(), local.Stats()
		t.Logf("remote %+v, local %+v", rs, ls)
		if ls.Seen != rs.Seen || ls.KernelDrops != 0 {
			t.Errorf("the remote captured %d frames, the local side read %d", rs.Seen, ls.Seen)
		}
	})

	t.Run("loopback frames are seen once", func(t *testing.T) {
		if err := netlink.LinkSetUp(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Name: "lo"}}); err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:8184") // the test's private namespace
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go serve(ln, seedFortune, 1, nil)
		c, err := Open("lo", Options{Filter: Filter{Port: 8184}})
		if err != nil {
			t.Fatal(err)
		}
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(conn)
		conn.Close()
		time.Sleep(100 * time.Millisecond)
		c.Close()
		pkts := c.Drain(nil)
		if len(pkts) < 6 {
			t.Fatalf("captured %d frames on lo", len(pkts))
		}
		for i := 1; i < len(pkts); i++ {
			if bytes.Equal(pkts[i].Data, pkts[i-1].Data) {
				t.Fatalf("frame %d seen twice", i)
			}
		}
	})
}

// syncBuffer is a bytes.Buffer that Live may write while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func waitFor(t *testing.T, b *syncBuffer, s string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(b.String(), s) {
			return
		}
	}
	t.Fatalf("no %q in:\n%s", s, b.String())
}
