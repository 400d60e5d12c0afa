//go:build linux

package local_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/infra/local"
	"github.com/ztlab/zt-lab/infra/local/labtest"
)

// The test binary doubles as a tiny service and client on the lab's hosts:
// `TESTBIN serve ADDR` greets every connection, `TESTBIN dial ADDR` prints
// what the service says.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 {
		switch os.Args[1] {
		case "serve":
			serve(os.Args[2])
			return
		case "dial":
			os.Exit(dial(os.Args[2]))
		case "ask":
			os.Exit(ask(os.Args[2]))
		case "held":
			local.Main()
			fmt.Print(os.Args[2])
			os.Exit(0)
		}
	}
	labtest.Main(m)
}

func serve(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	fmt.Println("listening on", addr)
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		fmt.Fprintf(c, "hello from %s\n", os.Getenv("ZTLAB_HOST"))
		c.Close()
	}
}

func dial(addr string) int {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	b, err := io.ReadAll(c)
	fmt.Print(string(b))
	if err != nil {
		return 1
	}
	return 0
}

// ask sends a lab's control socket a status request by hand, as a
// stranger would, and prints the first line of the answer.
func ask(socket string) int {
	c, err := net.Dial("unix", socket)
	if err != nil {
		fmt.Println("dial:", err)
		return 1
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	// A lab that refuses the client answers before it reads, and may have
	// closed by now: what it said is still there to read.
	_, _ = c.Write([]byte(`{"op":"status"}` + "\n"))
	line, err := bufio.NewReader(c).ReadString('\n')
	fmt.Print(line)
	if err != nil {
		fmt.Println("read:", err)
		return 1
	}
	return 0
}

func up(t testing.TB) *local.Lab {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lab, err := local.New().Up(ctx, infra.DefaultTopology(), nil)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	l := lab.(*local.Lab)
	t.Cleanup(func() { l.Close(context.Background()) })
	return l
}

func self(t testing.TB) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func host(t testing.TB, l *local.Lab, name string) infra.Host {
	h, ok := l.Host(name)
	if !ok {
		t.Fatalf("lab has no host %s", name)
	}
	return h
}

// startGreeter runs the greeting service on name:8181 and waits until it
// listens.
func startGreeter(t *testing.T, l *local.Lab, name string) infra.Proc {
	t.Helper()
	p, err := host(t, l, name).Start(context.Background(), infra.ProcSpec{Name: "greeter", Argv: []string{self(t), "serve", "0.0.0.0:8181"}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(strings.Join(p.Tail(5), "\n"), "listening") })
	return p
}

// greet connects from one host to another's service.
func greet(t *testing.T, l *local.Lab, from, to string) (string, error) {
	out, err := host(t, l, from).Run(context.Background(), self(t), "dial", to+":8181")
	return string(out), err
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLabHasTheSeedsFiveHostsOnOneWire(t *testing.T) {
	l := up(t)
	want := map[string]string{
		"consul00": "198.18.0.10", "consul01": "198.18.0.11", "consul02": "198.18.0.12",
		"fcs00": "198.18.0.20", "fcc00": "198.18.0.30",
	}
	hosts := l.Hosts()
	if len(hosts) != len(want) {
		t.Fatalf("lab has %d hosts, want %d", len(hosts), len(want))
	}
	for _, h := range hosts {
		if got := h.Addr().String(); got != want[h.Name()] {
			t.Errorf("%s has address %s, want %s", h.Name(), got, want[h.Name()])
		}
		if h.State() != infra.StateUp {
			t.Errorf("%s is %s, want up", h.Name(), h.State())
		}
	}
	br, err := netlink.LinkByName(local.WireName)
	if err != nil {
		t.Fatalf("no wire: %v", err)
	}
	links, _ := netlink.LinkList()
	plugged := 0
	for _, link := range links {
		if link.Attrs().MasterIndex == br.Attrs().Index {
			plugged++
		}
	}
	if plugged != 5 {
		t.Errorf("%d links on the wire, want 5", plugged)
	}
	addrs, err := net.LookupHost("fcs00")
	if err != nil || len(addrs) == 0 || addrs[0] != "198.18.0.20" {
		t.Errorf("fcs00 resolves to %v (%v), want 198.18.0.20", addrs, err)
	}
}

func TestConsumerReachesServiceAcrossTheWire(t *testing.T) {
	l := up(t)
	startGreeter(t, l, "fcs00")
	out, err := greet(t, l, "fcc00", "fcs00")
	if err != nil || out != "hello from fcs00\n" {
		t.Fatalf("fcc00 -> fcs00:8181 = %q, %v; want the greeting", out, err)
	}
	// The host is its own namespace: the service is not on the wire's
	// loopback, only on fcs00's address.
	if c, err := net.DialTimeout("tcp", "127.0.0.1:8181", 200*time.Millisecond); err == nil {
		c.Close()
		t.Error("the service on fcs00 answers on the sandbox's own loopback")
	}
}

func TestFailuresCutTheServiceOffAndRecoverBringsItBack(t *testing.T) {
	l := up(t)
	startGreeter(t, l, "fcs00")
	fcs := host(t, l, "fcs00")
	for _, mode := range infra.FailModes {
		t.Run(string(mode), func(t *testing.T) {
			if err := fcs.Fail(context.Background(), mode); err != nil {
				t.Fatal(err)
			}
			if fcs.State() == infra.StateUp {
				t.Errorf("after %s fcs00 is still up", mode)
			}
			if out, err := greet(t, l, "fcc00", "fcs00"); err == nil {
				t.Errorf("after %s fcc00 still got %q", mode, out)
			}
			if err := fcs.Fail(context.Background(), mode); err == nil {
				t.Errorf("a second %s of a failed host was accepted", mode)
			}
			if err := fcs.Recover(context.Background()); err != nil {
				t.Fatal(err)
			}
			// A crashed host starts its processes again: wait for that.
			waitFor(t, func() bool { _, err := greet(t, l, "fcc00", "fcs00"); return err == nil })
			if fcs.State() != infra.StateUp {
				t.Errorf("after recover fcs00 is %s", fcs.State())
			}
		})
	}
}

func TestCrashKillsEveryProcessOfTheHost(t *testing.T) {
	l := up(t)
	p := startGreeter(t, l, "fcs00")
	fcs := host(t, l, "fcs00")
	if err := fcs.Fail(context.Background(), infra.Crash); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("the greeter outlived the crash")
	}
	if _, err := fcs.Run(context.Background(), "true"); err == nil {
		t.Error("a crashed host ran a command")
	}
	if n := len(fcs.Procs()); n != 0 {
		t.Errorf("a crashed host lists %d processes", n)
	}
}

func TestAddHostJoinsTheRunningLab(t *testing.T) {
	l := up(t)
	h, err := l.AddHost(context.Background(), infra.HostSpec{Name: "fcs01"})
	if err != nil {
		t.Fatal(err)
	}
	if h.Addr().String() != "198.18.0.21" || h.Role() != infra.RoleService {
		t.Errorf("fcs01 is %s %s, want fcs 198.18.0.21", h.Role(), h.Addr())
	}
	startGreeter(t, l, "fcs01")
	if out, err := greet(t, l, "fcc00", "fcs01"); err != nil || out != "hello from fcs01\n" {
		t.Errorf("fcc00 -> fcs01 = %q, %v", out, err)
	}
	if _, err := l.AddHost(context.Background(), infra.HostSpec{Name: "fcs01"}); err == nil {
		t.Error("a second fcs01 was accepted")
	}
}

func TestCloseLeavesNothingBehind(t *testing.T) {
	l := up(t)
	startGreeter(t, l, "fcs00")
	p := host(t, l, "fcs00").Procs()[0]
	dir := l.Dir()
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	default:
		t.Error("a process outlived Close")
	}
	links, _ := netlink.LinkList()
	for _, link := range links {
		if link.Attrs().Name != "lo" {
			t.Errorf("link %s outlived Close", link.Attrs().Name)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("run directory %s outlived Close", dir)
	}
	if _, err := local.FindLab(); err != local.ErrNoLab {
		t.Errorf("after Close FindLab says %v, want ErrNoLab", err)
	}
	// And a new lab can be built right away.
	up(t)
}

func TestSecondLabIsRefused(t *testing.T) {
	up(t)
	_, err := local.New().Up(context.Background(), infra.DefaultTopology(), nil)
	if _, ok := err.(local.ErrLabRunning); !ok {
		t.Fatalf("second Up: %v, want ErrLabRunning", err)
	}
}

func TestControlSocketRunsCommandsOnHosts(t *testing.T) {
	l := up(t)
	startGreeter(t, l, "fcs00")
	st, err := local.FindLab()
	if err != nil {
		t.Fatal(err)
	}
	c := local.Dial(st)
	s, err := c.Status(context.Background())
	if err != nil || len(s.Hosts) != 5 {
		t.Fatalf("status: %+v, %v", s, err)
	}
	r, w, _ := os.Pipe()
	code, err := c.Exec(context.Background(), "fcc00", []string{self(t), "dial", "fcs00:8181"}, os.Stdin, w, w, nil)
	w.Close()
	out, _ := io.ReadAll(r)
	if err != nil || code != 0 || string(out) != "hello from fcs00\n" {
		t.Fatalf("exec on fcc00: code %d, %v, output %q", code, err, out)
	}
	_, err = c.Exec(context.Background(), "nosuch", []string{"true"}, os.Stdin, os.Stdout, os.Stderr, nil)
	if re, ok := err.(local.RemoteError); !ok || !re.Usage || !strings.Contains(re.Msg, `unknown host "nosuch"`) {
		t.Errorf("exec on an unknown host: %v", err)
	}
	if err := c.Fail(context.Background(), "fcs00", infra.Partition); err != nil {
		t.Fatal(err)
	}
	if host(t, l, "fcs00").State() != infra.StatePartitioned {
		t.Error("fail over the socket did not partition fcs00")
	}
	if err := c.Recover(context.Background(), "fcs00"); err != nil {
		t.Fatal(err)
	}
}

// TestControlSocketRefusesAnotherUser runs a client as nobody against the
// lab's socket, with every directory and the socket itself opened up to
// it, so the one thing in its way is the lab's check of who connected.
func TestControlSocketRefusesAnotherUser(t *testing.T) {
	if b, err := os.ReadFile("/proc/self/uid_map"); err != nil || strings.Fields(string(b))[1] != "0" {
		t.Skip("needs root outside the sandbox to run a client as another user; CI runs as root")
	}
	const nobody = 65534
	l := up(t)
	st, err := local.FindLab()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(st.Socket)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the control socket has mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	// A copy of this binary that nobody may run.
	binDir, err := os.MkdirTemp("", "ztpeer")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(binDir) })
	bin := filepath.Join(binDir, "local.test")
	data, err := os.ReadFile(self(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Dir(bin), local.RuntimeDir(), l.Dir()} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(d, 0o700) })
	}
	if err := os.Chmod(st.Socket, 0o777); err != nil {
		t.Fatal(err)
	}
	askAs := func(cred *syscall.Credential) (string, error) {
		cmd := exec.Command(bin, "ask", st.Socket)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := askAs(&syscall.Credential{Uid: nobody, Gid: nobody})
	if err != nil {
		t.Fatalf("nobody's client did not get an answer: %v\n%s", err, out)
	}
	if !strings.Contains(out, "refused") || !strings.Contains(out, "uid 65534") || strings.Contains(out, `"status"`) {
		t.Errorf("nobody's status request was not refused: %s", out)
	}
	// The same client as the lab's own user is served: the refusal above
	// was the check's, not a broken client's.
	out, err = askAs(nil)
	if err != nil || !strings.Contains(out, `"status"`) || !strings.Contains(out, st.ID) {
		t.Errorf("the lab's own user was not served: %v\n%s", err, out)
	}
}

func BenchmarkUpDown(b *testing.B) {
	var upTotal, downTotal time.Duration
	for b.Loop() {
		start := time.Now()
		lab, err := local.New().Up(context.Background(), infra.DefaultTopology(), nil)
		if err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		lab.Close(context.Background())
		upTotal += mid.Sub(start)
		downTotal += time.Since(mid)
	}
	b.ReportMetric(float64(upTotal.Milliseconds())/float64(b.N), "ms-up")
	b.ReportMetric(float64(downTotal.Milliseconds())/float64(b.N), "ms-down")
}
