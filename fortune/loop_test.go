package fortune

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

func TestPercentile(t *testing.T) {
	oneToHundred := make([]time.Duration, 100)
	for i := range oneToHundred {
		oneToHundred[i] = ms(float64(i + 1))
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      int
		want   time.Duration
	}{
		{"no values", nil, 50, 0},
		{"one value is every percentile", []time.Duration{ms(3)}, 99, ms(3)},
		{"p50 of two is the first", []time.Duration{ms(1), ms(2)}, 50, ms(1)},
		{"p99 of two is the second", []time.Duration{ms(1), ms(2)}, 99, ms(2)},
		{"p50 of 1..100", oneToHundred, 50, ms(50)},
		{"p99 of 1..100", oneToHundred, 99, ms(99)},
		{"p100 of 1..100", oneToHundred, 100, ms(100)},
		{"p1 of 1..100", oneToHundred, 1, ms(1)},
		{"p50 of an odd count is the middle", []time.Duration{ms(1), ms(2), ms(9)}, 50, ms(2)},
		{"p99 of ten is the slowest", oneToHundred[:10], 99, ms(10)},
		{"p90 of ten is the ninth", oneToHundred[:10], 90, ms(9)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(p%d) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestSummaryString(t *testing.T) {
	tests := []struct {
		s    Summary
		want string
	}{
		{Summary{OK: 42, P50: ms(1.2), P99: ms(3.4), Max: ms(5.1)}, "42 ok, 0 failed, p50 1.20ms, p99 3.40ms, max 5.10ms"},
		{Summary{OK: 1, Failed: 2, P50: ms(0.123), P99: ms(12.34), Max: 2 * time.Second}, "1 ok, 2 failed, p50 0.12ms, p99 12.3ms, max 2.00s"},
		{Summary{Failed: 5}, "0 ok, 5 failed"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("Summary.String() = %q, want %q", got, tt.want)
		}
	}
}

func TestAttemptString(t *testing.T) {
	tests := []struct {
		a    Attempt
		want string
	}{
		{Attempt{N: 12, Latency: ms(1.3), Fortune: peace}, "#12   ok     1.30ms  You love peace."},
		{Attempt{N: 13, Latency: ms(0.2), Err: errors.New("connect: connection refused")}, "#13   FAIL   0.20ms  connect: connection refused"},
		{Attempt{N: 1, Latency: ms(2), Fortune: deepC}, "#1    ok     2.00ms  Q: What do you call a principal female opera singer whose high C ..."},
		{Attempt{N: 2, Latency: ms(2), Fortune: "\x1b[2Jgotcha\n"}, "#2    ok     2.00ms   [2Jgotcha"},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("Attempt.String() =\n%q, want\n%q", got, tt.want)
		}
	}
}

func TestConsumerLoopCountsEveryFortune(t *testing.T) {
	addr, _ := serve(t, &Server{Source: NewDeck(seedFortunes, 1)})
	var attempts []Attempt
	sum := Loop(context.Background(), LoopOptions{Addr: addr, Every: 20 * time.Millisecond, For: 200 * time.Millisecond},
		func(a Attempt) { attempts = append(attempts, a) })

	// About For/Every attempts; a loaded machine may make fewer.
	if sum.OK < 3 || sum.OK > 11 || sum.Failed != 0 {
		t.Errorf("summary %v, want about 10 ok and none failed", sum)
	}
	if len(attempts) != sum.OK+sum.Failed {
		t.Errorf("%d attempts reported, summary counts %d", len(attempts), sum.OK+sum.Failed)
	}
	for i, a := range attempts {
		if a.N != i+1 || a.Err != nil || a.Fortune == "" || a.Latency <= 0 {
			t.Errorf("attempt %d: %+v, want number %d with a fortune", i, a, i+1)
		}
		// A slow attempt may let the next start sooner, never ahead of the beat.
		if since := a.At.Sub(attempts[0].At); since < time.Duration(i)*20*time.Millisecond-time.Millisecond {
			t.Errorf("attempt %d started %v after the first, want at least %v", a.N, since, time.Duration(i)*20*time.Millisecond)
		}
	}
	if !(0 < sum.P50 && sum.P50 <= sum.P99 && sum.P99 <= sum.Max) {
		t.Errorf("summary %+v, want 0 < p50 <= p99 <= max", sum)
	}
}

func TestConsumerKeepsCountingWhileTheServiceIsDown(t *testing.T) {
	// Three fortunes, the service goes down for three attempts, comes back
	// on the same address for three more: the resilience scenes' story.
	srv := &Server{Source: NewDeck(seedFortunes, 1)}
	addr, stop := serve(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var failed []int
	sum := Loop(ctx, LoopOptions{Addr: addr, Every: 5 * time.Millisecond, Timeout: time.Second}, func(a Attempt) {
		if a.Err != nil {
			failed = append(failed, a.N)
		}
		switch a.N {
		case 3:
			stop()
		case 6:
			_, stop = serveOn(t, addr, srv)
		case 9:
			cancel()
		}
	})
	if sum.OK != 6 || sum.Failed != 3 {
		t.Errorf("summary %v, want 6 ok and 3 failed", sum)
	}
	if len(failed) != 3 || failed[0] != 4 || failed[2] != 6 {
		t.Errorf("attempts %v failed, want 4, 5 and 6", failed)
	}
}

func TestConsumerLoopAgainstNothing(t *testing.T) {
	var last Attempt
	sum := Loop(context.Background(), LoopOptions{Addr: freeAddr(t), Every: 10 * time.Millisecond, For: 50 * time.Millisecond},
		func(a Attempt) { last = a })
	if sum.OK != 0 || sum.Failed < 2 {
		t.Errorf("summary %v, want only failures", sum)
	}
	if sum.P50 != 0 || sum.P99 != 0 || sum.Max != 0 {
		t.Errorf("summary %+v has latencies without a success", sum)
	}
	if last.Err == nil || last.Err.Error() != "connect: connection refused" {
		t.Errorf("last attempt error = %v, want connect: connection refused", last.Err)
	}
}

func TestAnAttemptCutShortByTheCallerIsNotCounted(t *testing.T) {
	// The service holds every connection; the caller ends the loop while
	// the first attempt waits, before its timeout.
	addr := rawServer(t, func(c net.Conn) { c.Read(make([]byte, 1)) })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	calls := 0
	start := time.Now()
	sum := Loop(ctx, LoopOptions{Addr: addr, Timeout: 5 * time.Second}, func(Attempt) { calls++ })
	if sum.OK != 0 || sum.Failed != 0 || calls != 0 {
		t.Errorf("summary %v after %d reported attempts, want nothing counted", sum, calls)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Loop took %v to end with its context", d)
	}
}

func TestSummaryReadsBackWhatItPrints(t *testing.T) {
	for _, s := range []Summary{
		{OK: 42, Failed: 0, P50: 1200 * time.Microsecond, P99: 3400 * time.Microsecond, Max: 5100 * time.Microsecond},
		{OK: 0, Failed: 7},
		{OK: 3, Failed: 1, P50: 25 * time.Millisecond, P99: 1500 * time.Millisecond, Max: 2 * time.Second},
	} {
		got, err := ParseSummary(s.String())
		if err != nil || got != s {
			t.Errorf("ParseSummary(%q) = %+v, %v; want %+v", s.String(), got, err, s)
		}
	}
	for _, bad := range []string{"", "hello", "3 ok", "3 ok, x failed", "1 ok, 0 failed, p50 fast"} {
		if _, err := ParseSummary(bad); err == nil {
			t.Errorf("ParseSummary(%q) accepted", bad)
		}
	}
}

func TestLoopStopsAfterCount(t *testing.T) {
	addr, stop := serve(t, &Server{Source: NewDeck([]string{"You love peace.\n"}, 1)})
	defer stop()
	sum := Loop(context.Background(), LoopOptions{Addr: addr, Every: time.Microsecond, Count: 25}, nil)
	if sum.OK+sum.Failed != 25 || sum.OK != 25 {
		t.Errorf("Loop with Count 25: %s", sum)
	}
}

func TestAttemptTries(t *testing.T) {
	for _, tt := range []struct {
		a     Attempt
		line  string
		tries int
	}{
		{Attempt{N: 3, Latency: 1300 * time.Microsecond, Fortune: "You love peace.", Tries: 2}, "#3    ok     1.30ms  You love peace.  [2 tries]", 2},
		{Attempt{N: 4, Latency: 900 * time.Millisecond, Err: errors.New("empty reply"), Tries: 3}, "#4    FAIL  900.0ms  empty reply  [3 tries]", 3},
		{Attempt{N: 5, Latency: 1300 * time.Microsecond, Fortune: "One try.", Tries: 1}, "#5    ok     1.30ms  One try.", 1},
	} {
		got := tt.a.String()
		if got != tt.line {
			t.Errorf("Attempt.String() = %q, want %q", got, tt.line)
		}
		n, rest := TriesOf(got)
		if n != tt.tries || strings.Contains(rest, "tries]") {
			t.Errorf("TriesOf(%q) = %d, %q; want %d tries and the line without them", got, n, rest, tt.tries)
		}
	}
	if n, rest := TriesOf("#6    ok     1.30ms  A fortune about [7 tries]"); n != 1 || rest == "" {
		t.Errorf("a fortune's own words read as %d tries (%q)", n, rest)
	}
}

func TestLoopRetriesOnANewConnection(t *testing.T) {
	// The first connection of each attempt is closed without a byte, the
	// second served: every attempt succeeds on its second try.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if i%2 == 1 {
				c.Write([]byte("second time lucky\n"))
			}
			c.Close()
		}
	}()
	var lines []Attempt
	sum := Loop(context.Background(), LoopOptions{Addr: ln.Addr().String(), Every: time.Millisecond, Count: 3, Retries: 1}, func(a Attempt) { lines = append(lines, a) })
	if sum.OK != 3 || sum.Failed != 0 {
		t.Errorf("summary %s, want 3 ok after a retry each", sum)
	}
	for _, a := range lines {
		if a.Tries != 2 || a.Err != nil {
			t.Errorf("attempt %d: %d tries, %v", a.N, a.Tries, a.Err)
		}
	}
	lines = nil
	sum = Loop(context.Background(), LoopOptions{Addr: ln.Addr().String(), Every: time.Millisecond, Count: 2}, func(a Attempt) { lines = append(lines, a) })
	if sum.Failed == 0 {
		t.Errorf("without retries every other attempt fails: %s", sum)
	}
}
