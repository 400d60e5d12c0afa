//go:build linux

package serve

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/time/rate"
)

// RateLimiter allows each address a burst of new connections, refilled at
// a steady rate: a token bucket per address.
type RateLimiter struct {
	mu      sync.Mutex
	limit   rate.Limit
	burst   int
	buckets map[string]*rate.Limiter
}

// NewRateLimiter allows burst connections at once and one more per every
// (none more when every is 0).
func NewRateLimiter(burst int, every time.Duration) *RateLimiter {
	limit := rate.Limit(0)
	if every > 0 {
		limit = rate.Every(every)
	}
	return &RateLimiter{limit: limit, burst: max(1, burst), buckets: map[string]*rate.Limiter{}}
}

// Allow takes a token for addr at now, or says no.
func (l *RateLimiter) Allow(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[addr]
	if !ok {
		if len(l.buckets) > 10000 {
			l.forgetFull(now)
		}
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[addr] = b
	}
	return b.AllowN(now, 1)
}

// forgetFull drops the buckets that have refilled: they say nothing.
func (l *RateLimiter) forgetFull(now time.Time) {
	for a, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, a)
		}
	}
}

// Limits are what one attendee's lab may use.
type Limits struct {
	Procs  int     // tasks (processes and threads) of the attendee's uid
	Memory int64   // bytes
	CPU    float64 // cores
}

// Cgroups places labs in cgroups under the server's own: cgroup v2 where
// it is delegated to the server, else v1's memory, pids and cpu
// controllers as root (and cpuacct, which counts a lab's CPU time), else
// none (Describe says so).
type Cgroups struct {
	v2    string            // the server's group's directory in the v2 tree
	v1    map[string]string // controller → the server's group's directory
	limit Limits
}

const cgroupRoot = "/sys/fs/cgroup"

// NewCgroups makes the server's group (named name) under its own groups.
func NewCgroups(name string, limit Limits) (*Cgroups, error) {
	c := &Cgroups{limit: limit, v1: map[string]string{}}
	own, err := ownCgroups()
	if err != nil {
		return c, err
	}
	if p, ok := own[""]; ok {
		dir := filepath.Join(cgroupRoot, p)
		if st, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil && !st.IsDir() {
			// unified hierarchy mounted at the root
		} else {
			dir = filepath.Join(cgroupRoot, "unified", p)
		}
		if ctl, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control")); err == nil {
			have := strings.Fields(string(ctl))
			if contains(have, "memory") && contains(have, "pids") && unix.Access(dir, unix.W_OK) == nil {
				d := filepath.Join(dir, name)
				if err := os.Mkdir(d, 0o755); err == nil {
					// Children of ours need the controllers too.
					_ = os.WriteFile(filepath.Join(d, "cgroup.subtree_control"), []byte("+memory +pids +cpu"), 0)
					c.v2 = d
					return c, nil
				}
			}
		}
	}
	// cpuacct limits nothing: it is the lab's CPU use, counted, next to
	// cpu's quota (v1 keeps the count in a controller of its own).
	for _, ctl := range []string{"memory", "pids", "cpu", "cpuacct"} {
		p, ok := own[ctl]
		if !ok {
			continue
		}
		base := filepath.Join(cgroupRoot, ctl, p)
		if unix.Access(base, unix.W_OK) != nil {
			continue
		}
		d := filepath.Join(base, name)
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			continue
		}
		c.v1[ctl] = d
	}
	return c, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s || strings.HasPrefix(x, s+",") {
			return true
		}
	}
	return false
}

// ownCgroups reads /proc/self/cgroup: controller → path ("" for v2).
func ownCgroups() (map[string]string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, ctl := range strings.Split(parts[1], ",") {
			out[ctl] = parts[2]
		}
	}
	return out, sc.Err()
}

// Describe says in one line what is limited and how, and what is not.
func (c *Cgroups) Describe() string {
	l := c.limit
	var on, off []string
	procs := fmt.Sprintf("processes %d (RLIMIT_NPROC", l.Procs)
	switch {
	case c.v2 != "":
		on = append(on, procs+", cgroup v2 pids)", fmt.Sprintf("memory %d MB (cgroup v2)", l.Memory>>20), fmt.Sprintf("cpu %.1f cores (cgroup v2)", l.CPU))
		return "per attendee: " + strings.Join(on, ", ")
	case c.v1["pids"] != "":
		on = append(on, procs+", cgroup v1 pids)")
	default:
		on = append(on, procs+")")
	}
	if c.v1["memory"] != "" {
		on = append(on, fmt.Sprintf("memory %d MB (cgroup v1)", l.Memory>>20))
	} else {
		off = append(off, "memory")
	}
	if c.v1["cpu"] != "" {
		on = append(on, fmt.Sprintf("cpu %.1f cores (cgroup v1)", l.CPU))
	} else {
		off = append(off, "cpu")
	}
	s := "per attendee: " + strings.Join(on, ", ")
	if len(off) > 0 {
		s += "; NOT limited (no cgroup the server may write): " + strings.Join(off, ", ")
	}
	return s
}

// notLimitedWithoutRoot is the line a server that is not root starts
// with: what it cannot limit or keep apart, and why.
func notLimitedWithoutRoot(uid int) string {
	return fmt.Sprintf("per attendee: NOT limited (not root): processes, memory, cpu; and every lab runs as the server's own uid %d, not a uid of its own: run as root for both", uid)
}

// cgroupFile is one limit written into a group.
type cgroupFile struct{ dir, file, value string }

// Place makes group name for one lab, sets its limits and moves pid in.
// The returned func removes the group once its processes are gone.
func (c *Cgroups) Place(name string, pid int) (func(), error) {
	l := c.limit
	period := 100000
	quota := strconv.Itoa(int(l.CPU * float64(period)))
	var dirs []string
	var files []cgroupFile
	if c.v2 != "" {
		d := filepath.Join(c.v2, name)
		dirs = append(dirs, d)
		files = append(files,
			cgroupFile{d, "memory.max", strconv.FormatInt(l.Memory, 10)},
			cgroupFile{d, "memory.swap.max", "0"},
			cgroupFile{d, "pids.max", strconv.Itoa(l.Procs)},
			cgroupFile{d, "cpu.max", quota + " " + strconv.Itoa(period)})
	} else {
		for ctl, base := range c.v1 {
			d := filepath.Join(base, name)
			dirs = append(dirs, d)
			switch ctl {
			case "memory":
				files = append(files, cgroupFile{d, "memory.limit_in_bytes", strconv.FormatInt(l.Memory, 10)})
			case "pids":
				files = append(files, cgroupFile{d, "pids.max", strconv.Itoa(l.Procs)})
			case "cpu":
				files = append(files, cgroupFile{d, "cpu.cfs_period_us", strconv.Itoa(period)}, cgroupFile{d, "cpu.cfs_quota_us", quota})
			}
		}
	}
	remove := func() {
		for _, d := range dirs {
			_ = os.Remove(d)
		}
	}
	for _, d := range dirs {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			remove()
			return func() {}, fmt.Errorf("cgroup %s: %w", d, err)
		}
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(f.dir, f.file), []byte(f.value), 0); err != nil && f.file != "memory.swap.max" {
			remove()
			return func() {}, fmt.Errorf("cgroup %s/%s: %w", f.dir, f.file, err)
		}
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			remove()
			return func() {}, fmt.Errorf("cgroup %s: add %d: %w", d, pid, err)
		}
	}
	return remove, nil
}

// dirs are the server's groups.
func (c *Cgroups) dirs() []string {
	var out []string
	if c.v2 != "" {
		out = append(out, c.v2)
	}
	for _, d := range c.v1 {
		out = append(out, d)
	}
	return out
}

// Close removes the server's groups (each lab's must be gone).
func (c *Cgroups) Close() {
	if c.v2 != "" {
		_ = os.Remove(c.v2)
	}
	for _, d := range c.v1 {
		_ = os.Remove(d)
	}
}

// limitProcsOfLabs sets RLIMIT_NPROC, soft and hard, on the server
// itself, for every lab to inherit: the limit counts every task of a
// lab's uid, through the user namespaces below it, so a fork bomb in a
// lab's shell stops at it. Root, the server, is exempt from it; and a
// server without CAP_SYS_RESOURCE (a container) could not set it on a
// child of another uid, which is why it is set here and inherited.
func limitProcsOfLabs(n int) error {
	lim := unix.Rlimit{Cur: uint64(n), Max: uint64(n)}
	return unix.Setrlimit(unix.RLIMIT_NPROC, &lim)
}
