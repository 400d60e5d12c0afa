// Package e2e drives the real zt-lab binary the way a user does, on real
// namespaces, and checks that a lab leaves nothing behind however it ends.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ztlab/zt-lab/e2e/internal/binaries"
)

// ztlab is the binary under test, built once by TestMain; consul is the
// one `make consul` built, which the mesh scenes run.
var ztlab, consul string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zt-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if ztlab, err = binaries.Build(dir, "..", os.Environ()); err == nil {
		consul, err = binaries.Consul("..")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// user is one person's terminal: a runtime directory of its own, so the
// tests never meet a real user's lab or each other's.
type user struct {
	t   *testing.T
	dir string
}

func newUser(t *testing.T) *user {
	dir, err := os.MkdirTemp("", "zt")
	if err != nil {
		t.Fatal(err)
	}
	u := &user{t: t, dir: dir}
	t.Cleanup(func() {
		// Whatever happened, end the lab and every process of it.
		_, _ = u.run("down")
		for _, pid := range u.labPIDs() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		os.RemoveAll(dir)
	})
	return u
}

func (u *user) env() []string {
	return append(os.Environ(), "ZTLAB_RUNTIME_DIR="+u.dir, "ZTLAB_CONSUL="+consul, "NO_COLOR=1")
}

func (u *user) command(args ...string) *exec.Cmd {
	cmd := exec.Command(ztlab, args...)
	cmd.Env = u.env()
	return cmd
}

type result struct {
	stdout, stderr string
	code           int
}

func (u *user) run(args ...string) (result, error) {
	return u.runIn("", args...)
}

func (u *user) runIn(stdin string, args ...string) (result, error) {
	return u.runFor(30, stdin, args...)
}

// runLong runs a command that may take up to seconds.
func (u *user) runLong(seconds int, args ...string) (result, error) {
	return u.runFor(seconds, "", args...)
}

func (u *user) runFor(seconds int, stdin string, args ...string) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds)*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ztlab, args...)
	cmd.Env = u.env()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode()}
	if _, ok := err.(*exec.ExitError); ok {
		err = nil
	}
	return r, err
}

// must runs a command that has to succeed.
func (u *user) must(args ...string) string {
	u.t.Helper()
	r, err := u.run(args...)
	if err != nil || r.code != 0 {
		u.t.Fatalf("zt-lab %s: exit %d, %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, err, r.stdout, r.stderr)
	}
	return r.stdout
}

// labPIDs lists every process that belongs to this user's labs: the lab
// passes its runtime directory down to every process it starts.
func (u *user) labPIDs() []int {
	marker := []byte("ZTLAB_RUNTIME_DIR=" + u.dir + "\x00")
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && bytes.Contains(b, marker) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// labProcess is the zt-lab process inside the sandbox that holds the lab.
func (u *user) labProcess() int {
	u.t.Helper()
	for _, pid := range u.labPIDs() {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if bytes.Contains(b, []byte("\x00ZTLAB_SANDBOX=lab\x00")) {
			return pid
		}
	}
	u.t.Fatal("no lab process found")
	return 0
}

// startForeground runs `zt-lab up` in its own process group, as a
// terminal would, and waits until it says the lab is ready.
func (u *user) startForeground(env ...string) (*exec.Cmd, *bytes.Buffer) {
	u.t.Helper()
	cmd := u.command("up")
	cmd.Env = append(cmd.Env, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	var log bytes.Buffer
	cmd.Stdout = io.MultiWriter(pw, &log)
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		u.t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if sc.Text() == "zt-lab: ready" {
				ready <- true
				break
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		u.t.Fatalf("zt-lab up did not get ready:\n%s", log.String())
	}
	return cmd, &log
}

// footprint is everything of a lab a machine could keep: processes,
// network namespaces, interfaces and mounts seen from outside, run files.
type footprint struct {
	procs  []int
	netns  map[string]bool // namespace inodes held by any process
	links  string
	mounts string
	files  []string
}

func (u *user) footprint() footprint {
	f := footprint{procs: u.labPIDs(), netns: map[string]bool{}}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if ns, err := os.Readlink(filepath.Join("/proc", e.Name(), "ns", "net")); err == nil {
			f.netns[ns] = true
		}
	}
	f.links = interfaces()
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		f.mounts = string(b)
	}
	filepath.Walk(u.dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil && p != u.dir {
			f.files = append(f.files, p)
		}
		return nil
	})
	return f
}

// interfaces lists the machine's own network interfaces.
func interfaces() string {
	entries, _ := os.ReadDir("/sys/class/net")
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

// assertNothingLeft waits briefly for the lab to vanish, then checks that
// nothing of it remains and the machine's own namespace is as before.
func (u *user) assertNothingLeft(before footprint, labNetns string) {
	u.t.Helper()
	var after footprint
	deadline := time.Now().Add(10 * time.Second)
	for {
		after = u.footprint()
		gone := len(after.procs) == 0 && len(after.files) == 0 && !after.netns[labNetns]
		if gone || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(after.procs) > 0 {
		u.t.Errorf("lab processes remain: %v", after.procs)
	}
	if labNetns != "" && after.netns[labNetns] {
		u.t.Errorf("the lab's network namespace %s is still held", labNetns)
	}
	if after.links != before.links {
		u.t.Errorf("the machine's interfaces changed:\nbefore %s\nafter  %s", before.links, after.links)
	}
	if after.mounts != before.mounts {
		u.t.Errorf("the machine's mounts changed")
	}
	if len(after.files) > 0 {
		u.t.Errorf("run files remain: %v", after.files)
	}
}

// labNetns is the wire's namespace: the sandbox's, seen from outside.
func (u *user) labNetns() string {
	u.t.Helper()
	for _, pid := range u.labPIDs() {
		ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
		self, _ := os.Readlink("/proc/self/ns/net")
		if ns != "" && ns != self {
			return ns
		}
	}
	u.t.Fatal("no lab namespace found")
	return ""
}

func TestConsumerFetchesFortunesAcrossTheWireUntilPartitioned(t *testing.T) {
	u := newUser(t)
	before := u.footprint() // the machine before any lab
	out := u.must("up", "--detach")
	if !strings.Contains(out, "up in the background") {
		t.Errorf("up --detach said %q", out)
	}
	st := u.must("status")
	for _, want := range []string{"consul00", "consul01", "consul02", "198.18.0.20", "fcc00", "fortune("} {
		if !strings.Contains(st, want) {
			t.Errorf("status does not show %q:\n%s", want, st)
		}
	}
	fortune := u.must("exec", "fcc00", "--", ztlab, "fortune", "get", "fcs00:8181")
	if len(strings.TrimSpace(fortune)) == 0 {
		t.Fatal("the consumer got an empty fortune")
	}
	// What a learner types in a shell on fcc00.
	r, err := u.runIn("nc fcs00 8181\n", "shell", "fcc00")
	if err != nil || r.code != 0 || len(strings.TrimSpace(r.stdout)) == 0 {
		t.Fatalf("nc fcs00 8181 in a shell on fcc00: exit %d, %v: %q %q", r.code, err, r.stdout, r.stderr)
	}

	u.must("fail", "fcs00", "--mode", "partition")
	r, _ = u.run("exec", "fcc00", "--", ztlab, "fortune", "get", "fcs00:8181", "--timeout", "1s")
	if r.code == 0 {
		t.Fatalf("fcc00 got a fortune from a partitioned fcs00: %q", r.stdout)
	}
	if !strings.Contains(u.must("status"), "partitioned") {
		t.Error("status does not show fcs00 partitioned")
	}
	u.must("recover", "fcs00")
	u.must("exec", "fcc00", "--", ztlab, "fortune", "get", "fcs00:8181")

	ns := u.labNetns()
	u.must("down")
	u.assertNothingLeft(before, ns)
}

func TestLabLeavesNothingBehindHoweverItEnds(t *testing.T) {
	ends := []struct {
		name string
		env  []string
		end  func(cmd *exec.Cmd, u *user)
	}{
		{"down", nil, func(_ *exec.Cmd, u *user) { u.must("down") }},
		{"ctrl-c", nil, func(cmd *exec.Cmd, _ *user) { syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }},
		{"sigterm", nil, func(cmd *exec.Cmd, _ *user) { cmd.Process.Signal(syscall.SIGTERM) }},
		{"panic", []string{"ZTLAB_TEST_PANIC_ON_USR1=1"}, func(_ *exec.Cmd, u *user) { syscall.Kill(u.labProcess(), syscall.SIGUSR1) }},
		{"sigkill", nil, func(cmd *exec.Cmd, _ *user) { cmd.Process.Kill() }},
	}
	for _, e := range ends {
		t.Run(e.name, func(t *testing.T) {
			u := newUser(t)
			before := u.footprint()
			cmd, log := u.startForeground(e.env...)
			ns := u.labNetns()
			// Give the lab something to clean up: a consumer in a host.
			u.must("exec", "fcc00", "--", ztlab, "fortune", "get", "fcs00:8181")
			e.end(cmd, u)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				t.Fatalf("zt-lab did not exit:\n%s", log)
			}
			u.assertNothingLeft(before, ns)
			if _, err := u.run("status"); err != nil {
				t.Fatal(err)
			}
			if r, _ := u.run("status"); r.code != 2 || !strings.Contains(r.stderr, "no lab is running") {
				t.Errorf("after %s, status: exit %d %q", e.name, r.code, r.stderr)
			}
		})
	}
}

func TestBadInputIsOneLineAndExitTwo(t *testing.T) {
	u := newUser(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"status"}, "no lab is running"},
		{[]string{"shell", "fcc00"}, "no lab is running"},
		{[]string{"up", "--subnet", "10.0.0.0/30"}, "too small"},
		{[]string{"up", "--subnet", "fd00::/64"}, "only IPv4"},
		{[]string{"up", "--subnet", "198.18.0.7/24"}, "host bits are set"},
		{[]string{"up", "--subnet", "banana"}, "invalid address range"},
		{[]string{"fail", "fcs00", "--mode", "melt"}, "unknown failure mode"},
		{[]string{"exec", "fcc00"}, "exec needs a host and a command"},
		{[]string{"up", "--bogus"}, "unknown flag"},
	}
	for _, c := range cases {
		r, err := u.run(c.args...)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != 2 || len(lines) != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("zt-lab %s: exit %d, stderr %q; want exit 2 and one line with %q", strings.Join(c.args, " "), r.code, r.stderr, c.want)
		}
	}

	// With a lab running: a second up, an unknown host, a failed host.
	u.must("up", "--detach")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"up"}, "a lab is already running"},
		{[]string{"up", "--detach"}, "a lab is already running"},
		{[]string{"shell", "nosuch"}, `unknown host "nosuch"`},
		{[]string{"exec", "nosuch", "--", "true"}, `unknown host "nosuch"`},
		{[]string{"recover", "nosuch"}, `unknown host "nosuch"`},
	} {
		r, _ := u.run(c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("zt-lab %s: exit %d, stderr %q; want exit 2 and %q", strings.Join(c.args, " "), r.code, r.stderr, c.want)
		}
	}
	u.must("fail", "fcs00", "--mode", "crash")
	r, _ := u.run("fail", "fcs00", "--mode", "freeze")
	if r.code != 2 || !strings.Contains(r.stderr, "already crashed") {
		t.Errorf("failing a crashed host: exit %d %q", r.code, r.stderr)
	}
	r, _ = u.run("exec", "fcs00", "--", "true")
	if r.code != 2 || !strings.Contains(r.stderr, "recover it first") {
		t.Errorf("exec on a crashed host: exit %d %q", r.code, r.stderr)
	}
	// The port of the fortune service is taken on fcs00 once recovered:
	// wait until the restarted service answers, then try a second one.
	u.must("recover", "fcs00")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if r, _ := u.run("exec", "fcc00", "--", ztlab, "fortune", "get", "fcs00:8181", "--timeout", "1s"); r.code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the fortune service did not come back after recover")
		}
		time.Sleep(50 * time.Millisecond)
	}
	r, _ = u.run("exec", "fcs00", "--", ztlab, "fortune", "serve", "--listen", "0.0.0.0:8181")
	if r.code != 2 || !strings.Contains(r.stderr, "already in use") {
		t.Errorf("a second fortune service on 8181: exit %d %q", r.code, r.stderr)
	}
}

// TestRefusedUserNamespacesAreOneLineWithWhatToDo refuses user namespaces
// inside a throwaway user namespace of the test's own (the limit is per
// namespace), so the machine's own setting is never touched.
func TestRefusedUserNamespacesAreOneLineWithWhatToDo(t *testing.T) {
	u := newUser(t)
	cmd := exec.Command("unshare", "-Ur", "sh", "-c", `echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" up`, ztlab)
	cmd.Env = u.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	msg := strings.TrimSpace(stderr.String())
	if err == nil || code != 2 || strings.Count(msg, "\n") != 0 ||
		!strings.Contains(msg, "user namespaces are not available") || !strings.Contains(msg, "sudo") {
		t.Fatalf("zt-lab up without user namespaces: exit %d, stderr %q; want exit 2 and one line saying what to do", code, msg)
	}
}
