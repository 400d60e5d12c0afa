package fortune

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Defaults for the zero fields of LoopOptions.
const (
	DefaultEvery   = 200 * time.Millisecond
	DefaultTimeout = 2 * time.Second
)

// LoopOptions says what Loop fetches and how often.
type LoopOptions struct {
	Addr    string        // HOST:PORT of the service
	Every   time.Duration // from the start of one attempt to the next; zero: DefaultEvery
	For     time.Duration // how long to keep going; zero: until ctx ends
	Timeout time.Duration // bound on each try; zero: DefaultTimeout
	Count   int           // stop after this many attempts; zero: no limit
	// Retries is how many more times a failed attempt tries at once, each
	// time on a new connection: through a mesh, a new connection may be
	// sent to another instance than the one that just failed.
	Retries int
}

// Attempt is one fetch made by Loop.
type Attempt struct {
	N       int       // 1 for the first attempt
	At      time.Time // when it started
	Latency time.Duration
	Fortune string // what was read, when Err is nil
	Err     error
	Tries   int // connections it took, retries included; 0 or 1: one
}

// String formats the attempt as one line, with the first line of the
// fortune only:
//
//	#12  ok     1.30ms  You love peace.
//	#13  FAIL   0.21ms  connect: connection refused
func (a Attempt) String() string {
	var tries string
	if a.Tries > 1 {
		tries = fmt.Sprintf("  [%d tries]", a.Tries)
	}
	if a.Err != nil {
		return fmt.Sprintf("#%-4d FAIL %8s  %v%s", a.N, formatLatency(a.Latency), a.Err, tries)
	}
	first, rest, _ := strings.Cut(a.Fortune, "\n")
	first = printable(first)
	if strings.TrimSpace(rest) != "" {
		first += " ..."
	}
	return fmt.Sprintf("#%-4d ok   %8s  %s%s", a.N, formatLatency(a.Latency), first, tries)
}

// TriesOf reads how many tries an attempt's line says it took (1 when it
// says none) and the line without that note.
func TriesOf(line string) (int, string) {
	i := strings.LastIndex(line, "  [")
	if i < 0 || !strings.HasSuffix(line, " tries]") {
		return 1, line
	}
	var n int
	if _, err := fmt.Sscanf(line[i+3:], "%d tries]", &n); err != nil || n < 2 {
		return 1, line
	}
	return n, line[:i]
}

// printable keeps a fortune's bytes from steering the terminal: a server
// may send anything.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// Summary counts a Loop's attempts. The latencies are those of the
// successful attempts; they are zero when none succeeded.
type Summary struct {
	OK, Failed    int
	P50, P99, Max time.Duration
}

// String formats the summary as one line:
//
//	42 ok, 0 failed, p50 1.20ms, p99 3.40ms, max 5.10ms
func (s Summary) String() string {
	line := fmt.Sprintf("%d ok, %d failed", s.OK, s.Failed)
	if s.OK > 0 {
		line += fmt.Sprintf(", p50 %s, p99 %s, max %s",
			formatLatency(s.P50), formatLatency(s.P99), formatLatency(s.Max))
	}
	return line
}

// Loop fetches a fortune from o.Addr every o.Every for o.For, or until ctx
// ends, calling onAttempt (if not nil) after each attempt, and returns the
// count. Attempts do not overlap: one slower than o.Every delays the next.
// An attempt cut short by the end of ctx is neither reported nor counted:
// the caller stopped it, not the service.
func Loop(ctx context.Context, o LoopOptions, onAttempt func(Attempt)) Summary {
	every := cmp.Or(o.Every, DefaultEvery)
	timeout := cmp.Or(o.Timeout, DefaultTimeout)
	waitCtx := ctx // ends the waits between attempts
	if o.For > 0 {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithTimeout(ctx, o.For)
		defer cancel()
	}
	tick := time.NewTicker(every)
	defer tick.Stop()

	var (
		sum Summary
		ok  []time.Duration
	)
	for n := 1; waitCtx.Err() == nil && (o.Count == 0 || n <= o.Count); n++ {
		at := time.Now()
		fortune, err := Get(ctx, o.Addr, timeout)
		tries := 1
		for ; err != nil && tries <= o.Retries && !ended(ctx); tries++ {
			fortune, err = Get(ctx, o.Addr, timeout)
		}
		a := Attempt{N: n, At: at, Latency: time.Since(at), Fortune: fortune, Err: err, Tries: tries}
		if err != nil && ended(ctx) {
			break
		}
		if err != nil {
			sum.Failed++
		} else {
			sum.OK++
			ok = append(ok, a.Latency)
		}
		if onAttempt != nil {
			onAttempt(a)
		}
		if o.Count > 0 && n == o.Count {
			break
		}
		select {
		case <-waitCtx.Done():
		case <-tick.C:
		}
	}
	slices.Sort(ok)
	sum.P50 = percentile(ok, 50)
	sum.P99 = percentile(ok, 99)
	if len(ok) > 0 {
		sum.Max = ok[len(ok)-1]
	}
	return sum
}

// ended reports whether ctx is done or past its deadline: a connection's
// deadline, copied from ctx's, can fire a moment before ctx's own timer.
func ended(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value with at least p percent of the
// values at or below it. It is zero for no values.
func percentile(sorted []time.Duration, p int) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := (p*n + 99) / 100 // ceil(p*n/100) without floats
	return sorted[min(max(rank, 1), n)-1]
}

// formatLatency writes a latency with three significant figures or so,
// in ASCII: 0.12ms, 1.30ms, 12.3ms, 2.00s.
func formatLatency(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", ms)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", ms)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// ParseSummary reads back a Summary's String: the last line of
// `zt-lab fortune get --every`, which benchmarks and scenes run on a host
// and read.
func ParseSummary(line string) (Summary, error) {
	var s Summary
	parts := strings.Split(strings.TrimSpace(line), ", ")
	if len(parts) < 2 {
		return s, fmt.Errorf("not a summary: %q", line)
	}
	if _, err := fmt.Sscanf(parts[0], "%d ok", &s.OK); err != nil {
		return s, fmt.Errorf("not a summary: %q", line)
	}
	if _, err := fmt.Sscanf(parts[1], "%d failed", &s.Failed); err != nil {
		return s, fmt.Errorf("not a summary: %q", line)
	}
	for _, p := range parts[2:] {
		name, v, ok := strings.Cut(p, " ")
		d, err := time.ParseDuration(v)
		if !ok || err != nil {
			return s, fmt.Errorf("not a summary: %q", line)
		}
		switch name {
		case "p50":
			s.P50 = d
		case "p99":
			s.P99 = d
		case "max":
			s.Max = d
		}
	}
	return s, nil
}
