package serve

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// TestFourAttendeesEachWalkTheirOwnLab: four attendees log in at once,
// each gets the guided lab on a lab of their own, and each walks from the
// first scene to Validating encryption (the mesh up, the wire encrypted)
// by key presses with every check
// passing — on the same addresses, in separate network namespaces.
func TestFourAttendeesEachWalkTheirOwnLab(t *testing.T) {
	var keys []key
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		keys = append(keys, newKey(t, name))
	}
	s := startServer(t, keys)
	var terms []*terminal
	for _, k := range keys {
		terms = append(terms, s.connect(k))
	}
	for _, m := range terms {
		m.waitFor("the first screen", 15*time.Second, header(1))
		t.Logf("%s: first bytes on screen %v after connecting (the waiting room, for those the start limit queues)", m.name, m.first)
	}
	var wg sync.WaitGroup
	for _, m := range terms {
		wg.Go(func() {
			took, err := m.walk(sceneNumber("Validating encryption"), 300*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			t.Logf("%s: the first scene to Validating encryption in %v", m.name, took.Round(time.Millisecond))
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, m := range terms {
		if s := m.text(); strings.Contains(s, "✗") {
			t.Errorf("%s: a check failed on screen:\n%s", m.name, s)
		}
	}
	// Every lab has a subnet of its own, read from its fcc00's own
	// interfaces.
	subnets := map[string]string{}
	addrs := make([]string, len(terms))
	for i, m := range terms {
		m.shell(5, "fcc00")
		addrs[i] = m.labAddr()
		subnet := addrs[i][:strings.LastIndex(addrs[i], ".")] + ".0/24"
		if other, dup := subnets[subnet]; dup {
			t.Errorf("%s and %s share the subnet %s", m.name, other, subnet)
		}
		subnets[subnet] = m.name
		t.Logf("%s: fcc00 is %s", m.name, addrs[i])
	}
	// And nothing of one lab is reachable from another: a listener on
	// alice's fcc00 answers her, and bob cannot reach it at her address.
	a, b := terms[0], terms[1]
	a.run("(nc -l -p 7777 -c 'echo hello-from-alice' &) ; sleep 0.3; echo started", 10*time.Second)
	got := b.run("nc -w 2 "+addrs[0]+" 7777 </dev/null; echo bob-rc=$?", 10*time.Second)
	if strings.Contains(got, "hello-from-alice") || !strings.Contains(got, "bob-rc=1") {
		t.Errorf("bob reached a listener in alice's lab:\n%s", got)
	}
	got = a.run("nc -w 2 "+addrs[0]+" 7777 </dev/null; echo alice-rc=$?", 10*time.Second)
	if !strings.Contains(got, "hello-from-alice") {
		t.Errorf("alice's own listener did not answer her (the check above proves nothing):\n%s", got)
	}
}

// TestReconnectWithTheSameKeyLandsInTheSameLab: a dropped connection
// keeps the lab; the same key comes back to it, at the same scene, with
// its history.
func TestReconnectWithTheSameKeyLandsInTheSameLab(t *testing.T) {
	alice := newKey(t, "alice")
	s := startServer(t, []key{alice}, "--keep", "5m")
	m := s.connect(alice)
	m.waitFor("the first screen", 15*time.Second, header(1))
	m.press("a")
	m.waitFor("scene 1", 30*time.Second, "five hosts up on one wire", "✓")
	m.press("n")
	m.waitFor("scene 2", 10*time.Second, header(2))
	pids := attendeePIDs()
	m.close()
	<-m.closed

	// From a window of another size, which the lab's pty takes on.
	again := s.connectSized(alice, 100, 32)
	again.waitFor("the same scene", 15*time.Second, header(2))
	again.press("p")
	again.waitFor("scene 1's history", 10*time.Second, header(1), "five hosts up on one wire", "✓")
	if !strings.Contains(s.logs.String(), "reconnect=true") {
		t.Errorf("the server did not log a reconnect:\n%s", s.logs)
	}
	if now := attendeePIDs(); len(now) < len(pids) || !contains(now, pids[0]) {
		t.Errorf("the lab's processes changed across the reconnect: %v, then %v", pids, now)
	}
	// The shell sits on the lab's terminal, sized as the attendee's
	// window, and follows its changes.
	again.shell(5, "fcc00")
	if got := again.run("stty size", 10*time.Second); !strings.Contains(got, "32 100") {
		t.Errorf("the lab's terminal is not 32 rows × 100 columns:\n%s", got)
	}
	// The lab's bytes reach the attendee as they are: a bare \n (output
	// post-processing off) stays bare, not rewritten as an emulated pty's.
	again.run("stty -opost; printf 'ZQ1\\nZQ2\\n'; stty opost", 10*time.Second)
	if raw := again.all(); !strings.Contains(raw, "ZQ1\nZQ2") || strings.Contains(raw, "ZQ1\r\nZQ2") {
		t.Errorf("the lab's bare \\n did not arrive as it was sent: %q", raw[max(0, strings.Index(raw, "ZQ1")-20):])
	}
	again.resize(110, 36)
	// The window change travels to the shell's pty on its own time.
	for deadline := time.Now().Add(10 * time.Second); ; {
		got := again.run("stty size", 10*time.Second)
		if strings.Contains(got, "36 110") {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("after a window change, the lab's terminal is not 36 × 110:\n%s", got)
			break
		}
	}
}

func contains(list []int, x int) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}

// TestTheDoorRefusesStrangers: an unknown key, a password, keyboard-
// interactive are refused, each with one log line; a session without a
// pty gets one line and ends.
func TestTheDoorRefusesStrangers(t *testing.T) {
	alice, mallory := newKey(t, "alice"), newKey(t, "mallory")
	s := startServer(t, []key{alice})
	// A client that gives up in the middle of the handshake.
	c0, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	c0.Write([]byte("SSH-2.0-half\r\n"))
	c0.Close()
	if _, err := dial(s.addr, "mallory", gossh.PublicKeys(mallory.signer)); err == nil {
		t.Error("an unknown key was let in")
	}
	if _, err := dial(s.addr, "alice", gossh.Password("alice")); err == nil {
		t.Error("a password was let in")
	}
	kbd := gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) { return []string{"x"}, nil })
	if _, err := dial(s.addr, "alice", kbd); err == nil {
		t.Error("keyboard-interactive was let in")
	}
	if _, err := dial(s.addr, "instructor", gossh.PublicKeys(alice.signer)); err == nil {
		t.Error("an attendee's key was let in as the instructor")
	}
	// The server is none the worse: alice logs in.
	c, err := dial(s.addr, "alice", gossh.PublicKeys(alice.signer))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.CombinedOutput("")
	var exit *gossh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 1 {
		t.Errorf("a session without a pty: want exit status 1, got %v", err)
	}
	if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 1 || lines[0] == "" {
		t.Errorf("a session without a pty: want one line, got %q", out)
	}
	// The refusal lines are written as the connections end.
	for deadline := time.Now().Add(5 * time.Second); strings.Count(s.logs.String(), "refused") < 5 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	logs := s.logs.String()
	if n := strings.Count(logs, "refused"); n != 5 {
		t.Errorf("want 5 refusal lines (half a handshake, key, password, keyboard-interactive, instructor), got %d:\n%s", n, logs)
	}
	if attendeePIDs() != nil {
		t.Errorf("a refused login or a pty-less session started a lab")
	}
}

// TestTheQueueGivesTheNextAttendeeTheFreedLab: with --max-labs 2, a third
// attendee waits in the waiting room with their place shown (and a fourth
// behind them with theirs), and the third gets a lab when the first
// attendee leaves, while the second's lab goes on.
func TestTheQueueGivesTheNextAttendeeTheFreedLab(t *testing.T) {
	alice, bob, carol, dave := newKey(t, "alice"), newKey(t, "bob"), newKey(t, "carol"), newKey(t, "dave")
	s := startServer(t, []key{alice, bob, carol, dave}, "--max-labs", "2")
	a := s.connect(alice)
	a.waitFor("alice's first screen", 15*time.Second, header(1))
	b := s.connect(bob)
	b.waitFor("bob's first screen", 15*time.Second, header(1))
	c := s.connect(carol)
	c.waitFor("the waiting room", 10*time.Second, "waiting room", "All 2 labs are in use", "number 1 in the queue")
	d := s.connect(dave)
	d.waitFor("the waiting room", 10*time.Second, "waiting room", "number 2 in the queue")
	if strings.Contains(c.text(), header(1)) || strings.Contains(d.text(), header(1)) {
		t.Fatal("a third lab started with --max-labs 2")
	}
	a.press("q")
	c.waitFor("carol's lab, once alice's ended", 30*time.Second, header(1), "Man in the middle")
	a.waitFor("alice told her lab ended", 10*time.Second, "your lab has ended")
	d.waitFor("dave moved up", 10*time.Second, "waiting room", "number 1 in the queue")
	// Bob's lab was never touched: it still walks.
	b.press("a")
	b.waitFor("bob's scene 1", 30*time.Second, "five hosts up on one wire", "✓")
}

// TestAnAttendeeShellSeesOnlyItsOwnLab: from an attendee's shell, the
// server's host key, another attendee's directory, the server's home and
// the machine's /tmp are out of reach; and a fork bomb there stops at the
// attendee's process limit while the other attendee walks on, every check
// passing.
func TestAnAttendeeShellSeesOnlyItsOwnLab(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	s := startServer(t, []key{alice, bob}, "--max-procs", "300")
	a, b := s.connect(alice), s.connect(bob)
	a.waitFor("the first screen", 15*time.Second, header(1))
	b.waitFor("the first screen", 15*time.Second, header(1))
	a.press("a")
	a.waitFor("scene 1", 30*time.Second, "five hosts up on one wire", "✓")
	a.shell(5, "fcc00")

	bobDir := filepath.Join(s.stateDir(), "a1")
	if _, err := os.Stat(bobDir); err != nil {
		t.Fatalf("bob's directory %s: %v", bobDir, err)
	}
	// A file of the machine's /tmp that every user could read.
	visible := filepath.Join(os.TempDir(), "zt-e2e-visible-"+time.Now().Format("150405.000"))
	if err := os.WriteFile(visible, []byte("machine tmp"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(visible)
	_, port, _ := net.SplitHostPort(s.addr)
	probes := []probe{
		{"the server's host key", "cat " + s.hostKey},
		{"bob's directory", "ls " + bobDir},
		{"the machine's /tmp", "cat " + visible},
		{"/etc/shadow", "cat /etc/shadow"},
		{"a file in /root", "ls -A /root | grep -q . && false"},
		{"the server's processes", "ps ax | grep -q '[z]t-lab serve' && false"},
		{"writing to /usr", "touch /usr/zt-e2e"},
		{"the server's port (the lab has no network beyond itself)", "nc -z -w 2 127.0.0.1 " + port},
		{"filling the disk (her home is a 512 MB tmpfs)", "head -c 600M /dev/zero > ~/big"},
		{"filling the disk through /tmp (a 64 MB tmpfs)", "head -c 100M /dev/zero > /tmp/big; s=$?; rm -f /tmp/big; exit $s"},
		{"anything in /home", "ls -A /home | grep -q . && false"},
	}
	a.cannotReach(probes, 10*time.Second)
	// The machine's file systems are read-only in her lab: a write fails
	// with EROFS before any permission is looked at.
	for _, dir := range []string{"/", "/etc", "/usr", "/var", "/usr/local/bin"} {
		f := filepath.Join(dir, "zt-e2e-ro")
		got := a.run("touch "+f+"; mkdir "+f+".d", 10*time.Second)
		if n := strings.Count(got, "Read-only file system"); n != 2 || strings.Contains(got, "Permission denied") {
			t.Errorf("alice's writes to %s: want EROFS for a file and a directory, got:\n%s", dir, got)
		}
	}
	// A control: her own home is hers, and so are her /run and /home.
	if got := a.run("rm -f ~/big; echo mine > ~/f && cat ~/f", 10*time.Second); !strings.Contains(got, "mine") {
		t.Errorf("alice cannot write her own home (the probes above prove nothing):\n%s", got)
	}
	for _, dir := range []string{"/run", "/home", "/var/tmp", "/dev/shm", "/root"} {
		if got := a.run("echo ok-$((40+2)) > "+dir+"/f && cat "+dir+"/f", 10*time.Second); !strings.Contains(got, "ok-42") {
			t.Errorf("alice cannot write her %s:\n%s", dir, got)
		}
	}
	// Her /tmp is hers alone: what she writes there is not the machine's.
	mark := "zt-e2e-alice-" + time.Now().Format("150405.000")
	if got := a.run("echo hers > /tmp/"+mark+" && cat /tmp/"+mark, 10*time.Second); !strings.Contains(got, "hers") {
		t.Errorf("alice cannot write her /tmp:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join("/tmp", mark)); !os.IsNotExist(err) {
		os.Remove(filepath.Join("/tmp", mark))
		t.Errorf("what alice wrote in her /tmp is in the machine's: %v", err)
	}

	// A bounded fork bomb: up to 1,000 sleeps, far above her limit of 300
	// tasks, while bob walks his scenes. sh gives up at the first fork
	// the limit refuses; the sleeps hold the limit for 20 s.
	walked := make(chan struct{})
	go func() {
		defer close(walked)
		b.walkScenes1to3()
	}()
	bomb := "sh -c 'i=0; while [ $i -lt 1000 ]; do sleep 20 & i=$((i+1)); echo $i > ~/spawned; done' 2>~/bomb.err; cat ~/spawned ~/bomb.err"
	got := a.run(bomb, 90*time.Second)
	t.Logf("alice's fork bomb:\n%s", got)
	if !strings.Contains(got, "fork") {
		t.Errorf("the fork bomb never hit a limit:\n%s", got)
	}
	var spawned int
	for _, line := range strings.Split(got, "\n") {
		if n, err := strconv.Atoi(strings.TrimSpace(line)); err == nil {
			spawned = n
		}
	}
	if spawned == 0 || spawned >= 300 {
		t.Errorf("the fork bomb started %d sleeps; the limit is 300 tasks", spawned)
	}
	<-walked
}

// TestTheServerLeavesNothingBehind: SIGTERM and SIGKILL of the server,
// with labs running, leave no process of any attendee, no namespace of
// theirs, no state directory and no cgroup.
func TestTheServerLeavesNothingBehind(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			alice := newKey(t, "alice")
			s := startServer(t, []key{alice})
			m := s.connect(alice)
			m.waitFor("the first screen", 15*time.Second, header(1))
			m.press("a")
			m.waitFor("scene 1", 30*time.Second, "five hosts up on one wire", "✓")
			if len(attendeePIDs()) == 0 {
				t.Fatal("no attendee process before the signal: the checks below prove nothing")
			}
			cgroups, _ := filepath.Glob("/sys/fs/cgroup/*/zt-lab-serve-*")
			if len(cgroups) == 0 {
				t.Log("no cgroups were made (not root?)")
			}
			state := s.stateDir()
			_ = s.cmd.Process.Signal(sig)
			<-s.done
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				left, _ := filepath.Glob("/sys/fs/cgroup/*/zt-lab-serve-*")
				_, err := os.Stat(state)
				if len(attendeePIDs()) == 0 && len(left) == 0 && os.IsNotExist(err) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if pids := attendeePIDs(); len(pids) > 0 {
				t.Errorf("after %v, attendee processes remain: %v", sig, pids)
			}
			if _, err := os.Stat(state); !os.IsNotExist(err) {
				t.Errorf("after %v, the state directory remains: %v", sig, err)
			}
			if ents, _ := os.ReadDir(s.state); len(ents) > 0 {
				t.Errorf("after %v, --state-dir holds %d entries", sig, len(ents))
			}
			if left, _ := filepath.Glob("/sys/fs/cgroup/*/zt-lab-serve-*"); len(left) > 0 {
				t.Errorf("after %v, cgroups remain: %v", sig, left)
			}
			// The lab's namespaces were its processes': with none left,
			// none can be held (no bind mount of them exists outside).
			if out, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(out), state) {
				t.Errorf("after %v, a mount of the state directory remains", sig)
			}
		})
	}
}

// TestTheInstructorSeesTheClassAndEndsALab: the instructor's view lists
// the attendee with the scene reached and the checks passed, shows their
// screen read-only, and ends their lab.
func TestTheInstructorSeesTheClassAndEndsALab(t *testing.T) {
	alice, teacher := newKey(t, "alice"), newKey(t, "teacher")
	keys := instructorKeys(t, teacher)
	s := startServer(t, []key{alice}, "--instructor-keys", keys)
	a := s.connect(alice)
	a.waitFor("the first screen", 15*time.Second, header(1))
	a.press("a")
	a.waitFor("scene 1", 30*time.Second, "five hosts up on one wire", "✓")

	teacher.name = "instructor"
	in := s.connect(teacher)
	in.waitFor("the class", 10*time.Second, "the class (1)", "alice", "✓1 ✗0", "reached: scene 1: 1")
	in.press("\r")
	in.waitFor("alice's screen", 10*time.Second, "alice's screen, read-only", "five hosts up on one wire")
	// What the instructor types reaches no lab: alice's screen stays.
	in.press("n")
	time.Sleep(500 * time.Millisecond)
	if strings.Contains(a.text(), header(2)) {
		t.Error("the instructor's key press moved alice's lab")
	}
	in.press("\x1b")
	in.waitFor("the class again", 10*time.Second, "the class (1)")
	in.press("x")
	in.waitFor("the question", 10*time.Second, "end alice's lab?")
	in.press("y")
	a.waitFor("alice told", 30*time.Second, "your lab has ended")
}

// TestServeSaysWhatIsWrongInOneLine: flags that cannot work end with one
// line that says what to do, and exit code 2.
func TestServeSaysWhatIsWrongInOneLine(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good")
	if err := os.WriteFile(good, []byte(newKey(t, "alice").authorizedLine()), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "--authorized-keys FILE"},
		{[]string{"--open", "--authorized-keys", good}, "pick one"},
		{[]string{"--authorized-keys", junk}, "line 1 is not a public key"},
		{[]string{"--authorized-keys", filepath.Join(dir, "missing")}, "no such file"},
		{[]string{"--authorized-keys", good, "--instructor-keys", junk}, "--instructor-keys"},
		{[]string{"--authorized-keys", good, "--listen", "256.0.0.1:1", "--consul", consul, "--state-dir", os.TempDir(), "--host-key", filepath.Join(dir, "hk")}, "--listen"},
	} {
		cmd := exec.Command(ztlab, append([]string{"serve"}, tt.args...)...)
		out, _ := cmd.CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if cmd.ProcessState.ExitCode() != 2 || len(lines) != 1 || !strings.Contains(lines[0], tt.want) {
			t.Errorf("serve %v: exit %d, want 2 and one line with %q:\n%s", tt.args, cmd.ProcessState.ExitCode(), tt.want, out)
		}
	}
}

// TestWhatCrossesOneLabsWireIsNotOnAnothers: with both sniffers running
// (scene 3), bytes alice sends across her wire show in her sniffer and
// never in bob's, though both wires use the same addresses.
func TestWhatCrossesOneLabsWireIsNotOnAnothers(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	s := startServer(t, []key{alice, bob})
	a, b := s.connect(alice), s.connect(bob)
	var wg sync.WaitGroup
	wg.Go(a.walkScenes1to3)
	wg.Go(b.walkScenes1to3)
	wg.Wait()
	if t.Failed() {
		return
	}
	// A row of the dump's ASCII column full of Q: nothing else looks so.
	const row = "QQQQQQQQQQQQQQQQ"
	a.shell(5, "fcc00")
	a.run("(setsid sh -c 'for i in $(seq 60); do printf \"%0200d\" 0 | tr 0 Q | nc -w 1 fcs00 8181; sleep 0.2; done' >/dev/null 2>&1 &)", 10*time.Second)
	a.press("exit\r")
	a.waitFor("back on the sniffer", 10*time.Second, "Man in the middle", "verdicts")
	sawA := false
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && !sawA; {
		sawA = strings.Contains(a.text(), row)
		if strings.Contains(b.text(), row) {
			t.Fatalf("bob's sniffer shows what alice sent across her wire:\n%s", b.text())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !sawA {
		t.Fatalf("alice's own sniffer never showed her bytes (the check on bob's proves nothing):\n%s", a.text())
	}
	// And some more time for bob's, now that alice's are known to flow.
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		if strings.Contains(b.text(), row) {
			t.Fatalf("bob's sniffer shows what alice sent across her wire:\n%s", b.text())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestATerminalTooSmallIsToldAndWaitsForAResize: a window too small for
// the lab says so, and the lab appears once the window grows.
func TestATerminalTooSmallIsToldAndWaitsForAResize(t *testing.T) {
	alice := newKey(t, "alice")
	s := startServer(t, []key{alice})
	m := s.connectSized(alice, 30, 8)
	m.waitFor("the small window", 15*time.Second, "The terminal is 30×8.", "It needs")
	m.resize(termWidth, termHeight)
	m.waitFor("the lab, once the window grew", 15*time.Second, header(1), "Man in the middle")
}

// TestConnectionsAndSessionsAreCapped: an address that opens too many
// connections at once is refused; a key's newer session takes the screen
// from its older one, and one more than the cap is refused.
func TestConnectionsAndSessionsAreCapped(t *testing.T) {
	alice := newKey(t, "alice")
	s := startServer(t, []key{alice}, "--connect-burst", "3", "--connect-every", "1h", "--sessions-per-key", "2")
	first := s.connect(alice)
	first.waitFor("the first screen", 15*time.Second, header(1))
	second := s.connect(alice)
	second.waitFor("the same lab on the newer session", 15*time.Second, header(1))
	first.waitFor("the older session told", 10*time.Second, "your lab is now on your newer connection")
	// A second session on one connection is refused: a connection is one
	// attendee's one screen.
	if extra, err := second.client.NewSession(); err == nil {
		extra.Close()
		t.Error("a second session on one connection was let in")
	}
	// The third connection from 127.0.0.1 within the burst is the last.
	c, err := dial(s.addr, "alice", gossh.PublicKeys(alice.signer))
	if err == nil {
		c.Close()
	}
	if _, err := dial(s.addr, "alice", gossh.PublicKeys(alice.signer)); err == nil {
		t.Error("a fourth connection in a burst of three was let in")
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(s.logs.String(), "too many new connections from this address"); {
		if time.Now().After(deadline) {
			t.Errorf("no refusal logged for the burst:\n%s", s.logs)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestALabThatTakesTooMuchMemoryLosesItsOwnProcess: a memory hog in one
// lab's shell is killed inside that lab's memory limit; the lab and the
// server go on.
func TestALabThatTakesTooMuchMemoryLosesItsOwnProcess(t *testing.T) {
	alice := newKey(t, "alice")
	s := startServer(t, []key{alice}, "--memory", "400")
	a := s.connect(alice)
	a.shellAfterScene1()
	// sort holds all of its input in memory: 600 MB of it, over the 400.
	got := a.run("head -c 600M /dev/zero | sort -S 700M >/dev/null; echo sort-rc=$?", 60*time.Second)
	if strings.Contains(got, "sort-rc=0") {
		t.Errorf("600 MB in a lab limited to 400 MB:\n%s", got)
	}
	if got := a.run("echo still-here", 10*time.Second); !strings.Contains(got, "still-here") {
		t.Errorf("the lab's shell did not survive its memory hog:\n%s", got)
	}
}

// TestAServerWithoutRootSaysWhatItCannotLimitAndKeepsTheView: a server
// that is not root says in its starting line what it does not limit, and
// its attendees' labs still see the machine read-only, with a /tmp of
// their own.
func TestAServerWithoutRootSaysWhatItCannotLimitAndKeepsTheView(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to start the server as another user")
	}
	const nobody = 65534
	alice := newKey(t, "alice")
	s := startServerAs(t, nobody, []key{alice})
	want := "per attendee: NOT limited (not root): processes, memory, cpu; and every lab runs as the server's own uid 65534"
	if !strings.Contains(s.logs.String(), want) {
		t.Errorf("the server without root did not start with %q:\n%s", want, s.logs)
	}
	a := s.connect(alice)
	a.shellAfterScene1()
	for _, dir := range []string{"/", "/etc", "/usr"} {
		f := filepath.Join(dir, "zt-e2e-ro")
		if got := a.run("touch "+f, 10*time.Second); !strings.Contains(got, "Read-only file system") {
			t.Errorf("without root, alice's write to %s: want EROFS, got:\n%s", dir, got)
		}
	}
	mark := "zt-e2e-nobody-" + time.Now().Format("150405.000")
	if got := a.run("echo ok-$((40+2)) > /tmp/"+mark+" && cat /tmp/"+mark, 10*time.Second); !strings.Contains(got, "ok-42") {
		t.Errorf("without root, alice cannot write her /tmp:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join("/tmp", mark)); !os.IsNotExist(err) {
		os.Remove(filepath.Join("/tmp", mark))
		t.Errorf("without root, what alice wrote in her /tmp is in the machine's: %v", err)
	}
}
