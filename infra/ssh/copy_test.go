package sshlab

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The install's scripts run here, as root, on a tree planted like a
// world-writable remote_dir another user got to first. The file already in
// place always has the right hash: a check that trusted the hash first
// would take it.
func TestInstallChecksOwnershipBeforeTheHash(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to plant another user's files; CI runs as root")
	}
	const nobody = 65534
	content := []byte("#!/bin/sh\necho the real zt-lab\n")
	h := sha256.Sum256(content)
	sum := hex.EncodeToString(h[:])
	cases := []struct {
		name  string
		plant func(t *testing.T, root, bin, file string)
		want  string // which path is refused: root, bin or file; "" for none
	}{
		{"installed by zt-lab", func(t *testing.T, root, bin, file string) {
			mkdir(t, root, 0o700)
			mkdir(t, bin, 0o700)
			write(t, file, content, 0o700)
		}, ""},
		{"lab directory is another user's", func(t *testing.T, root, bin, file string) {
			mkdir(t, root, 0o700)
			mkdir(t, bin, 0o700)
			write(t, file, content, 0o700)
			chown(t, root, nobody)
		}, "root"},
		{"bin directory is another user's", func(t *testing.T, root, bin, file string) {
			mkdir(t, root, 0o700)
			mkdir(t, bin, 0o700)
			write(t, file, content, 0o700)
			chown(t, bin, nobody)
		}, "bin"},
		{"lab directory is a link", func(t *testing.T, root, bin, file string) {
			elsewhere := root + ".real"
			mkdir(t, elsewhere, 0o700)
			mkdir(t, filepath.Join(elsewhere, "bin"), 0o700)
			write(t, filepath.Join(elsewhere, "bin", "zt-lab"), content, 0o700)
			if err := os.Symlink(elsewhere, root); err != nil {
				t.Fatal(err)
			}
		}, "root"},
		{"bin directory is writable by others", func(t *testing.T, root, bin, file string) {
			mkdir(t, root, 0o700)
			mkdir(t, bin, 0o777)
			write(t, file, content, 0o700)
		}, "bin"},
		{"the file is another user's", func(t *testing.T, root, bin, file string) {
			mkdir(t, root, 0o700)
			mkdir(t, bin, 0o700)
			write(t, file, content, 0o700)
			chown(t, file, nobody)
		}, "file"},
		{"the file is a link", func(t *testing.T, root, bin, file string) {
			mkdir(t, root, 0o700)
			mkdir(t, bin, 0o700)
			other := filepath.Join(filepath.Dir(root), "theirs")
			write(t, other, content, 0o700)
			if err := os.Symlink(other, file); err != nil {
				t.Fatal(err)
			}
		}, "file"},
		{"the file is writable by others", func(t *testing.T, root, bin, file string) {
			mkdir(t, root, 0o700)
			mkdir(t, bin, 0o700)
			write(t, file, content, 0o777)
		}, "file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			remoteDir := t.TempDir()
			if err := os.Chmod(remoteDir, 0o1777); err != nil {
				t.Fatal(err)
			}
			root := filepath.Join(remoteDir, "zt-lab-ssh-1")
			bin := filepath.Join(root, "bin")
			file := filepath.Join(bin, "zt-lab")
			c.plant(t, root, bin, file)
			out, err := exec.Command("sh", "-c", installedScript(bin, "zt-lab")).CombinedOutput()
			if c.want == "" {
				if err != nil || !strings.HasPrefix(string(out), sum+" ") {
					t.Fatalf("zt-lab's own install was not recognised: %v\n%s", err, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("the planted install was accepted:\n%s", out)
			}
			if strings.Contains(string(out), sum) {
				t.Errorf("the planted file was hashed before it was refused:\n%s", out)
			}
			want := map[string]string{"root": root, "bin": bin, "file": file}[c.want] + " is not zt-lab's"
			if !strings.Contains(string(out), want) || !strings.Contains(string(out), "remove it") {
				t.Errorf("refusal %q does not say %q and what to do", out, want)
			}
			// The copy refuses the directories too.
			cmd := exec.Command("sh", "-c", copyScript(bin, "zt-lab", sum))
			cmd.Stdin = strings.NewReader(string(content))
			if out, err := cmd.CombinedOutput(); err == nil && !strings.Contains(c.name, "file") {
				t.Errorf("the copy went into a planted directory:\n%s", out)
			}
		})
	}
}

func TestInstallMakesPrivateDirectoriesAndCopies(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("the directories must be root's: CI runs as root")
	}
	content := []byte("binary\n")
	h := sha256.Sum256(content)
	sum := hex.EncodeToString(h[:])
	bin := filepath.Join(t.TempDir(), "remote", "zt-lab-ssh-1", "bin")
	cmd := exec.Command("sh", "-c", copyScript(bin, "zt-lab", sum))
	cmd.Stdin = strings.NewReader(string(content))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("copy: %v\n%s", err, out)
	}
	for p, mode := range map[string]os.FileMode{filepath.Dir(bin): 0o700, bin: 0o700, filepath.Join(bin, "zt-lab"): 0o700} {
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, %v; want mode %04o", p, fi.Mode(), err, mode)
		}
	}
	out, err := exec.Command("sh", "-c", installedScript(bin, "zt-lab")).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), sum+" ") {
		t.Errorf("the copy is not recognised as installed: %v\n%s", err, out)
	}
}

func mkdir(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, p string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func chown(t *testing.T, p string, uid int) {
	t.Helper()
	if err := os.Lchown(p, uid, uid); err != nil {
		t.Fatal(err)
	}
}
