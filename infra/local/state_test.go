//go:build linux

package local

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ztlab/zt-lab/infra"
)

// nobody is the user the tests hand things to when they play a stranger.
const nobody = 65534

// needRealRoot skips a test that must give files to another user: only a
// sandbox made by root maps other users' ids (an unprivileged one maps the
// user alone, as uid 0).
func needRealRoot(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil || strings.Fields(string(b))[1] != "0" || os.Getuid() != 0 {
		t.Skip("needs root outside the sandbox to play another user; CI runs as root")
	}
}

// runtimeDir points the lab's runtime directory at a new path under a
// temporary directory and returns it (not yet made).
func runtimeDir(t *testing.T) string {
	t.Helper()
	base := filepath.Join(t.TempDir(), "rt")
	t.Setenv(envRuntimeDir, base)
	return base
}

func wantUnsafe(t *testing.T, err error, path, why string) {
	t.Helper()
	var u infra.UnsafePathError
	if !errors.As(err, &u) {
		t.Fatalf("got %v, want %s refused because it %s", err, path, why)
	}
	if u.Path != path || !strings.Contains(u.Why, why) {
		t.Errorf("refused %s because it %s; want %s because it %s", u.Path, u.Why, path, why)
	}
	if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), path) {
		t.Errorf("the refusal is not one line naming the path: %q", err)
	}
}

func TestRuntimeDirIsMadePrivate(t *testing.T) {
	base := runtimeDir(t)
	f, err := lock(base)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := os.Lstat(base)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 || !fi.IsDir() {
		t.Errorf("runtime directory is %v, want a directory of mode 0700", fi.Mode())
	}
}

func TestRuntimeDirsOthersCouldChangeAreRefused(t *testing.T) {
	cases := []struct {
		name  string
		plant func(t *testing.T, base string)
		why   string
	}{
		{"a symbolic link", func(t *testing.T, base string) {
			real := filepath.Join(filepath.Dir(base), "elsewhere")
			if err := os.Mkdir(real, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(real, base); err != nil {
				t.Fatal(err)
			}
		}, "is a symbolic link"},
		{"writable by others", func(t *testing.T, base string) {
			if err := os.Mkdir(base, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(base, 0o777); err != nil {
				t.Fatal(err)
			}
		}, "may be written by other users"},
		{"writable by the group", func(t *testing.T, base string) {
			if err := os.Mkdir(base, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(base, 0o770); err != nil {
				t.Fatal(err)
			}
		}, "may be written by other users"},
		{"a file", func(t *testing.T, base string) {
			if err := os.WriteFile(base, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "is not a directory"},
		{"another user's", func(t *testing.T, base string) {
			needRealRoot(t)
			if err := os.Mkdir(base, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(base, nobody, nobody); err != nil {
				t.Fatal(err)
			}
		}, "belongs to uid 65534"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := runtimeDir(t)
			c.plant(t, base)
			f, err := lock(base)
			if err == nil {
				f.Close()
			}
			wantUnsafe(t, err, base, c.why)
			_, err = FindLab()
			wantUnsafe(t, err, base, c.why)
			if _, err := os.Lstat(lockPath(base)); err == nil {
				t.Error("a lock file was made in the refused directory")
			}
		})
	}
}

func TestStateIsNeverWrittenThroughALink(t *testing.T) {
	base := runtimeDir(t)
	if err := infra.MakePrivateDir(base); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(filepath.Dir(base), "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, statePath(base)+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := writeState(base, State{ID: "abcd1234"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("the link's target was overwritten: %q", b)
	}
	st, err := readState(base)
	if err != nil || st.ID != "abcd1234" {
		t.Errorf("state read back: %+v, %v", st, err)
	}
	fi, err := os.Lstat(statePath(base))
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Errorf("lab.json is %v (%v), want a regular file of mode 0600", fi.Mode(), err)
	}
}

// holdLab takes the lab lock in base, as a running lab does.
func holdLab(t *testing.T, base string) {
	t.Helper()
	f, err := lock(base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
}

func TestPlantedStateIsRefused(t *testing.T) {
	t.Run("lab.json is a link", func(t *testing.T) {
		base := runtimeDir(t)
		holdLab(t, base)
		planted := filepath.Join(filepath.Dir(base), "planted.json")
		if err := os.WriteFile(planted, []byte(`{"id":"x","socket":"/tmp/x.sock"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(planted, statePath(base)); err != nil {
			t.Fatal(err)
		}
		_, err := FindLab()
		wantUnsafe(t, err, statePath(base), "is a symbolic link")
	})
	t.Run("lab.json is writable by others", func(t *testing.T) {
		base := runtimeDir(t)
		holdLab(t, base)
		if err := writeState(base, State{ID: "x", Socket: filepath.Join(base, "ctl.sock")}); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(statePath(base), 0o666); err != nil {
			t.Fatal(err)
		}
		_, err := FindLab()
		wantUnsafe(t, err, statePath(base), "may be written by other users")
	})
	t.Run("the socket is another user's", func(t *testing.T) {
		needRealRoot(t)
		base := runtimeDir(t)
		holdLab(t, base)
		// The stranger's socket, in a directory of the stranger's.
		theirs := filepath.Join(filepath.Dir(base), "theirs")
		if err := os.Mkdir(theirs, 0o755); err != nil {
			t.Fatal(err)
		}
		sock := filepath.Join(theirs, "ctl.sock")
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		for _, p := range []string{theirs, sock} {
			if err := os.Lchown(p, nobody, nobody); err != nil {
				t.Fatal(err)
			}
		}
		accepted := make(chan bool, 1)
		go func() {
			c, err := ln.Accept()
			if err == nil {
				c.Close()
			}
			accepted <- err == nil
		}()
		if err := writeState(base, State{ID: "x", Socket: sock, Started: time.Now()}); err != nil {
			t.Fatal(err)
		}
		_, err = FindLab()
		wantUnsafe(t, err, sock, "belongs to uid 65534")
		// Even given the state, the client will not talk to it.
		_, err = Dial(State{Socket: sock}).Status(t.Context())
		wantUnsafe(t, err, sock, "belongs to uid 65534")
		ln.Close()
		if <-accepted {
			t.Error("the client connected to the stranger's socket")
		}
	})
}
