//go:build linux

package local

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// LabMemory sums the memory of every process in the sandbox, zt-lab
// itself included. Inside the sandbox /proc is the lab's own PID
// namespace, so it lists the lab's processes and nothing else.
func LabMemory() (Memory, error) {
	var m Memory
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return m, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		rss, pss, ok := smapsRollup(filepath.Join("/proc", e.Name(), "smaps_rollup"))
		if !ok {
			continue
		}
		m.Procs++
		m.RSS += rss
		m.PSS += pss
		m.Each = append(m.Each, ProcMemory{PID: pid, Cmd: cmdline(pid), RSS: rss, PSS: pss, CPU: cpuTime(pid)})
	}
	slices.SortFunc(m.Each, func(a, b ProcMemory) int { return a.PID - b.PID })
	return m, nil
}

// cmdline is a process's argv joined by spaces, or "" once it has gone.
func cmdline(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

func smapsRollup(path string) (rss, pss uint64, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, found := strings.Cut(sc.Text(), ":")
		if !found {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "Rss":
			rss = kb << 10
			ok = true
		case "Pss":
			pss = kb << 10
		}
	}
	return rss, pss, ok
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture the lab runs on.
const clockTicks = 100

// cpuTime is the user and system time a process has used, from
// /proc/PID/stat, or 0 once it has gone.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	d, _ := statCPU(string(b))
	return d
}

// statCPU reads utime and stime, fields 14 and 15, from a /proc/PID/stat
// line. The command name before them, in parentheses, may hold spaces and
// parentheses: the fields are counted after its last closing one.
func statCPU(stat string) (time.Duration, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * time.Second / clockTicks, true
}
