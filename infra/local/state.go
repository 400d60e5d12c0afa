package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ztlab/zt-lab/infra"
)

// State is what other terminals need to find and join a running lab.
type State struct {
	ID      string       `json:"id"`
	PID     int          `json:"pid"` // zt-lab outside the sandbox
	Dir     string       `json:"dir"` // the lab's run directory
	Socket  string       `json:"socket"`
	Subnet  netip.Prefix `json:"subnet"`
	Wire    netip.Addr   `json:"wire"`
	Started time.Time    `json:"started"`
	Hosts   []StateHost  `json:"hosts"`
}

// StateHost is one host as the state file records it.
type StateHost struct {
	Name string     `json:"name"`
	Role infra.Role `json:"role"`
	Addr netip.Addr `json:"addr"`
}

// ErrNoLab means no lab is running for this user.
var ErrNoLab = errors.New("no lab is running: start one with `zt-lab up` (or `zt-lab up --detach`)")

// ErrLabRunning means a lab is already running for this user.
type ErrLabRunning struct{ State State }

func (e ErrLabRunning) Error() string {
	return fmt.Sprintf("a lab is already running (id %s, pid %d, up since %s): use it, or end it with `zt-lab down`",
		e.State.ID, e.State.PID, e.State.Started.Format("15:04:05"))
}

// envRuntimeDir overrides where labs keep their state (tests use it).
const envRuntimeDir = "ZTLAB_RUNTIME_DIR"

// RuntimeDir is where this user's lab keeps its state: $ZTLAB_RUNTIME_DIR,
// else $XDG_RUNTIME_DIR/zt-lab, else /run/zt-lab for root, else a directory
// under the temporary directory.
func RuntimeDir() string {
	if d := os.Getenv(envRuntimeDir); d != "" {
		return d
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return filepath.Join(d, "zt-lab")
		}
	}
	if os.Getuid() == 0 {
		return "/run/zt-lab"
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("zt-lab-%d", os.Getuid()))
}

func statePath(base string) string { return filepath.Join(base, "lab.json") }
func lockPath(base string) string  { return filepath.Join(base, "lab.lock") }

// lock takes this user's lab lock for the life of the process. The kernel
// drops it when the process dies, however it dies, so a held lock is the
// proof that a lab is running.
func lock(base string) (*os.File, error) {
	if err := os.MkdirAll(base, 0o700); err != nil {
		return nil, fmt.Errorf("create runtime directory: %w", err)
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	for {
		f, err := os.OpenFile(lockPath(base), os.O_CREATE|os.O_RDWR, 0o600)
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
	f, err := os.Open(lockPath(base))
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
	if !running(base) {
		removeStaleState()
		return State{}, ErrNoLab
	}
	st, err := readState(base)
	if err != nil {
		// Locked but not yet written: a lab is starting.
		return State{}, fmt.Errorf("a lab is starting; try again in a moment (%w)", err)
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

func readState(base string) (State, error) {
	var st State
	b, err := os.ReadFile(statePath(base))
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
	tmp := statePath(base) + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, statePath(base))
}

// removeStaleState removes the run files of a lab that is no longer
// running. It holds the lock while it does, so a lab starting meanwhile
// either waits or finds the files gone: a lab's own files and lock are
// never removed from under it.
func removeStaleState() {
	base := RuntimeDir()
	f, err := os.Open(lockPath(base))
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
