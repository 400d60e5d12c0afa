//go:build linux

package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ztlab/zt-lab/infra"
)

// ErrNoLab means no lab is running for this user.
var ErrNoLab = errors.New("no lab is running: start one with `zt-lab up` (or `zt-lab up --detach`)")

// envRuntimeDir overrides where labs keep their state (tests use it).
const envRuntimeDir = infra.EnvRuntimeDir

// RuntimeDir is where this user's lab keeps its state (see
// infra.RuntimeDir). Nothing in it is trusted before it is checked.
func RuntimeDir() string { return infra.RuntimeDir() }

func statePath(base string) string { return filepath.Join(base, "lab.json") }
func lockPath(base string) string  { return filepath.Join(base, "lab.lock") }

// lock takes this user's lab lock for the life of the process. The kernel
// drops it when the process dies, however it dies, so a held lock is the
// proof that a lab is running.
func lock(base string) (*os.File, error) {
	if err := infra.MakePrivateDir(base); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	for {
		f, err := os.OpenFile(lockPath(base), os.O_CREATE|os.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open lab lock: %w", err)
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil && samePath(f, lockPath(base)) {
			return f, nil
		}
		f.Close()
		switch {
		case err == nil:
			// Stale files were cleaned up between our open and our
			// lock: the file we hold is gone. Lock the one there now.
		case !errors.Is(err, unix.EWOULDBLOCK):
			return nil, fmt.Errorf("take lab lock: %w", err)
		case time.Now().After(deadline):
			st, _ := readState(base)
			return nil, ErrLabRunning{st}
		}
		// Another terminal's status probes the lock for a moment.
		time.Sleep(10 * time.Millisecond)
	}
}

// samePath reports whether f is still the file at path.
func samePath(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// running reports whether a lab holds the lock in base.
func running(base string) bool {
	f, err := os.OpenFile(lockPath(base), os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return errors.Is(err, unix.EWOULDBLOCK)
	}
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}

// FindLab returns the state of this user's running lab, or ErrNoLab. Files
// left by a lab that died without cleaning up are removed on the way.
func FindLab() (State, error) {
	base := RuntimeDir()
	if err := infra.CheckPrivateDir(base); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return State{}, ErrNoLab
		}
		return State{}, err
	}
	if !running(base) {
		removeStaleState()
		return State{}, ErrNoLab
	}
	st, err := readState(base)
	var unsafe infra.UnsafePathError
	if errors.As(err, &unsafe) {
		return State{}, err
	}
	if err != nil {
		// Locked but not yet written: a lab is starting.
		return State{}, fmt.Errorf("a lab is starting; try again in a moment (%w)", err)
	}
	if err := checkSocket(st.Socket); err != nil {
		return State{}, err
	}
	return st, nil
}

// WaitGone waits until no lab holds the lock, or the deadline passes.
func WaitGone(deadline time.Time) error {
	base := RuntimeDir()
	for running(base) {
		if time.Now().After(deadline) {
			return errors.New("the lab is still running")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// readState reads the state file, refusing one that is a link or that
// another user could have written.
func readState(base string) (State, error) {
	var st State
	f, err := os.OpenFile(statePath(base), os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ELOOP) {
		fi, lerr := os.Lstat(statePath(base))
		if lerr == nil {
			return st, infra.CheckPrivateFile(statePath(base), fi)
		}
	}
	if err != nil {
		return st, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return st, err
	}
	if err := infra.CheckPrivateFile(statePath(base), fi); err != nil {
		return st, err
	}
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("read %s: %w", statePath(base), err)
	}
	return st, nil
}

func writeState(base string, st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := infra.CheckPrivateDir(base); err != nil {
		return err
	}
	// A file left at the temporary name (a lab killed mid-write, or a
	// planted link) is removed, never written through: O_EXCL and
	// O_NOFOLLOW make the file ours and new.
	tmp := statePath(base) + ".tmp"
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	f, err := os.OpenFile(tmp, flags, 0o600)
	if errors.Is(err, fs.ErrExist) {
		if err = os.Remove(tmp); err == nil {
			f, err = os.OpenFile(tmp, flags, 0o600)
		}
	}
	if err != nil {
		return fmt.Errorf("write lab state: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write lab state: %w", err)
	}
	return os.Rename(tmp, statePath(base))
}

// checkSocket refuses a control socket that is not this user's: a lab.json
// planted to point elsewhere would hand the user's terminal to a stranger.
func checkSocket(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("reach the lab (%s): %w", path, err)
	}
	hint := "end the lab with `zt-lab down`, or remove " + path + " if it is not yours"
	if fi.Mode().Type() != fs.ModeSocket {
		return infra.UnsafePathError{Path: path, Why: "is not a socket", Hint: hint}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return infra.UnsafePathError{Path: path, Why: fmt.Sprintf("belongs to uid %d, not to you (uid %d)", st.Uid, os.Getuid()), Hint: hint}
	}
	return nil
}

// removeStaleState removes the run files of a lab that is no longer
// running. It holds the lock while it does, so a lab starting meanwhile
// either waits or finds the files gone: a lab's own files and lock are
// never removed from under it.
func removeStaleState() {
	base := RuntimeDir()
	if infra.CheckPrivateDir(base) != nil {
		return // not ours to clean
	}
	f, err := os.OpenFile(lockPath(base), os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return // no lock file: no lab ever ran, or its Close cleaned up
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil || !samePath(f, lockPath(base)) {
		return // a lab holds it, or it is not the file at the path
	}
	if st, err := readState(base); err == nil && st.Dir != "" && filepath.Dir(st.Dir) == base {
		_ = os.RemoveAll(st.Dir)
	}
	_ = os.Remove(statePath(base))
	_ = os.Remove(lockPath(base))
	_ = os.Remove(base) // only if empty
}
