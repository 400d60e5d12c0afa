package serve

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// sceneDone reports whether the scene list marks scene k (from 1) passed
// or failed.
func sceneDone(screen string, k int) (done, passed bool) {
	want := fmt.Sprintf("%2d %s", k, walkthrough[k-1].Title)
	for _, line := range strings.Split(screen, "\n") {
		before, _, ok := strings.Cut(line, want)
		if !ok {
			continue
		}
		if strings.Contains(before, "✓") {
			return true, true
		}
		if strings.Contains(before, "✗") {
			return true, false
		}
	}
	return false, false
}

// walk runs scenes 1..n with a, then n, as fast as the lab allows, and
// returns how long it took; a failed scene is an error.
func (m *terminal) walk(n int, timeout time.Duration) (time.Duration, error) {
	m.waitFor("the first screen", 15*time.Second, header(1))
	start := time.Now()
	for k := 1; k <= n; k++ {
		m.press("a")
		deadline := time.Now().Add(timeout)
		for {
			done, passed := sceneDone(m.text(), k)
			if done && !passed {
				return 0, fmt.Errorf("%s: scene %d failed:\n%s", m.name, k, m.text())
			}
			if done {
				break
			}
			if time.Now().After(deadline) {
				return 0, fmt.Errorf("%s: scene %d did not finish in %v:\n%s", m.name, k, timeout, m.text())
			}
			time.Sleep(50 * time.Millisecond)
		}
		if k < n {
			m.press("n")
		}
	}
	return time.Since(start), nil
}

// pssMB sums the PSS of every process of uid, in MB.
func pssMB(uid int) float64 {
	var kb int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil || !strings.Contains(string(st), fmt.Sprintf("\nUid:\t%d\t", uid)) {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/smaps_rollup")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
				n, _ := strconv.Atoi(f[1])
				kb += n
			}
		}
	}
	return float64(kb) / 1024
}

// labPlanMB is what the benchmark plans one lab at (a lab measured
// 223-291 MB PSS; its RSS is larger), for whether 8 fit.
const labPlanMB = 600

// memAvailableMB is the machine's MemAvailable.
func memAvailableMB() float64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemAvailable:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkTheRoom measures, once per run (-benchtime 1x), the time from
// ssh to the first screen, the walk from the first scene to Validating
// encryption's ENCRYPTED verdict of one attendee alone and of 2, 4 and 8
// at once (8 when MemAvailable holds them), every check passing (a failed
// scene fails the benchmark), and one lab's PSS with the mesh up. Run it
// under the lab lock:
//
//	flock /tmp/ztlab-lab.lock go test ./e2e/serve -run - -bench TheRoom -benchtime 1x
func BenchmarkTheRoom(b *testing.B) {
	// Up to the ENCRYPTED verdict: the mesh up and the wire validated.
	scenes := sceneNumber("Validating encryption")
	var alone time.Duration
	b.Run("1-attendee", func(b *testing.B) {
		k := newKey(b, "alice")
		s := startServer(b, []key{k})
		m := s.connect(k)
		m.waitFor("the first screen", 15*time.Second, header(1))
		b.ReportMetric(float64(m.first.Milliseconds()), "ms-to-first-screen")
		took, err := m.walk(scenes, 90*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		alone = took
		b.ReportMetric(took.Seconds(), "s-to-encrypted")
		b.ReportMetric(pssMB(uidBase), "MB-lab-PSS")
	})
	for _, n := range []int{2, 4, 8} {
		b.Run(fmt.Sprintf("%d-attendees", n), func(b *testing.B) {
			if avail := memAvailableMB(); avail < float64(n)*labPlanMB {
				b.Skipf("%d labs need about %.0f MB; MemAvailable is %.0f MB", n, float64(n)*labPlanMB, avail)
			}
			var keys []key
			for i := range n {
				keys = append(keys, newKey(b, fmt.Sprintf("attendee%d", i)))
			}
			s := startServer(b, keys)
			var terms []*terminal
			for _, k := range keys {
				terms = append(terms, s.connect(k))
			}
			var wg sync.WaitGroup
			took := make([]time.Duration, n)
			errs := make([]error, n)
			for i, m := range terms {
				wg.Go(func() { took[i], errs[i] = m.walk(scenes, time.Duration(max(300, 60*n))*time.Second) })
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					b.Fatal(err)
				}
			}
			slowest := slices.Max(took)
			var sum time.Duration
			for _, d := range took {
				sum += d
			}
			b.ReportMetric(slowest.Seconds(), "s-to-encrypted-slowest")
			if alone > 0 {
				b.ReportMetric(slowest.Seconds()/alone.Seconds(), "x-vs-alone")
				b.ReportMetric(sum.Seconds()/float64(n)/alone.Seconds(), "x-vs-alone-mean")
			}
			var pss float64
			for i := range n {
				pss += pssMB(uidBase + i)
			}
			b.ReportMetric(pss/float64(n), "MB-PSS-per-lab")
		})
	}
}
