//go:build linux

package serve

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestTheRateLimiterAllowsABurstThenASteadyRate(t *testing.T) {
	l := NewRateLimiter(3, time.Second)
	t0 := time.Unix(1000, 0)
	steps := []struct {
		addr string
		at   time.Duration
		want bool
	}{
		{"10.0.0.1", 0, true},
		{"10.0.0.1", 0, true},
		{"10.0.0.1", 0, true},
		{"10.0.0.1", 0, false},                      // the burst is spent
		{"10.0.0.2", 0, true},                       // another address has its own
		{"10.0.0.1", 500 * time.Millisecond, false}, // half a token
		{"10.0.0.1", time.Second, true},             // one token back
		{"10.0.0.1", time.Second, false},
		{"10.0.0.1", time.Hour, true}, // refilled, but never above the burst
		{"10.0.0.1", time.Hour, true},
		{"10.0.0.1", time.Hour, true},
		{"10.0.0.1", time.Hour, false},
	}
	for i, s := range steps {
		if got := l.Allow(s.addr, t0.Add(s.at)); got != s.want {
			t.Errorf("step %d (%s at %v): got %v, want %v", i, s.addr, s.at, got, s.want)
		}
	}
}

// TestTheREADMESaysWhatANonRootServerSays: the README quotes the line a
// server that is not root starts with, word for word.
func TestTheREADMESaysWhatANonRootServerSays(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	line := notLimitedWithoutRoot(1000)
	for _, want := range []string{"processes", "memory", "cpu", "uid 1000"} {
		if !strings.Contains(line, want) {
			t.Errorf("the line does not name %q: %s", want, line)
		}
	}
	if !strings.Contains(strings.Join(strings.Fields(string(b)), " "), line) {
		t.Errorf("README.md does not quote the line a server without root prints:\n%s", line)
	}
}
