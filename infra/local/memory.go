//go:build linux

package local

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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
		m.Each = append(m.Each, ProcMemory{PID: pid, Cmd: cmdline(pid), RSS: rss, PSS: pss})
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
