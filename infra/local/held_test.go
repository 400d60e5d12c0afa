//go:build linux

package local_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ztlab/zt-lab/infra/local"
)

// startHeld starts this test binary as a held zt-lab would be started and
// returns it, the pipe end that releases it, and its output.
func startHeld(t *testing.T) (*exec.Cmd, *os.File, *bytes.Buffer) {
	t.Helper()
	held, release, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(os.Args[0], "held", "ran")
	cmd.Env = []string{local.EnvHeld + "=3"}
	cmd.ExtraFiles = []*os.File{held}
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	held.Close()
	t.Cleanup(func() {
		release.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, release, &out
}

// blockedOnHold waits until pid sits in read(3): the held start waiting
// for its starter's word.
func blockedOnHold(t *testing.T, pid int) {
	t.Helper()
	want := fmt.Sprintf("%d 0x3 ", unix.SYS_READ)
	var last string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/syscall", pid))
		if err != nil {
			t.Fatalf("the held process is gone: %v", err)
		}
		if last = string(b); strings.HasPrefix(last, want) {
			return
		}
	}
	t.Fatalf("the held process never waited on its hold: /proc/pid/syscall %q", last)
}

func TestAHeldStartDoesNothingUntilReleased(t *testing.T) {
	cmd, release, out := startHeld(t)
	blockedOnHold(t, cmd.Process.Pid)
	if out.Len() != 0 {
		t.Fatalf("the held process ran before its release: %q", out)
	}
	if _, err := release.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	release.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("released process: %v (%q)", err, out)
	}
	if out.String() != "ran" {
		t.Errorf("released process wrote %q, want %q", out, "ran")
	}
}

func TestAHeldStartWhoseStarterGivesUpNeverRuns(t *testing.T) {
	cmd, release, out := startHeld(t)
	blockedOnHold(t, cmd.Process.Pid)
	release.Close() // the starter could not place it
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit %v, want status 1 (%q)", err, out)
	}
	if strings.Contains(out.String(), "ran") || !strings.Contains(out.String(), "did not release") {
		t.Errorf("output %q: want the one-line refusal and no run", out)
	}
}
