package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestAnUnprivilegedUserRunsTheLab runs the lab as nobody: no root, only
// the user namespaces the kernel allows. It needs root to become nobody,
// as CI is.
func TestAnUnprivilegedUserRunsTheLab(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to switch to an unprivileged user; CI runs as root")
	}
	const nobody = 65534
	if err := os.Chmod(filepath.Dir(ztlab), 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "ztu")
	if err != nil {
		t.Fatal(err)
	}
	// The lab's own user tears it down, whatever happened; only then may
	// its runtime directory go (without it, down cannot find the lab).
	u := &user{t: t, dir: dir}
	t.Cleanup(func() {
		for _, pid := range u.labPIDs() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		os.RemoveAll(dir)
	})
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	runtime := filepath.Join(dir, "run")
	u.dir = runtime // labPIDs finds the lab's processes by this marker
	as := func(stdin string, args ...string) (string, int) {
		cmd := exec.Command(ztlab, args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "ZTLAB_RUNTIME_DIR=" + runtime}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		cmd.Stdin = strings.NewReader(stdin)
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	t.Cleanup(func() { as("", "down") })
	if out, code := as("", "up", "--detach"); code != 0 {
		t.Fatalf("up --detach as nobody: exit %d\n%s", code, out)
	}
	out, code := as("nc fcs00 8181 </dev/null | grep -q . || exit 1\nid -u\n", "shell", "fcc00")
	if code != 0 || strings.TrimSpace(out) != "0" {
		t.Fatalf("nc in a shell as nobody: exit %d\n%s", code, out)
	}
	if out, code := as("", "down"); code != 0 {
		t.Fatalf("down as nobody: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(runtime); !os.IsNotExist(err) {
		t.Errorf("the lab left its runtime directory behind: %v", err)
	}
}
