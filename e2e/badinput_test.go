package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// More bad input, each caught before anything starts: one line that says
// what to do, exit 2. None of them logs in anywhere or builds a lab: the
// inventories name TEST-NET addresses no SSH could reach in time.
func TestBadInputIsCaughtBeforeAnythingStarts(t *testing.T) {
	u := newUser(t)
	dir := u.dir

	garbage := filepath.Join(dir, "garbage")
	if err := os.MkdirAll(garbage, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(garbage, "notes.txt"), []byte("my talk\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}

	key := filepath.Join(dir, "id_ed25519")
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	openKey := filepath.Join(dir, "id_open")
	if err := os.WriteFile(openKey, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(openKey, 0o644); err != nil {
		t.Fatal(err)
	}
	inventory := func(name, keyFile string, hosts ...string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "key: %s\nknown_hosts: %s\nhosts:\n", keyFile, filepath.Join(dir, "known_hosts"))
		for i, h := range hosts {
			name, role, _ := strings.Cut(h, ":")
			fmt.Fprintf(&b, "  - name: %s\n    role: %s\n    address: 192.0.2.%d\n", name, role, 10+i)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	seeds := []string{"consul00:consul", "consul01:consul", "consul02:consul", "fcs00:fcs", "fcc00:fcc"}
	wrongRole := inventory("wrong-role.yaml", key, "consul00:consul", "consul01:consul", "consul02:consul", "fcs00:consul", "fcc00:fcc")
	noConsumer := inventory("no-consumer.yaml", key, seeds[:4]...)
	openInv := inventory("open-key.yaml", openKey, seeds...)

	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--autoplay", "--pace", "0s"}, "--pace 0s: give how long each scene stays on screen"},
		{[]string{"--autoplay", "--pace", "-2s"}, "--pace -2s"},
		{[]string{"record", "--cast", filepath.Join(dir, "x.cast"), "--pace", "0s"}, "--pace 0s"},
		{[]string{"up", "--subnet", "8.8.8.0/24"}, "address range 8.8.8.0/24 is public"},
		{[]string{"run", "--subnet", "1.2.3.0/24"}, "--allow-public-subnet"},
		{[]string{"run", "--content", garbage}, "notes.txt is no scene's: name files ID.md or ID.notes.md"},
		{[]string{"run", "--content", empty}, "no scene's narration or notes in it"},
		{[]string{"run", "--content", filepath.Join(dir, "nope")}, "not a directory of scene markdown"},
		{[]string{"run", "--provider", "ssh", "--inventory", wrongRole}, `host "fcs00": role consul does not fit the name`},
		{[]string{"run", "--provider", "ssh", "--inventory", noConsumer}, "has no host fcc00"},
		{[]string{"run", "--provider", "ssh", "--inventory", openInv}, "(mode 0644): chmod 600 " + openKey},
	}
	for _, c := range cases {
		start := time.Now()
		r, err := u.run(c.args...)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != 2 || len(lines) != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("zt-lab %s: exit %d, stderr %q; want exit 2 and one line with %q", strings.Join(c.args, " "), r.code, r.stderr, c.want)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("zt-lab %s took %v to refuse: did it try to log in?", strings.Join(c.args, " "), took)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.cast")); err == nil {
		t.Error("record made its cast before refusing the pace")
	}
}

// A public range the user insists on works, with a warning said once.
func TestAPublicSubnetWorksWhenAskedForWithAWarning(t *testing.T) {
	u := newUser(t)
	r, err := u.run("up", "--detach", "--subnet", "8.8.8.0/24", "--allow-public-subnet")
	if err != nil || r.code != 0 {
		t.Fatalf("up on a public range it was allowed: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if n := strings.Count(r.stderr, "warning: address range 8.8.8.0/24 is public"); n != 1 {
		t.Errorf("the warning came %d times, want once: %q", n, r.stderr)
	}
	if out := u.must("status"); !strings.Contains(out, "8.8.8.0/24") {
		t.Errorf("status does not show the lab on 8.8.8.0/24:\n%s", out)
	}
	u.must("down")
}

// A runtime directory another user could change is refused by every
// command that would trust it: one line naming it and what to do, exit 2.
func TestARuntimeDirectoryOthersCouldChangeIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, rt string)
		why   string
	}{
		{"writable by others", func(t *testing.T, rt string) {
			if err := os.Mkdir(rt, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(rt, 0o777); err != nil {
				t.Fatal(err)
			}
		}, "may be written by other users (mode 0777)"},
		{"a link", func(t *testing.T, rt string) {
			if err := os.Mkdir(rt+".real", 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(rt+".real", rt); err != nil {
				t.Fatal(err)
			}
		}, "is a symbolic link"},
		{"another user's", func(t *testing.T, rt string) {
			if os.Getuid() != 0 {
				t.Skip("needs root to make a directory another user's; CI runs as root")
			}
			if err := os.Mkdir(rt, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(rt, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, "belongs to uid 65534"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := filepath.Join(t.TempDir(), "rt")
			tc.plant(t, rt)
			for _, args := range [][]string{{"status"}, {"up"}, {"up", "--detach"}, {"shell", "fcc00"}} {
				cmd := exec.Command(ztlab, args...)
				cmd.Env = append(os.Environ(), "ZTLAB_RUNTIME_DIR="+rt, "ZTLAB_CONSUL="+consul)
				var stderr strings.Builder
				cmd.Stderr = &stderr
				_ = cmd.Run()
				code := cmd.ProcessState.ExitCode()
				msg := strings.TrimSpace(stderr.String())
				if code != 2 || strings.Contains(msg, "\n") || !strings.Contains(msg, "refusing "+rt+": it "+tc.why) || !strings.Contains(msg, "ZTLAB_RUNTIME_DIR") {
					t.Errorf("zt-lab %s: exit %d, stderr %q; want exit 2 and one line refusing %s because it %s", strings.Join(args, " "), code, msg, rt, tc.why)
				}
			}
			if _, err := os.Lstat(filepath.Join(rt, "lab.lock")); err == nil {
				t.Error("a lab lock was made in the refused directory")
			}
		})
	}
}
