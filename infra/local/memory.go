//go:build linux

package local

import (
	"bufio"
	"os"
	"path/filepath"
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
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		rss, pss, ok := smapsRollup(filepath.Join("/proc", e.Name(), "smaps_rollup"))
		if !ok {
			continue
		}
		m.Procs++
		m.RSS += rss
		m.PSS += pss
	}
	return m, nil
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
