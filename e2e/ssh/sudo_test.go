package ssh

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/sys/unix"

	"github.com/ztlab/zt-lab/e2e/internal/report"
)

// labUser is the machines' user that is not root: it logs in with its key
// in an ssh-agent and becomes root through sudo, as on most hosts a
// presenter has.
const labUser = "ztlab"

// TestWalkthroughOverSSHAsAUserWithSudo runs the first scenes (hosts up,
// the fortune, the capture that needs root) with an inventory that logs in
// as a user that is not root, by a key held in an ssh-agent, and has
// sudo: true; then that nothing is left.
func TestWalkthroughOverSSHAsAUserWithSudo(t *testing.T) {
	if _, err := os.Stat("/usr/bin/sudo"); err != nil {
		t.Fatal("no /usr/bin/sudo: `make test-deps` installs it")
	}
	requireEveryID(t)
	m := newMachines(t, true)
	addUser(t, m.dir)
	sock := serveAgent(t, filepath.Join(m.dir, "id_ed25519"))

	inv, err := os.ReadFile(m.inventory)
	if err != nil {
		t.Fatal(err)
	}
	first, rest, _ := strings.Cut(string(inv), "\nknown_hosts:")
	if !strings.HasPrefix(first, "user: root\nkey: ") {
		t.Fatalf("the inventory starts %q", first)
	}
	inventory := filepath.Join(m.dir, "sudo.yaml")
	head := fmt.Sprintf("user: %s\nsudo: true\nagent: true", labUser)
	if err := os.WriteFile(inventory, []byte(head+"\nknown_hosts:"+rest), 0o600); err != nil {
		t.Fatal(err)
	}

	reportPath := filepath.Join(m.dir, "sudo-report.json")
	stdout, stderr, code := m.zt(t, 5*time.Minute, "run", "--provider", "ssh", "--inventory", inventory,
		"--scene", "1,2,3", "--json", reportPath, "ENV:SSH_AUTH_SOCK="+sock)
	report.Run{Name: "zt-lab run --provider ssh, as " + labUser + " with sudo", Report: reportPath,
		Stdout: stdout, Stderr: stderr, Code: code, Claims: report.Claims[:3]}.Check(t)
	if t.Failed() {
		// sshd says why it refused a login (a key it could not read as
		// the user, say); zt-lab only hears that it was refused.
		h, _ := m.lab.Host("consul00")
		for _, p := range h.Procs() {
			t.Logf("%s on consul00 said:\n%s", p.Name(), strings.Join(p.Tail(20), "\n"))
		}
	}
	m.assertNothingLeft(t)
}

// requireEveryID skips where the sandbox maps only the user who runs the
// tests: there, a set-uid sudo cannot become root. CI runs as root, where
// every id is mapped.
func requireEveryID(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(b)); len(f) == 3 && f[2] == "1" {
		t.Skip("the sandbox maps one user id, so sudo cannot work in it: run the tests as root, as CI does")
	}
}

// addUser gives the machines a user that is not root, with passwordless
// sudo, by binding edited copies of /etc/passwd, /etc/group, /etc/shadow
// and /etc/sudoers over the originals in the tests' own mount namespace:
// the machine's files never change.
func addUser(t *testing.T, dir string) {
	t.Helper()
	const uid = 59999
	edits := []struct {
		path, add string
		mode      os.FileMode
	}{
		{"/etc/passwd", fmt.Sprintf("%s:x:%d:%d::%s:/bin/sh\n", labUser, uid, uid, dir), 0o644},
		{"/etc/group", fmt.Sprintf("%s:x:%d:\n", labUser, uid), 0o644},
		{"/etc/shadow", labUser + ":*:20000:0:99999:7:::\n", 0o640},
		// Only what this user may do, without a password and without the
		// PAM account and session steps a user with no password lacks.
		{"/etc/sudoers", "Defaults !pam_acct_mgmt, !pam_session, !pam_setcred\nroot ALL=(ALL:ALL) ALL\n" +
			labUser + " ALL=(ALL:ALL) NOPASSWD: ALL\n", 0o440},
	}
	for _, e := range edits {
		var old []byte
		if e.path != "/etc/sudoers" {
			var err error
			if old, err = os.ReadFile(e.path); err != nil {
				t.Fatal(err)
			}
			if len(old) > 0 && old[len(old)-1] != '\n' {
				old = append(old, '\n')
			}
		}
		copyPath := filepath.Join(dir, filepath.Base(e.path))
		if err := os.WriteFile(copyPath, append(old, e.add...), e.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(copyPath, e.mode); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount(copyPath, e.path, "", unix.MS_BIND, ""); err != nil {
			t.Fatalf("bind %s over %s: %v", copyPath, e.path, err)
		}
		t.Cleanup(func() { _ = unix.Unmount(e.path, unix.MNT_DETACH) })
	}
	// The user's home, and the keys sshd reads as that user.
	for _, p := range []string{filepath.Dir(dir), dir, filepath.Join(dir, "authorized_keys")} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// serveAgent holds the private key at keyPath in an ssh-agent of the
// test's own, and returns its socket.
func serveAgent(t *testing.T, keyPath string) string {
	t.Helper()
	b, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.ParseRawPrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue
			}
			go func() { defer c.Close(); _ = agent.ServeAgent(keyring, c) }()
		}
	}()
	return sock
}
