//go:build linux

package serve

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// reapSpec is what the reaper cleans up after a server that died.
type reapSpec struct {
	State   string   // the state directory
	UIDFrom int      // the attendees' uids, [UIDFrom, UIDTo)
	UIDTo   int      //
	Cgroups []string // the server's cgroup directories
}

// startReaper starts `zt-lab serve --reaper`: a process of its own
// session that waits for the server to end, however it ends (its stdin
// is a pipe only the server holds: EOF comes when the server is gone,
// even after SIGKILL), then ends every process of the attendees' uids and
// removes the state directory and the cgroups. After a clean shutdown it
// finds nothing left to do.
//
// hold, when not nil, is a file the reaper keeps open until it is done
// (the lock on the uids).
func startReaper(self string, spec reapSpec, hold *os.File) (io.Closer, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "serve", "--reaper")
	lifeline, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if hold != nil {
		cmd.ExtraFiles = []*os.File{hold}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the reaper: %w", err)
	}
	if _, err := lifeline.Write(append(b, '\n')); err != nil {
		return nil, err
	}
	go func() { _ = cmd.Wait() }()
	return lifeline, nil
}

// Reap is the reaper's body: it reads its spec from r, waits for EOF on
// r, then cleans up.
func Reap(r io.Reader) error {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	br := bufio.NewReader(r)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("reaper: no spec: %w", err)
	}
	var spec reapSpec
	if err := json.Unmarshal(line, &spec); err != nil {
		return fmt.Errorf("reaper: %w", err)
	}
	_, _ = io.Copy(io.Discard, br)
	return reap(spec, 30*time.Second)
}

func reap(spec reapSpec, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		left := 0
		if spec.UIDTo > spec.UIDFrom {
			for _, pid := range pidsOfUIDs(spec.UIDFrom, spec.UIDTo) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				left++
			}
		}
		for _, d := range spec.Cgroups {
			subs, _ := filepath.Glob(filepath.Join(d, "a*"))
			for _, s := range subs {
				if st, err := os.Stat(s); err == nil && st.IsDir() {
					if os.Remove(s) != nil {
						left++
					}
				}
			}
			if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
				left++
			}
		}
		if spec.State != "" {
			if err := os.RemoveAll(spec.State); err != nil {
				left++
			}
		}
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("reaper: %d things left after %v", left, patience)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
