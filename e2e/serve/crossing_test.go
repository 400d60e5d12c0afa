package serve

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// TestAnAttendeeCannotLiftTheMasksOfHerView: her shell is root of her
// sandbox's user namespace, with every capability there, and the masks
// of her private view (/tmp, /run, /home, /root, her $HOME, her /proc)
// are mounts. Were they mounts of her own namespace, `umount /tmp` would
// show her the machine's /tmp, `umount /proc` the machine's processes,
// `umount ~` the server's disk under her 512 MB tmpfs, and a remount the
// machine's file systems writable to her uid. Each try must fail.
func TestAnAttendeeCannotLiftTheMasksOfHerView(t *testing.T) {
	alice := newKey(t, "alice")
	s := startServer(t, []key{alice})
	a := s.connect(alice)
	a.shellAfterScene1()

	stamp := time.Now().Format("150405.000")
	visible := filepath.Join(os.TempDir(), "zt-e2e-visible-"+stamp)
	if err := os.WriteFile(visible, []byte("machine tmp"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(visible)
	planted := filepath.Join(os.TempDir(), "zt-e2e-planted-"+stamp)
	defer os.Remove(planted)
	home := filepath.Join(s.stateDir(), "a0", "home")

	// She is what the masks rely on her not being: root with
	// CAP_SYS_ADMIN, in her own namespace.
	if got := a.run("grep CapEff /proc/self/status", 10*time.Second); !holdsSysAdmin(got) {
		t.Errorf("alice's shell does not hold CAP_SYS_ADMIN in her namespace (the probes below prove less):\n%s", got)
	}
	for _, dir := range []string{"/tmp", "/run", "/home", "/root", "/var/tmp", "/dev/shm", "/dev/pts", "/dev/ptmx", "/proc", "~"} {
		if ok, got := a.fails("umount "+dir+" || umount -l "+dir, 10*time.Second); !ok {
			t.Errorf("alice unmounted the mask on %s:\n%s", dir, got)
		}
	}
	probes := []probe{
		{"the machine's /tmp", "cat " + visible},
		{"the server's processes", "ps ax | grep -q '[z]t-lab serve' && false"},
		{"a remount of the machine's root read-write", "mount -o remount,bind,rw / && grep -q ' / / rw' /proc/self/mountinfo"},
		{"a remount of /usr read-write", "mount -o remount,bind,rw /usr && grep -q ' /usr rw' /proc/self/mountinfo"},
		{"a file planted in the machine's /tmp", "mount -o remount,bind,rw / ; mount -o remount,bind,rw /tmp; echo x > " + planted + "; test -e " + planted + " && ! grep -q . /tmp/zt-e2e-alice-mask"},
		{"a bind of the machine's root without its masks", "mkdir -p ~/r && mount --bind / ~/r && cat ~/r" + visible},
		// Init made the masks, in namespaces above hers: were she let
		// into them, there the masks are not locked.
		{"init's mount namespace", "nsenter -t 1 -m sh -c 'umount /tmp && cat " + visible + "'"},
		{"init's user and mount namespaces", "nsenter -t 1 -U -m --preserve-credentials sh -c 'umount /tmp && cat " + visible + "'"},
		{"init's root through /proc", "ls /proc/1/root/ && umount /proc/1/root/tmp"},
	}
	a.run("echo mine > /tmp/zt-e2e-alice-mask; echo x > ~/zt-e2e-disk", 10*time.Second)
	a.cannotReach(probes, 10*time.Second)
	if _, err := os.Stat(planted); err == nil {
		t.Errorf("alice planted %s in the machine's /tmp", planted)
	}
	if _, err := os.Stat(filepath.Join(home, "zt-e2e-disk")); err == nil {
		t.Errorf("alice wrote to the server's disk at %s, past her home's tmpfs", home)
	}
	// A control: her own masks are still hers and writable.
	if got := a.run("cat /tmp/zt-e2e-alice-mask; echo ok-$((40+2)) > ~/f && cat ~/f", 10*time.Second); !strings.Contains(got, "mine") || !strings.Contains(got, "ok-42") {
		t.Errorf("alice's /tmp and home are not hers (the probes above prove nothing):\n%s", got)
	}
}

// holdsSysAdmin reports whether a CapEff line on screen has
// CAP_SYS_ADMIN (bit 21).
func holdsSysAdmin(screen string) bool {
	for _, line := range strings.Split(screen, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "CapEff:" {
			caps, err := strconv.ParseUint(f[1], 16, 64)
			return err == nil && caps&(1<<21) != 0
		}
	}
	return false
}

// TestWhatALabWritesToItsProgressPipeReachesNoOneElse: the progress pipe
// is in the attendee's directory, written by her uid, read by the server.
// From her shell she writes events of her own into it: a step error with
// terminal sequences (a window title, a clipboard write), under a user
// name with more of them (an --open server takes any name); and 600
// checks of distinct names. The instructor's terminal receives none of
// her sequences, the server's log none either, and the server keeps no
// more than 512 checks of a lab (each of them memory of the server's,
// which every lab's depends on: 3000 checks of 60 KB names grew it by
// 219 MB before; TestProgressKeepsABoundedPartOfWhatTheLabWrites has the
// bytes).
func TestWhatALabWritesToItsProgressPipeReachesNoOneElse(t *testing.T) {
	alice, teacher := newKey(t, "\x1b]0;NAMEPWN\x07"), newKey(t, "teacher")
	keys := instructorKeys(t, teacher)
	s := startServer(t, nil, "--instructor-keys", keys, "--open")
	a := s.connect(alice)
	a.shellAfterScene1()

	teacher.name = "instructor"
	in := s.connect(teacher)
	in.waitFor("the class", 10*time.Second, "the class (1)", "✓1 ✗0")

	dir := filepath.Join(s.stateDir(), "a0")
	fifo := filepath.Join(dir, "progress")
	// The script is written where her lab sees it: her directory.
	script := filepath.Join(dir, "events.sh")
	flood := `i=0; while [ $i -lt 600 ]; do printf '{"kind":"check","scene":0,"step":%d,"check":{"name":"zt-e2e","pass":false}}\n' $i; i=$((i+1)); done > ` + fifo + "\n"
	title := `printf '%s\n' '{"kind":"step-done","scene":0,"step":0,"error":"\u001b]0;ERRPWN\u0007"}' > ` + fifo + "\n"
	clipboard := `printf '%s\n' '{"kind":"step-done","scene":0,"step":0,"error":"\u001b]52;c;UFdO\u0007"}' > ` + fifo + "\n"
	last := `printf '%s\n' '{"kind":"step-done","scene":0,"step":0,"error":"FLOODED"}' > ` + fifo + "\n"
	if err := os.WriteFile(script, []byte(title+"sleep 2\n"+clipboard+"sleep 2\n"+flood+last), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := a.run("sh "+script+"; echo events-rc=$?", 60*time.Second); !strings.Contains(got, "events-rc=0") {
		t.Fatalf("alice's events were not written (the checks below would prove nothing):\n%s", got)
	}
	// The server reads the pipe on its own time: until the event after
	// the last check (the instructor's row says so).
	in.waitFor("the class after alice's checks", 30*time.Second, "FLOODED")
	// Her lab's own check of scene 1 is one of the 512.
	if row := in.text(); !strings.Contains(row, "✓1 ✗511") {
		t.Errorf("the server counts other than 512 checks of alice's lab (its own one and 511 of her 600):\n%s", row)
	}
	raw := in.all()
	for _, seq := range []string{"\x1b]0;NAMEPWN", "\x1b]0;ERRPWN", "\x1b]52;c;UFdO"} {
		if strings.Contains(raw, seq) {
			t.Errorf("the instructor's terminal received alice's sequence %q", seq)
		}
	}
	if strings.Contains(s.logs.String(), "\x1b]0;NAMEPWN") {
		t.Errorf("the server's log holds alice's name's terminal sequence as it is")
	}
}

// rssMB is the resident memory of pid, in MB.
func rssMB(pid int) float64 {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// TestAHugeWindowCostsTheServerNoMoreThanABigOne: the server keeps each
// lab's screen in a terminal emulator of the attendee's window size, a
// few hundred bytes a cell, and the window's size is what the client
// says. A raw client asks for a pty of 2000 × 1500 and then a window of
// 1500 × 2000 (the protocol allows 2³² × 2³²): the server's memory stays
// that of a big window's, and the server goes on serving.
func TestAHugeWindowCostsTheServerNoMoreThanABigOne(t *testing.T) {
	mallory, bob := newKey(t, "mallory"), newKey(t, "bob")
	s := startServer(t, []key{mallory, bob})
	before := rssMB(s.cmd.Process.Pid)
	c, sess := s.session(t, mallory)
	defer c.Close()
	defer sess.Close()
	if err := sess.RequestPty("xterm-256color", 1500, 2000, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	out, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Her stdin stays open: at its end her session ends.
	if _, err := sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	first := make(chan struct{})
	go func() {
		buf := make([]byte, 32*1024)
		once := sync.Once{}
		for {
			n, err := out.Read(buf)
			if n > 0 {
				once.Do(func() { close(first) })
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-first:
	case <-time.After(15 * time.Second):
		t.Fatalf("mallory's lab never drew a screen:\n%s", s.logs)
	}
	if err := sess.WindowChange(2000, 1500); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	after := rssMB(s.cmd.Process.Pid)
	t.Logf("the server's resident memory: %.0f MB before mallory's window, %.0f MB after", before, after)
	if after-before > 100 {
		t.Errorf("mallory's window cost the server %.0f MB (%.0f → %.0f); a window of 512 × 256 costs about 30", after-before, before, after)
	}
	b := s.connect(bob)
	b.waitFor("bob's first screen, after mallory's window", 15*time.Second, header(1))
}

// TestTheServerGrantsAnSSHClientNothingButItsLab: what an SSH client may
// ask beyond a session is refused: a forwarded port on the server, a
// tunnel to the server's own port, to another lab's consul or to a unix
// socket, a subsystem (sftp); the server opens no channel back (an agent
// she offered); and the environment she sends (LD_PRELOAD, the sandbox's
// own ZTLAB_ variables) reaches no process of her lab.
func TestTheServerGrantsAnSSHClientNothingButItsLab(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	s := startServer(t, []key{alice, bob})
	b := s.connect(bob)
	b.waitFor("bob's first screen", 15*time.Second, header(1))
	b.press("a")
	b.waitFor("bob's scene 1", 30*time.Second, "five hosts up on one wire", "✓")

	env := map[string]string{
		"LD_PRELOAD":         "/zt-e2e-evil.so",
		"ZTLAB_SANDBOX":      "init",
		"ZTLAB_PRIVATE_VIEW": "/",
		"ZTLAB_HELD_FD":      "0",
		"ZTLAB_RUNTIME_DIR":  "/tmp/zt-e2e-evil",
		"ZTLAB_EVIL":         "zt-e2e-evil",
	}
	a := s.connectWith(alice, termWidth, termHeight, env)
	agentChannels := a.client.HandleChannelOpen("auth-agent@openssh.com")
	a.waitFor("alice's first screen", 15*time.Second, header(1))
	if err := agent.RequestAgentForwarding(a.sess); err != nil {
		t.Logf("agent forwarding refused: %v", err)
	}

	_, port, _ := net.SplitHostPort(s.addr)
	for _, req := range []struct {
		name    string
		payload []byte
	}{
		{"tcpip-forward", gossh.Marshal(struct {
			Addr string
			Port uint32
		}{"127.0.0.1", 0})},
		{"streamlocal-forward@openssh.com", gossh.Marshal(struct{ Path string }{"/tmp/zt-e2e-fwd.sock"})},
	} {
		if ok, _, err := a.client.SendRequest(req.name, true, req.payload); ok || err != nil {
			t.Errorf("%s: want a refusal, got ok=%v err=%v", req.name, ok, err)
		}
	}
	for _, target := range []struct{ network, addr string }{
		{"tcp", "127.0.0.1:" + port},
		{"tcp", "198.18.1.10:8500"}, // bob's consul server
		{"tcp", "127.0.0.1:22"},
		{"unix", "/run/systemd/private"},
	} {
		if c, err := a.client.Dial(target.network, target.addr); err == nil {
			c.Close()
			t.Errorf("alice opened a tunnel to %s %s", target.network, target.addr)
		}
	}
	// A subsystem asks for a session of another kind: on a connection of
	// its own, since a connection is one session.
	c2, err := dial(s.addr, alice.name, gossh.PublicKeys(alice.signer))
	if err != nil {
		t.Fatal(err)
	}
	sftp, err := c2.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sftp.RequestSubsystem("sftp"); err == nil {
		t.Error("the server started an sftp subsystem")
	}
	c2.Close()

	a.press("a")
	a.waitFor("alice's scene 1", 30*time.Second, "five hosts up on one wire", "✓")
	a.shell(5, "fcc00")
	got := a.run("env | grep -c -e zt-e2e-evil -e LD_PRELOAD | sed 's/^/shell=/'; grep -l zt-e2e-evil /proc/[0-9]*/environ | wc -l | sed 's/^/procs=/'; grep -l PATH= /proc/[0-9]*/environ | wc -l | sed 's/^/control=/'", 10*time.Second)
	if !strings.Contains(got, "shell=0") || !strings.Contains(got, "procs=0") {
		t.Errorf("what alice's client sent as environment reached her lab:\n%s", got)
	}
	if strings.Contains(got, "control=0") || !strings.Contains(got, "control=") {
		t.Errorf("alice's shell reads no process's environment (the check above proves nothing):\n%s", got)
	}
	select {
	case ch := <-agentChannels:
		t.Errorf("the server opened an agent channel back to alice: %v", ch.ChannelType())
	default:
	}
	// The server is none the worse: bob's lab goes on.
	b.press("n")
	b.waitFor("bob's scene 2", 10*time.Second, header(2))
}

// TestALabsSysVIPCIsItsOwn: System V shared memory, message queues and
// semaphores belong to an IPC namespace, not to a mount or a network. In
// the machine's, what an attendee makes there would be the machine's: seen
// and opened by another attendee (mode 0666), kept after her lab ends
// (memory of the machine's that her cgroup no longer counts), and able to
// use up the machine's limits for everyone. What she makes must be of her
// lab alone.
func TestALabsSysVIPCIsItsOwn(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	s := startServer(t, []key{alice, bob})
	a, b := s.connect(alice), s.connect(bob)
	for _, m := range []*terminal{a, b} {
		m.shellAfterScene1()
	}
	aliceUID := strconv.Itoa(uidBase + 0)
	t.Cleanup(func() { removeIPCOf(t, aliceUID) })
	got := a.run("ipcmk -M 65536 -p 0666 && ipcmk -Q -p 0666 && ipcmk -S 1 -p 0666 && ipcs | grep -c 0x | sed 's/^/made=/'", 10*time.Second)
	if !strings.Contains(got, "made=3") {
		t.Fatalf("alice could not make her segment, queue and semaphores in her lab (the checks below prove nothing):\n%s", got)
	}
	if objs := ipcOf(aliceUID); len(objs) > 0 {
		t.Errorf("what alice made is in the machine's IPC namespace: %v", objs)
	}
	if got := b.run("ipcs | grep -c 0x | sed 's/^/seen=/'", 10*time.Second); !strings.Contains(got, "seen=0") {
		t.Errorf("bob's lab sees IPC objects it did not make (alice's?):\n%s", got)
	}
	// Her lab ends: nothing of hers remains.
	a.press("exit\r")
	a.waitFor("back in her lab", 10*time.Second, "Man in the middle")
	a.press("q")
	a.waitFor("alice's lab ended", 30*time.Second, "your lab has ended")
	if objs := ipcOf(aliceUID); len(objs) > 0 {
		t.Errorf("after her lab ended, the machine keeps alice's IPC objects: %v", objs)
	}
}

// ipcOf lists the System V IPC objects of the machine's namespace owned
// by uid, as "shm 123".
func ipcOf(uid string) []string {
	var out []string
	for _, kind := range []string{"shm", "msg", "sem"} {
		b, _ := os.ReadFile("/proc/sysvipc/" + kind)
		lines := strings.Split(string(b), "\n")
		if len(lines) == 0 {
			continue
		}
		head := strings.Fields(lines[0])
		for _, line := range lines[1:] {
			f := strings.Fields(line)
			for i, name := range head {
				if (name == "uid" || name == "cuid") && i < len(f) && f[i] == uid {
					out = append(out, kind+" "+f[1])
					break
				}
			}
		}
	}
	return out
}

// removeIPCOf removes what ipcOf finds, so a failing run leaves the
// machine as it was.
func removeIPCOf(t *testing.T, uid string) {
	flags := map[string]string{"shm": "-m", "msg": "-q", "sem": "-s"}
	for _, obj := range ipcOf(uid) {
		kind, id, _ := strings.Cut(obj, " ")
		if out, err := exec.Command("ipcrm", flags[kind], id).CombinedOutput(); err != nil {
			t.Logf("ipcrm %s %s: %v %s", flags[kind], id, err, out)
		}
	}
}

// TestRootOfALabIsNobodyOutsideIt: an attendee is root of her lab, and no
// more. The machine's setuid programs give her nothing of the machine's
// root (she reads no root-only file through sudo, su or ssh-keysign's
// host keys), and a kill of every process she can signal ends her own
// lab alone: the server and another attendee's lab go on.
func TestRootOfALabIsNobodyOutsideIt(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	s := startServer(t, []key{alice, bob})
	a, b := s.connect(alice), s.connect(bob)
	for _, m := range []*terminal{a, b} {
		m.waitFor("the first screen", 15*time.Second, header(1))
		m.press("a")
		m.waitFor("scene 1", 30*time.Second, "five hosts up on one wire", "✓")
	}
	a.shell(5, "fcc00")
	if got := a.run("find / -xdev -perm -4000 -type f 2>/dev/null | wc -l | sed 's/^/setuid=/'", 30*time.Second); strings.Contains(got, "setuid=0") {
		t.Logf("no setuid program in alice's view:\n%s", got)
	}
	probes := []probe{
		{"/etc/shadow through sudo", "sudo -n cat /etc/shadow"},
		{"/etc/shadow through su", "su -c 'cat /etc/shadow' root </dev/null"},
		{"the machine's host keys", "cat /etc/ssh/ssh_host_*_key"},
		{"a uid map of the machine's root through newuidmap", "unshare -U sleep 5 & p=$!; sleep 0.5; newuidmap $p 0 0 1; r=$?; kill $p; exit $r"},
		{"the machine's hostname", "hostname zt-e2e-pwned"},
		{"the machine's clock", "date -s @0"},
		{"a kernel module", "modprobe dummy"},
		// The writes below change nothing if they are let through: the
		// same hostname, sysrq's help in the kernel's log.
		{"the machine's sysctls", "cat /proc/sys/kernel/hostname > /proc/sys/kernel/hostname"},
		{"sysrq", "echo h > /proc/sysrq-trigger"},
		{"a cgroup above her lab's (out of her limits)", "for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/*/cgroup.procs; do echo $$ > $f 2>/dev/null && exit 0; done; exit 1"},
		{"the machine's disks", "head -c 512 $(ls /dev/sd? /dev/vd? /dev/nvme?n? 2>/dev/null | head -n 1) | grep -q ."},
		{"the kernel's log", "head -n 1 /dev/kmsg | grep -q ."},
	}
	a.cannotReach(probes, 20*time.Second)
	if h, _ := os.Hostname(); h == "zt-e2e-pwned" {
		t.Errorf("alice renamed the machine")
	}
	// Every process she may signal, at once.
	a.press("kill -9 -1\r")
	a.waitFor("alice's lab ended", 30*time.Second, "your lab has ended")
	if s.cmd.ProcessState != nil {
		t.Fatalf("the server ended with alice's lab: %v", s.cmd.ProcessState)
	}
	b.press("n")
	b.press("a")
	b.waitFor("bob's scene 2, after alice's kill", 30*time.Second, "consumer received a fortune")
}

// TestAServerWithoutRootHidesItsFilesWhereverTheyAre: a server that is
// not root runs every lab as its own uid, so its files are, to the
// kernel, the attendees' own. Its files under /tmp or a home are out of
// sight behind the view's masks; here they are under /var/lib, which the
// view shows read-only: the host key, the authorized keys, the state
// directory with the other attendees' directories and their progress
// pipes (a pipe is written on a read-only mount all the same). None may
// be read, and no pipe of another lab written or read.
func TestAServerWithoutRootHidesItsFilesWhereverTheyAre(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to start the server as another user")
	}
	const nobody = 65534
	// A short path: the labs' unix sockets live under it.
	var root string
	for i := 0; root == ""; i++ {
		if p := fmt.Sprintf("/var/zt%d", i); os.Mkdir(p, 0o755) == nil {
			root = p
		} else if i > 100 {
			t.Fatalf("no directory of ours in /var: %v", os.Mkdir(p, 0o755))
		}
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	s := startServerUnder(t, root, nobody, []key{alice, bob})
	a, b := s.connect(alice), s.connect(bob)
	for _, m := range []*terminal{a, b} {
		m.waitFor("the first screen", 15*time.Second, header(1))
		m.press("a")
		m.waitFor("scene 1", 30*time.Second, "five hosts up on one wire", "✓")
	}
	a.shell(5, "fcc00")
	// Any file of the server's user, in its home: here the test's files.
	secret := filepath.Join(s.dir, "zt-e2e-secret")
	err := os.WriteFile(secret, []byte("the server user's own"), 0o600)
	if err == nil {
		err = os.Chown(secret, nobody, nobody)
	}
	if err != nil {
		t.Fatal(err)
	}
	state := s.stateDir()
	bobs := filepath.Join(state, "a1")
	if _, err := os.Stat(filepath.Join(bobs, "progress")); err != nil {
		t.Fatalf("bob's progress pipe: %v", err)
	}
	probes := []probe{
		{"the server's host key", "grep -q . " + s.hostKey},
		{"the authorized keys", "grep -q . " + filepath.Join(s.dir, "authorized_keys")},
		{"a file in the server user's home", "grep -q . " + secret},
		{"the server's state directory", "ls " + state + " | grep -v a0 | grep -q ."},
		{"bob's directory", "ls -A " + bobs + " | grep -q ."},
		{"bob's progress pipe, written", "test -p " + bobs + "/progress && echo '{}' > " + bobs + "/progress"},
		{"bob's progress pipe, read", "test -p " + bobs + "/progress && timeout 2 head -c 1 " + bobs + "/progress | grep -q ."},
	}
	a.cannotReach(probes, 10*time.Second)
	// A control: her own directory and pipe are where they were.
	if got := a.run("test -p "+filepath.Join(state, "a0", "progress")+" && echo own-pipe", 10*time.Second); !strings.Contains(got, "own-pipe") {
		t.Errorf("alice's own progress pipe is not in her view (the probes above prove nothing):\n%s", got)
	}
	b.press("n")
	b.waitFor("bob's scene 2", 10*time.Second, header(2))
}

// TestALabReachesNoOtherLabNorTheMachineOverTheNetwork: from a host of
// her lab, with its consul agents up, alice reaches her own lab's
// services and nothing else: not bob's consul (RPC, gossip, HTTP) nor
// his fortune service at his addresses, not a port the machine listens on
// at any of its addresses, not an abstract unix socket of the machine's
// (abstract sockets belong to a network namespace, not to a file system).
func TestALabReachesNoOtherLabNorTheMachineOverTheNetwork(t *testing.T) {
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	abstract := "zt-e2e-abstract-" + time.Now().Format("150405.000")
	uln, err := net.Listen("unix", "@"+abstract)
	if err != nil {
		t.Fatal(err)
	}
	defer uln.Close()
	var reached sync.Map
	for _, l := range []net.Listener{ln, uln} {
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				reached.Store(l.Addr().String(), c.RemoteAddr().String())
				c.Close()
			}
		}()
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	s := startServer(t, []key{alice, bob})
	a, b := s.connect(alice), s.connect(bob)
	var wg sync.WaitGroup
	for _, m := range []*terminal{a, b} {
		wg.Go(func() {
			if _, err := m.walk(sceneNumber("Agents join"), 120*time.Second); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	a.shell(5, "fcc00")
	reach := func(addr string) string {
		host, port, _ := net.SplitHostPort(addr)
		return "timeout 3 bash -c 'exec 3<>/dev/tcp/" + host + "/" + port + "'"
	}
	// Her own lab's, at its addresses: the controls.
	ips := map[string]string{}
	for _, h := range []string{"consul00", "fcs00"} {
		got := a.run("getent hosts "+h+" | sed 's/^/ip=/'", 10*time.Second)
		for _, line := range strings.Split(got, "\n") {
			if f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "ip=")); strings.HasPrefix(strings.TrimSpace(line), "ip=") && len(f) > 0 {
				ips[h] = f[0]
			}
		}
		if !strings.HasPrefix(ips[h], "198.18.0.") {
			t.Fatalf("alice's %s is not in her subnet 198.18.0.0/24:\n%s", h, got)
		}
	}
	own := []string{net.JoinHostPort(ips["consul00"], "8300"), net.JoinHostPort(ips["consul00"], "8301"), net.JoinHostPort(ips["fcs00"], "8181")}
	for _, addr := range own {
		if got := a.run("("+reach(addr)+") && echo REACHED || echo UNREACHED", 10*time.Second); !strings.Contains(got, "REACHED") || strings.Contains(got, "UNREACHED") {
			t.Errorf("alice does not reach her own lab's %s (the probes below prove nothing):\n%s", addr, got)
		}
	}
	// Bob's, at his: the same hosts, one /24 up.
	var targets []string
	for _, addr := range append(own, net.JoinHostPort(ips["consul00"], "8500")) {
		targets = append(targets, strings.Replace(addr, "198.18.0.", "198.18.1.", 1))
	}
	addrs, _ := net.InterfaceAddrs()
	for _, ad := range addrs {
		if ipn, ok := ad.(*net.IPNet); ok && ipn.IP.To4() != nil && !strings.HasPrefix(ipn.IP.String(), "198.18.") {
			targets = append(targets, net.JoinHostPort(ipn.IP.String(), port))
		}
	}
	t.Logf("alice reaches her own %v; she tries %v", own, targets)
	for _, addr := range targets {
		if ok, got := a.fails(reach(addr), 10*time.Second); !ok {
			t.Errorf("alice's shell reached %s outside her lab:\n%s", addr, got)
		}
	}
	if got := a.run("python3 -c 'print(40+2)'", 10*time.Second); strings.Contains(got, "42") {
		connect := `python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.connect("\0` + abstract + `")'`
		if ok, got := a.fails(connect, 10*time.Second); !ok {
			t.Errorf("alice's shell reached the machine's abstract socket @%s:\n%s", abstract, got)
		}
	} else {
		t.Logf("no python3 in alice's view: the abstract socket is not tried")
	}
	reached.Range(func(k, v any) bool {
		t.Errorf("the machine's listener %v was reached, from %v", k, v)
		return true
	})
}

// TestWhatALabPrintsCostsTheServerOneScreen: the server keeps each lab's
// screen in a terminal emulator, out of the lab's own memory limit. What
// scrolls off that screen is not the server's to keep: alice prints
// 12,000 full lines of a 512-column window, and the server's memory
// grows by no more than a screen's worth.
func TestWhatALabPrintsCostsTheServerOneScreen(t *testing.T) {
	alice := newKey(t, "alice")
	s := startServer(t, []key{alice})
	a := s.connectSized(alice, 512, 60)
	a.shellAfterScene1()
	before := rssMB(s.cmd.Process.Pid)
	a.run(`yes "$(printf '%0510d' 0)" | head -n 12000`, 120*time.Second)
	after := rssMB(s.cmd.Process.Pid)
	t.Logf("the server's resident memory: %.0f MB before alice's 6 MB of lines, %.0f MB after", before, after)
	if after-before > 100 {
		t.Errorf("the server kept what scrolled off alice's screen: %.0f MB more resident memory (%.0f → %.0f)", after-before, before, after)
	}
}

// TestALabWritesNothingToTheServersDisk: her directory in the server's
// state directory is in her view (it holds her progress pipe, and her
// home's tmpfs is mounted on it), but it is on the server's disk: a file
// written there would be bounded by nothing but the disk, shared with
// the machine and every lab. What she writes lives in her tmpfs alone.
func TestALabWritesNothingToTheServersDisk(t *testing.T) {
	alice := newKey(t, "alice")
	s := startServer(t, []key{alice})
	a := s.connect(alice)
	a.shellAfterScene1()
	dir := filepath.Join(s.stateDir(), "a0")
	// Her shell starts where she may write: her home, not her directory.
	if got := a.run("pwd | sed 's/^/cwd=/'; echo ok-$((40+2)) > ./zt-e2e-start && cat ./zt-e2e-start", 10*time.Second); !strings.Contains(got, "ok-42") || strings.Contains(got, "cwd="+dir+"\n") {
		t.Errorf("alice's shell does not start in a directory she may write:\n%s", got)
	}
	probes := []probe{
		{"a file in her directory", "head -c 1M /dev/zero > " + dir + "/zt-e2e-disk"},
		{"a directory in her directory", "mkdir " + dir + "/zt-e2e-dir"},
		{"her working directory", "cd " + dir + " && echo x > zt-e2e-cwd"},
		{"the disk under her home's tmpfs", "umount ~ || umount -l ~"},
	}
	for _, p := range probes {
		if ok, got := a.fails(p.cmd, 10*time.Second); !ok {
			t.Errorf("alice's shell wrote %s on the server's disk (%s):\n%s", p.what, p.cmd, got)
		}
	}
	for _, name := range []string{"zt-e2e-disk", "zt-e2e-dir", "zt-e2e-cwd"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("alice's %s is on the server's disk in %s", name, dir)
		}
	}
	// A control: her home and her lab are writable, and her lab goes on.
	if got := a.run("echo ok-$((40+2)) > ~/f && cat ~/f", 10*time.Second); !strings.Contains(got, "ok-42") {
		t.Errorf("alice cannot write her home (the probes above prove nothing):\n%s", got)
	}
	a.press("exit\r")
	a.waitFor("back in her lab", 10*time.Second, "Man in the middle")
	a.press("n")
	a.press("a")
	a.waitFor("scene 2", 30*time.Second, "consumer received a fortune")
}

// TestTheInstructorWatchingAScreenGetsNoneOfItsSequences: the instructor
// watches an attendee's screen, which the attendee's lab draws: terminal
// sequences her shell prints (a window title, a clipboard write, a
// hyperlink) are her terminal's business, and must not reach the
// instructor's as they are.
func TestTheInstructorWatchingAScreenGetsNoneOfItsSequences(t *testing.T) {
	alice, teacher := newKey(t, "alice"), newKey(t, "teacher")
	keys := instructorKeys(t, teacher)
	s := startServer(t, []key{alice}, "--instructor-keys", keys)
	a := s.connect(alice)
	a.shellAfterScene1()
	a.run(`printf 'SCREEN-\033]0;SCRPWN\007-\033]52;c;UFdO\007-\033]8;;http://zt-e2e.invalid/\033\\link\033]8;;\033\\-\033[?1049h-MARK\n'`, 10*time.Second)
	if !strings.Contains(a.all(), "\x1b]0;SCRPWN") {
		t.Fatalf("alice's own terminal did not receive her sequences (the check below proves nothing)")
	}

	teacher.name = "instructor"
	in := s.connect(teacher)
	in.waitFor("the class", 10*time.Second, "the class (1)", "alice")
	in.press("\r")
	in.waitFor("alice's screen", 10*time.Second, "alice's screen, read-only", "MARK")
	time.Sleep(1500 * time.Millisecond) // a refresh or two
	raw := in.all()
	for _, seq := range []string{"\x1b]0;SCRPWN", "\x1b]52;c;UFdO", "zt-e2e.invalid"} {
		if strings.Contains(raw, seq) {
			t.Errorf("the instructor's terminal received alice's sequence %q", seq)
		}
	}
}

// TestWindowChangesCostTheServerLittleCPU: a window change resizes the
// lab's pty and the server's emulator of its screen, the server's own
// work, out of every lab's cpu limit. A raw client sends window changes
// between two big sizes as fast as the protocol takes them for 5 s: each
// costs the server about what any packet of the protocol costs (a few
// µs), not a resize (some 130 µs at these sizes, which queued up 30 s of
// the server's work on both cores).
func TestWindowChangesCostTheServerLittleCPU(t *testing.T) {
	mallory := newKey(t, "mallory")
	s := startServer(t, []key{mallory})
	m := s.connectSized(mallory, 200, 60)
	m.waitFor("the first screen", 15*time.Second, header(1))
	before := cpuSeconds(s.cmd.Process.Pid)
	sent := 0
	for start := time.Now(); time.Since(start) < 5*time.Second; sent++ {
		w, h := 512, 256
		if sent%2 == 1 {
			w, h = 500, 250
		}
		if err := m.sess.WindowChange(h, w); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second)
	used := cpuSeconds(s.cmd.Process.Pid) - before
	each := used / float64(sent) * 1e6
	t.Logf("%d window changes in 5 s cost the server %.2f s of cpu, %.1f µs each", sent, used, each)
	if each > 20 {
		t.Errorf("mallory's %d window changes cost the server %.1f µs of cpu each (%.2f s): a resize each", sent, each, used)
	}
	// The last one counts: the lab follows the window.
	m.resize(150, 50)
	m.press("a")
	m.waitFor("scene 1, in the last window", 30*time.Second, "five hosts up on one wire", "✓")
	m.shell(5, "fcc00")
	if got := m.run("stty size", 10*time.Second); !strings.Contains(got, "50 150") {
		t.Errorf("the lab's terminal did not follow the last window change to 50 × 150:\n%s", got)
	}
}

// cpuSeconds is the cpu time pid has used, user and system, in seconds.
func cpuSeconds(pid int) float64 {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100
}

// TestALabsOutputCostsTheServerBoundedCPU: the server reads what a lab
// prints, keeps it in its emulator of the lab's screen and sends it to
// the attendee, all of it the server's own cpu, out of every lab's cpu
// limit. Alice prints as fast as her lab can for 5 s: the server spends
// a bounded part of a core on it (72% of one before her output was read
// at a bounded rate).
func TestALabsOutputCostsTheServerBoundedCPU(t *testing.T) {
	alice := newKey(t, "alice")
	s := startServer(t, []key{alice})
	a := s.connect(alice)
	a.shellAfterScene1()
	a.boundedCPU(s, "output", "timeout 5 yes 'zt-e2e output flood, as fast as her lab prints it'")
}

// TestOneConnectionCannotFloodTheServersLog: the server's log is the
// instructor's record of the room, one line per join, leave and refusal.
// A raw client opens a session and then 2,000 more channels of it on one
// connection, each refused: the log says so once, not 2,000 times.
func TestOneConnectionCannotFloodTheServersLog(t *testing.T) {
	mallory := newKey(t, "mallory")
	s := startServer(t, []key{mallory})
	c, first := s.session(t, mallory)
	defer c.Close()
	defer first.Close()
	refused := 0
	for range 2000 {
		if extra, err := c.NewSession(); err == nil {
			extra.Close()
		} else {
			refused++
		}
	}
	if refused != 2000 {
		t.Errorf("%d of 2000 more sessions on one connection were refused; want all", refused)
	}
	time.Sleep(500 * time.Millisecond)
	if n := strings.Count(s.logs.String(), "a second session on one connection"); n != 1 {
		t.Errorf("the server's log has %d lines for one connection's 2000 refused sessions; want 1", n)
	}
}

// TestAServerWithoutRootKeepsEveryLabsTerminalsItsOwn: a server that is
// not root runs every lab as its own uid, and every terminal of every lab
// (the server's ptys for the TUIs, each lab's for its shells) would be in
// the machine's /dev/pts, owned by that uid: alice could write to bob's
// screen (a fake prompt) or read what he types. From her shell she writes
// to every terminal she can open but her own: bob's screen shows none of
// it, and her own terminal is there (the control).
func TestAServerWithoutRootKeepsEveryLabsTerminalsItsOwn(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to start the server as another user")
	}
	const nobody = 65534
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	s := startServerAs(t, nobody, []key{alice, bob})
	a, b := s.connect(alice), s.connect(bob)
	for _, m := range []*terminal{a, b} {
		m.shellAfterScene1()
	}
	got := a.run("me=$(tty); n=0; for p in /dev/pts/[0-9]*; do [ \"$p\" = \"$me\" ] && continue; (echo ZT-E2E-PWN > \"$p\") 2>/dev/null && n=$((n+1)); done; echo wrote=$n; test -c \"$me\" && echo own-tty", 10*time.Second)
	if !strings.Contains(got, "own-tty") {
		t.Errorf("alice's own terminal is not in her /dev/pts (the probe proves nothing):\n%s", got)
	}
	if !strings.Contains(got, "wrote=0") {
		t.Errorf("alice wrote to terminals not hers:\n%s", got)
	}
	time.Sleep(500 * time.Millisecond)
	if strings.Contains(b.all(), "ZT-E2E-PWN") {
		t.Errorf("bob's screen shows what alice wrote:\n%s", b.text())
	}
	// Bob's shell and lab go on.
	if got := b.run("echo bob-$((40+2))", 10*time.Second); !strings.Contains(got, "bob-42") {
		t.Errorf("bob's shell did not go on:\n%s", got)
	}
}

// TestAProgressFloodCostsTheServerBoundedCPU: the server decodes every
// line of a lab's progress pipe, its own cpu, out of every lab's cpu
// limit. Alice writes events into it as fast as she can for 5 s: the
// server spends a bounded part of a core on them, and her lab's own
// progress still reaches the instructor's count after.
func TestAProgressFloodCostsTheServerBoundedCPU(t *testing.T) {
	alice := newKey(t, "alice")
	s := startServer(t, []key{alice})
	a := s.connect(alice)
	a.shellAfterScene1()
	fifo := filepath.Join(s.stateDir(), "a0", "progress")
	a.boundedCPU(s, "progress flood", `timeout 5 yes '{"kind":"step-done","scene":0,"step":0,"error":"zt-e2e flood"}' > `+fifo)
}

// TestANoShellServerGivesNoShell: with --no-shell an attendee has the
// guided lab and nothing else: the shell key says there is none, and a
// command she asks for instead of a shell (ssh HOST bash) is not run,
// with or without a pty.
func TestANoShellServerGivesNoShell(t *testing.T) {
	alice := newKey(t, "alice")
	s := startServer(t, []key{alice}, "--no-shell", "--sessions-per-key", "3")
	a := s.connect(alice)
	a.waitFor("the first screen", 15*time.Second, header(1))
	a.press("a")
	a.waitFor("scene 1", 30*time.Second, "five hosts up on one wire", "✓")
	a.press("s")
	a.waitFor("the refusal", 10*time.Second, "no shell here")
	a.press("5")
	time.Sleep(time.Second)
	if strings.Contains(a.text(), "(zt-lab) ") {
		t.Errorf("a --no-shell lab opened a shell:\n%s", a.text())
	}
	for _, withPty := range []bool{true, false} {
		c, sess := s.session(t, alice)
		if withPty {
			if err := sess.RequestPty("xterm-256color", termHeight, termWidth, gossh.TerminalModes{}); err != nil {
				t.Fatal(err)
			}
		}
		var out lockedBuffer
		sess.Stdout, sess.Stderr = &out, &out
		if _, err := sess.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		if err := sess.Start("bash -c 'echo ZT-E2E-RAN-$((6*7))'"); err != nil {
			t.Logf("exec refused (pty %v): %v", withPty, err)
		}
		time.Sleep(3 * time.Second)
		if strings.Contains(out.String(), "ZT-E2E-RAN-42") {
			t.Errorf("a command alice asked for ran (pty %v):\n%q", withPty, out.String())
		}
		c.Close()
	}
}
