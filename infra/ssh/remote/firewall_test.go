//go:build linux

package remote

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestTableName(t *testing.T) {
	tests := []struct {
		id   string
		want string // exact name, or the part before the hash when hashed
		hash bool
	}{
		{id: "3f9a0c12", want: "zt_lab_3f9a0c12"},
		{id: "test_lab", want: "zt_lab_test_lab"},
		{id: "Lab_2", want: "zt_lab_Lab_2"},
		{id: "", want: "zt_lab_"},
		{id: "test-lab", want: "zt_lab_test_lab_", hash: true},
		{id: "test.lab", want: "zt_lab_test_lab_", hash: true},
		{id: "lab é", want: "zt_lab_lab___", hash: true}, // one _ a rune
		{id: "abcdefghijklmnopqrstuvwx", want: "zt_lab_abcdefghijklmnopqrstuvwx"},
		{id: "abcdefghijklmnopqrstuvwxy", want: "zt_lab_abcdefghijklmno_", hash: true},
		{id: strings.Repeat("9", 300), want: "zt_lab_999999999999999_", hash: true},
	}
	valid := regexp.MustCompile(`^zt_lab_[A-Za-z0-9_]*$`)
	seen := map[string]string{}
	for _, tt := range tests {
		got := TableName(tt.id)
		switch {
		case !tt.hash && got != tt.want:
			t.Errorf("TableName(%q) = %q, want %q", tt.id, got, tt.want)
		case tt.hash && (!strings.HasPrefix(got, tt.want) || len(got) != len(tt.want)+tableHashLen):
			t.Errorf("TableName(%q) = %q, want %q and %d hex digits of hash", tt.id, got, tt.want, tableHashLen)
		}
		if !valid.MatchString(got) || len(got) > tableNameMax {
			t.Errorf("TableName(%q) = %q: want letters, digits and underscores, at most %d of them", tt.id, got, tableNameMax)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("lab ids %q and %q share the table %q", other, tt.id, got)
		}
		seen[got] = tt.id
		if again := TableName(tt.id); again != got {
			t.Errorf("TableName(%q) changed from %q to %q", tt.id, got, again)
		}
	}
}

func TestPartition(t *testing.T) {
	if !inOwnNetns(t) {
		return
	}
	// The lab, every address on lo of a network namespace of the test's
	// own: the remote host, a peer of it, the controller that reaches the
	// host over SSH, and a peer that joins later.
	var (
		host       = netip.MustParseAddr("10.9.0.1")
		peer       = netip.MustParseAddr("10.9.0.2")
		controller = netip.MustParseAddr("10.9.0.3")
		newPeer    = netip.MustParseAddr("10.9.0.4")
		host6      = netip.MustParseAddr("fd00:9::1")
		peer6      = netip.MustParseAddr("fd00:9::2")
		controlV6  = netip.MustParseAddr("fd00:9::3")
	)
	n := newLoopLab(t, host, peer, controller, newPeer, host6, peer6, controlV6)
	table := TableName("test-lab")
	other := addHostFirewallTable(t)

	// Each pair in both directions, over TCP and UDP (gossip).
	cut := bothWays([2]netip.Addr{host, peer}, [2]netip.Addr{host6, peer6})
	ssh := bothWays([2]netip.Addr{controller, host}, [2]netip.Addr{controlV6, host6})
	grown := bothWays([2]netip.Addr{host, newPeer})

	t.Run("everyone reaches everyone before the partition", func(t *testing.T) {
		n.expect(t, true, cut...)
		n.expect(t, true, ssh...)
		n.expect(t, true, grown...)
	})
	t.Run("partition cuts the host from its peers both ways", func(t *testing.T) {
		if err := Partition(table, []netip.Addr{peer, peer6}); err != nil {
			t.Fatal(err)
		}
		n.expect(t, false, cut...)
	})
	t.Run("controller still reaches the partitioned host", func(t *testing.T) {
		n.expect(t, true, ssh...)
		n.expect(t, true, grown...) // not a peer yet
	})
	t.Run("partition again replaces the peers", func(t *testing.T) {
		if err := Partition(table, []netip.Addr{newPeer}); err != nil {
			t.Fatal(err)
		}
		n.expect(t, false, grown...)
		n.expect(t, true, cut...)
		n.expect(t, true, ssh...)
	})
	t.Run("heal lets everything through", func(t *testing.T) {
		if err := Heal(table); err != nil {
			t.Fatal(err)
		}
		n.expect(t, true, cut...)
		n.expect(t, true, ssh...)
		n.expect(t, true, grown...)
	})
	t.Run("heal twice is fine and leaves no table", func(t *testing.T) {
		if err := Heal(table); err != nil {
			t.Fatalf("second heal: %v", err)
		}
		if err := Heal(TableName("never-partitioned")); err != nil {
			t.Fatalf("heal without a partition: %v", err)
		}
		names := inetTableNames(t)
		if names[table] {
			t.Errorf("table inet %s is still there after heal", table)
		}
		if !names[other] {
			t.Errorf("table inet %s, not zt-lab's, is gone: tables %v", other, names)
		}
	})
}

func TestPartitionWithoutNetAdmin(t *testing.T) {
	if !inOwnNetns(t) {
		return
	}
	if os.Getenv(netnsModeEnv) == "owner" {
		// The namespace is ours; try again from a user namespace that
		// does not own it, as a supervisor without root would.
		rerunTestIn(t, "stranger", syscall.CLONE_NEWUSER)
		return
	}
	table := TableName("test-lab")
	for name, err := range map[string]error{
		"partition": Partition(table, []netip.Addr{netip.MustParseAddr("10.9.0.2")}),
		"heal":      Heal(table),
	} {
		if !errors.Is(err, os.ErrPermission) {
			t.Errorf("%s without CAP_NET_ADMIN: got %v, want a permission error", name, err)
			continue
		}
		t.Logf("%s without CAP_NET_ADMIN: %v", name, err)
		for _, want := range []string{table, "needs root or CAP_NET_ADMIN"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s without CAP_NET_ADMIN: %q does not say %q", name, err, want)
			}
		}
	}
}

// The test binary re-executes itself to run a test in a network namespace
// of its own. netnsModeEnv says where the re-executed binary runs: "owner"
// in a new user and network namespace, "stranger" in a further user
// namespace without rights on that network namespace. machineNetnsEnv
// carries the network namespace of the first process, which no test may
// touch.
const (
	netnsModeEnv    = "ZTLAB_FIREWALL_TEST_NETNS"
	machineNetnsEnv = "ZTLAB_FIREWALL_TEST_MACHINE_NETNS"
)

// inOwnNetns re-executes the running test in a new user and network
// namespace (uid and gid 0 mapped to the caller's) and reports its result.
// It returns true in the re-executed test, which should go on.
func inOwnNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(netnsModeEnv) == "" {
		rerunTestIn(t, "owner", syscall.CLONE_NEWUSER|syscall.CLONE_NEWNET)
		return false
	}
	if cur, machine := testNetnsID(t), os.Getenv(machineNetnsEnv); cur == machine || machine == "" {
		t.Fatalf("in network namespace %s, the machine's is %q: refusing to touch it", cur, machine)
	}
	return true
}

// rerunTestIn runs the current test again in new namespaces (flags) and fails
// unless it passed there. Refused namespaces fail the test: CI runs as
// root, where they work.
func rerunTestIn(t *testing.T, mode string, flags uintptr) {
	t.Helper()
	machine := os.Getenv(machineNetnsEnv)
	if machine == "" {
		machine = testNetnsID(t)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), netnsModeEnv+"="+mode, machineNetnsEnv+"="+machine)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  flags,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Pdeathsig follows the thread that started the child (golang/go#27505).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot create a user namespace for the test (%v): it runs in namespaces of its own, "+
			"which needs root or unprivileged user namespaces (user.max_user_namespaces > 0, kernel.unprivileged_userns_clone=1, "+
			"kernel.apparmor_restrict_unprivileged_userns=0)", err)
	}
	err := cmd.Wait()
	t.Logf("in a namespace of its own (%s):\n%s", mode, out.String())
	if err != nil {
		t.Fatalf("%s in a namespace of its own: %v", t.Name(), err)
	}
	if !strings.Contains(out.String(), "--- PASS: "+t.Name()) {
		t.Fatalf("%s did not pass in a namespace of its own", t.Name())
	}
}

// testNetnsID names the network namespace of the process by its device and
// inode.
func testNetnsID(t *testing.T) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &st); err != nil {
		t.Fatalf("network namespace of the test: %v", err)
	}
	return fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

// loopLab is every address of the lab on lo, each with a TCP listener that
// accepts and a UDP socket that reads.
type loopLab struct {
	tcp map[netip.Addr]*net.TCPListener
	udp map[netip.Addr]*net.UDPConn
}

func newLoopLab(t *testing.T, addrs ...netip.Addr) *loopLab {
	t.Helper()
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		t.Fatalf("bring lo up: %v", err)
	}
	n := &loopLab{tcp: map[netip.Addr]*net.TCPListener{}, udp: map[netip.Addr]*net.UDPConn{}}
	for _, a := range addrs {
		addr := &netlink.Addr{IPNet: netlink.NewIPNet(a.AsSlice()), Flags: unix.IFA_F_NODAD}
		if err := netlink.AddrAdd(lo, addr); err != nil {
			t.Fatalf("add %s to lo: %v", a, err)
		}
		l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, 0)))
		if err != nil {
			t.Fatal(err)
		}
		go acceptAndClose(l)
		u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close(); u.Close() })
		n.tcp[a], n.udp[a] = l, u
	}
	// The kernel routes a new IPv6 address on lo a moment after it is
	// added, in a namespace whose lo just came up: until then a dial from
	// it is "network is unreachable". Start once every address routes.
	deadline := time.Now().Add(5 * time.Second)
	for _, a := range addrs {
		for {
			if _, err := netlink.RouteGet(a.AsSlice()); err == nil {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("%s never became routable on lo: %v", a, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return n
}

func acceptAndClose(l *net.TCPListener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

// flow is one way between two addresses over one protocol.
type flow struct {
	proto    string // "tcp" or "udp"
	from, to netip.Addr
}

func (p flow) String() string { return fmt.Sprintf("%s %s → %s", p.proto, p.from, p.to) }

// bothWays returns the paths both ways between each pair over TCP and UDP.
func bothWays(ps ...[2]netip.Addr) []flow {
	var out []flow
	for _, p := range ps {
		for _, proto := range []string{"tcp", "udp"} {
			out = append(out, flow{proto, p[0], p[1]}, flow{proto, p[1], p[0]})
		}
	}
	return out
}

// A packet that gets through does so at once on lo; a dropped one never
// does, so waiting longer for it proves nothing more.
const (
	flowWait = 5 * time.Second
	dropWait = 300 * time.Millisecond
)

// expect fails t unless each flow carries packets (want) or drops them.
func (n *loopLab) expect(t *testing.T, want bool, paths ...flow) {
	t.Helper()
	wait := dropWait
	if want {
		wait = flowWait
	}
	for _, p := range paths {
		got, err := n.carries(p, wait)
		if err != nil {
			t.Errorf("%v: %v", p, err)
		} else if got != want {
			t.Errorf("%v: carries packets %v, want %v", p, got, want)
		}
	}
}

// carries reports whether p carries a connection (TCP) or a datagram (UDP)
// within wait. It errs on anything but delivery or silence: a refused
// connection would mean the packet got through.
func (n *loopLab) carries(p flow, wait time.Duration) (bool, error) {
	if p.proto == "tcp" {
		return n.tcpConnects(p, wait)
	}
	return n.udpDelivers(p, wait)
}

func (n *loopLab) tcpConnects(p flow, wait time.Duration) (bool, error) {
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(p.from, 0)), Timeout: wait}
	c, err := d.Dial("tcp", n.tcp[p.to].Addr().String())
	if err == nil {
		c.Close()
		return true, nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false, nil
	}
	return false, err
}

func (n *loopLab) udpDelivers(p flow, wait time.Duration) (bool, error) {
	to := n.udp[p.to]
	c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.from, 0)), to.LocalAddr().(*net.UDPAddr))
	if err != nil {
		return false, err
	}
	defer c.Close()
	token := fmt.Sprintf("gossip %v %d", p, time.Now().UnixNano())
	if _, err := c.Write([]byte(token)); err != nil {
		if errors.Is(err, syscall.EPERM) {
			// The output chain dropped it: Linux tells a local sender.
			return false, nil
		}
		return false, err
	}
	if err := to.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return false, err
	}
	buf := make([]byte, 512)
	for {
		k, err := to.Read(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if string(buf[:k]) == token {
			return true, nil
		}
	}
}

// addHostFirewallTable adds a table that is not zt-lab's, for the partition to
// leave alone, and returns its name.
func addHostFirewallTable(t *testing.T) string {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tab := c.AddTable(&nftables.Table{Name: "host_firewall", Family: nftables.TableFamilyINet})
	c.AddChain(&nftables.Chain{
		Name: "input", Table: tab, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter,
	})
	if err := c.Flush(); err != nil {
		t.Fatalf("add table inet %s: %v", tab.Name, err)
	}
	return tab.Name
}

// inetTableNames lists the inet tables of the namespace.
func inetTableNames(t *testing.T) map[string]bool {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	names := map[string]bool{}
	for _, tab := range tables {
		names[tab.Name] = true
	}
	return names
}
