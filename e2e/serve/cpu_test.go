package serve

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cpuCount is a lab's CPU accounting, as its cgroup keeps it.
type cpuCount struct {
	usageNS   int64 // CPU time used
	periods   int64 // quota periods in which it ran
	throttled int64 // periods it was stopped in at its quota
}

// labCgroup is the directory of a lab's group (attendee slot) under the
// server's, for controller ctl ("" for cgroup v2).
func (s *server) labCgroup(ctl string, slot int) (string, bool) {
	pid := s.cmd.Process.Pid
	dir, ok := cgroupDirOf(pid, ctl)
	if !ok {
		return "", false
	}
	dir = filepath.Join(dir, fmt.Sprintf("zt-lab-serve-%d", pid), "a"+strconv.Itoa(slot))
	if _, err := os.Stat(dir); err != nil {
		return "", false
	}
	return dir, true
}

// cpuCountOf reads the CPU accounting of the lab of slot: cgroup v1's
// cpu.stat and cpuacct.usage, or v2's cpu.stat.
func (s *server) cpuCountOf(t testing.TB, slot int) cpuCount {
	t.Helper()
	var c cpuCount
	stat := func(dir string) map[string]int64 {
		b, err := os.ReadFile(filepath.Join(dir, "cpu.stat"))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]int64{}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) == 2 {
				m[f[0]], _ = strconv.ParseInt(f[1], 10, 64)
			}
		}
		return m
	}
	if cpu, ok := s.labCgroup("cpu", slot); ok {
		acct, ok := s.labCgroup("cpuacct", slot)
		if !ok {
			t.Fatal("the lab has a cpu group of cgroup v1 but no cpuacct group: its use is not counted")
		}
		b, err := os.ReadFile(filepath.Join(acct, "cpuacct.usage"))
		if err != nil {
			t.Fatal(err)
		}
		c.usageNS, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		m := stat(cpu)
		c.periods, c.throttled = m["nr_periods"], m["nr_throttled"]
		return c
	}
	if v2, ok := s.labCgroup("", slot); ok {
		m := stat(v2)
		c.usageNS, c.periods, c.throttled = m["usage_usec"]*1000, m["nr_periods"], m["nr_throttled"]
		return c
	}
	t.Fatalf("the lab of slot %d has no cpu group (not root?)", slot)
	return c
}

// cpuQuota is the lab's CPU time per period and the period, from its
// group's own settings.
func (s *server) cpuQuota(t testing.TB, slot int) (quotaNS, periodNS int64) {
	t.Helper()
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	if cpu, ok := s.labCgroup("cpu", slot); ok {
		q, _ := strconv.ParseInt(read(filepath.Join(cpu, "cpu.cfs_quota_us")), 10, 64)
		p, _ := strconv.ParseInt(read(filepath.Join(cpu, "cpu.cfs_period_us")), 10, 64)
		return q * 1000, p * 1000
	}
	if v2, ok := s.labCgroup("", slot); ok {
		var q, p int64
		fmt.Sscan(read(filepath.Join(v2, "cpu.max")), &q, &p)
		return q * 1000, p * 1000
	}
	t.Fatalf("the lab of slot %d has no cpu group", slot)
	return 0, 0
}

// TestACPUHogInOneLabStaysWithinItsQuota: three busy loops in alice's
// shell, on a machine of two cores, stay within her lab's quota of half a
// core by her cgroup's own accounting (CPU time used over the periods it
// ran), hit it (periods throttled), and bob walks scenes 1-3 meanwhile
// with every check passing.
func TestACPUHogInOneLabStaysWithinItsQuota(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	s := startServer(t, []key{alice, bob}, "--cpu", "0.5")
	a := s.connect(alice)
	a.waitFor("the first screen", 15*time.Second, header(1))
	b := s.connect(bob)
	b.waitFor("the first screen", 15*time.Second, header(1))
	quota, period := s.cpuQuota(t, 0)
	if quota != period/2 {
		t.Fatalf("alice's lab's quota is %d ns per %d ns period, want half a core", quota, period)
	}
	a.press("a")
	a.waitFor("scene 1", 30*time.Second, "five hosts up on one wire", "✓")
	a.shell(5, "fcc00")
	a.run("for i in 1 2 3; do (setsid sh -c 'while :; do :; done' >/dev/null 2>&1 &); done", 10*time.Second)
	before := s.cpuCountOf(t, 0)
	b.walkScenes1to3()
	// Enough periods to judge by: the count is the cgroup's, not a clock.
	after := s.cpuCountOf(t, 0)
	for deadline := time.Now().Add(60 * time.Second); after.periods-before.periods < 50; after = s.cpuCountOf(t, 0) {
		if time.Now().After(deadline) {
			dir, _ := s.labCgroup("cpu", 0)
			if dir == "" {
				dir, _ = s.labCgroup("", 0)
			}
			procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
			ps, _ := exec.Command("ps", "-eo", "pid,ppid,pgid,sid,stat,cgroup:60,args").Output()
			t.Fatalf("alice's lab ran in %d quota periods in a minute: her busy loops do not run\nprocs in %s: %q\nscreen:\n%s\nps:\n%s", after.periods-before.periods, dir, procs, a.text(), ps)
		}
		time.Sleep(100 * time.Millisecond)
	}
	used, periods, throttled := after.usageNS-before.usageNS, after.periods-before.periods, after.throttled-before.throttled
	allowed := periods * quota
	t.Logf("alice's hogs: %.2f s of CPU in %d periods of %v (quota %.2f s), throttled in %d", float64(used)/1e9, periods, time.Duration(period), float64(allowed)/1e9, throttled)
	if throttled == 0 {
		t.Errorf("alice's three busy loops were never throttled: the quota was not reached, the check below proves nothing")
	}
	// A generous margin: the kernel hands out quota in slices per CPU.
	if limit := allowed*5/4 + period; used > limit {
		t.Errorf("alice's lab used %.2f s of CPU in %d periods, above its quota of %.2f s (+25%% and a period)", float64(used)/1e9, periods, float64(allowed)/1e9)
	}
}
