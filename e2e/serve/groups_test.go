package serve

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cgroupDirOf is the directory of the group pid is in for controller ctl
// ("" for cgroup v2's unified hierarchy), from /proc/PID/cgroup.
func cgroupDirOf(pid int, ctl string) (string, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case ctl == "" && parts[1] == "":
			root := "/sys/fs/cgroup/unified"
			if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
				root = "/sys/fs/cgroup"
			}
			return filepath.Join(root, parts[2]), true
		case ctl != "" && strings.Contains(","+parts[1]+",", ","+ctl+","):
			return filepath.Join("/sys/fs/cgroup", parts[1], parts[2]), true
		}
	}
	return "", false
}

// TestEveryProcessOfALabIsWithinItsLimits: alice's whole lab (the lab
// process, its sandbox, the fortune service, the consul agents and
// sidecars of scenes 1-8, her shell and what she starts from it, detached)
// is in her lab's cpu, memory and pids groups. A process born before the lab was placed would
// be outside them for good, and free of every limit.
func TestEveryProcessOfALabIsWithinItsLimits(t *testing.T) {
	alice := newKey(t, "alice")
	s := startServer(t, []key{alice})
	a := s.connect(alice)
	if _, err := a.walk(8, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	a.shell(5, "fcc00")
	a.run("(setsid sleep 600 >/dev/null 2>&1 &)", 10*time.Second)
	var groups = map[string]string{}
	for _, ctl := range []string{"cpu", "memory", "pids"} {
		if dir, ok := s.labCgroup(ctl, 0); ok {
			groups[ctl] = dir
		}
	}
	if len(groups) == 0 {
		if dir, ok := s.labCgroup("", 0); ok {
			groups[""] = dir
		}
	}
	if len(groups) == 0 {
		t.Fatal("alice's lab has no cgroup at all (not root?)")
	}
	pids := attendeePIDs()
	var sleeper, agent, proxy bool
	for _, pid := range pids {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		args := strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " ")
		t.Logf("pid %d: %s", pid, args)
		switch {
		case args == "sleep 600":
			sleeper = true
		case strings.Contains(args, "consul agent"):
			agent = true
		case strings.Contains(args, "consul connect proxy"):
			proxy = true
		}
		for ctl, want := range groups {
			got, ok := cgroupDirOf(pid, ctl)
			if !ok {
				continue // it ended meanwhile
			}
			if got != want {
				t.Errorf("pid %d (%s) is in %s group %s, outside alice's lab's %s", pid, args, ctl, got, want)
			}
		}
	}
	if !sleeper || !agent || !proxy {
		t.Errorf("among alice's lab's %d processes: her detached sleep %v, a consul agent %v, a sidecar %v; want all three", len(pids), sleeper, agent, proxy)
	}
}
