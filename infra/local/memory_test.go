//go:build linux

package local

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestStatCPUReadsUserAndSystemTime(t *testing.T) {
	for _, tc := range []struct {
		name, stat string
		want       time.Duration
		ok         bool
	}{
		{"consul", "42 (consul) S 1 42 42 0 -1 4194560 1234 0 0 0 250 130 0 0 20 0 9 0 100 123456 789 18446744073709551615", 3800 * time.Millisecond, true},
		{"a name with spaces and a parenthesis", "7 (a b) c) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 5 6 7", 70 * time.Millisecond, true},
		{"cut short", "7 (x) R 1 7 7 0 -1 0 0 0 0 0", 0, false},
		{"no name", "garbage", 0, false},
		{"not a number", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 x 4 0", 0, false},
	} {
		got, ok := statCPU(tc.stat)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: statCPU = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestLabMemoryCountsThisProcessByItsCommandLine(t *testing.T) {
	m, err := LabMemory()
	if err != nil {
		t.Fatal(err)
	}
	var sum uint64
	found := false
	for _, p := range m.Each {
		sum += p.PSS
		if p.PID == os.Getpid() {
			found = true
			if p.Cmd != strings.Join(os.Args, " ") {
				t.Errorf("this process's command %q, want %q", p.Cmd, strings.Join(os.Args, " "))
			}
			if p.PSS == 0 || p.RSS < p.PSS {
				t.Errorf("this process: PSS %d, RSS %d; want 0 < PSS <= RSS", p.PSS, p.RSS)
			}
		}
	}
	if !found {
		t.Errorf("this process (pid %d) is not among the %d counted", os.Getpid(), len(m.Each))
	}
	if sum != m.PSS || len(m.Each) != m.Procs {
		t.Errorf("the processes' PSS add up to %d in %d processes, the total says %d in %d", sum, len(m.Each), m.PSS, m.Procs)
	}
}
