package fortune

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ztlab/zt-lab/assets"
)

func deal(t *testing.T, s Source, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		f, err := s.Next(context.Background())
		if err != nil {
			t.Fatalf("fortune %d: %v", i+1, err)
		}
		out[i] = f
	}
	return out
}

func TestSameSeedSameFortunes(t *testing.T) {
	all := assets.Fortunes()
	for _, seed := range []int64{1, 42, -7, 1 << 40} {
		a := deal(t, NewDeck(all, seed), 3*len(all))
		b := deal(t, NewDeck(all, seed), 3*len(all))
		if !slices.Equal(a, b) {
			t.Errorf("seed %d: two decks dealt different sequences", seed)
		}
	}
}

func TestDifferentSeedsDifferentFortunes(t *testing.T) {
	all := assets.Fortunes()
	a := deal(t, NewDeck(all, 1), 10)
	b := deal(t, NewDeck(all, 2), 10)
	if slices.Equal(a, b) {
		t.Errorf("seeds 1 and 2 dealt the same first 10 fortunes: %q", a)
	}
}

func TestSeedZeroPicksASeedThatReplays(t *testing.T) {
	d := NewDeck(seedFortunes, 0)
	if d.Seed() == 0 {
		t.Fatal("Seed() = 0 after NewDeck(_, 0), want the seed it picked")
	}
	again := NewDeck(seedFortunes, d.Seed())
	if a, b := deal(t, d, 12), deal(t, again, 12); !slices.Equal(a, b) {
		t.Errorf("NewDeck(_, %d) did not replay the random deck:\n%q\n%q", d.Seed(), a, b)
	}
}

func TestDeckDealsEveryFortuneBeforeRepeating(t *testing.T) {
	for _, fortunes := range [][]string{seedFortunes, assets.Fortunes(), {peace}, {peace, deepC}} {
		d := NewDeck(fortunes, 99)
		n := len(fortunes)
		prev := ""
		for round := range 5 {
			got := deal(t, d, n)
			if !sameSet(got, fortunes) {
				t.Fatalf("round %d of %d fortunes: dealt %q, want each once", round, n, got)
			}
			if n > 1 && got[0] == prev {
				t.Errorf("round %d of %d fortunes: %q twice in a row across the reshuffle", round, n, prev)
			}
			prev = got[n-1]
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestEmptyDeckIsAnError(t *testing.T) {
	if f, err := NewDeck(nil, 1).Next(context.Background()); err == nil {
		t.Errorf("empty deck dealt %q, want an error", f)
	}
}

func TestDeckDealsOnceToConcurrentConsumers(t *testing.T) {
	all := assets.Fortunes()
	d := NewDeck(all, 5)
	var (
		mu  sync.Mutex
		got []string
		wg  sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for range len(all) / 8 {
				f, _ := d.Next(context.Background())
				mu.Lock()
				got = append(got, f)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(slices.Compact(slices.Sorted(slices.Values(got)))) != len(got) {
		t.Errorf("%d concurrent deals held a repeat within one round", len(got))
	}
}

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fortune")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExecSource(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh to write a stand-in fortune program with")
	}
	tests := []struct {
		name    string
		body    string
		want    string
		wantErr string // a part of the error, "" for none
	}{
		{"what the program prints is the fortune", "printf 'You love peace.\\n'\n", peace, ""},
		{"a multi-line fortune comes whole", "printf 'Q: high C?\\n\\tA: A deep C diva.\\n'\n", "Q: high C?\n\tA: A deep C diva.\n", ""},
		{"a failing program is an error with its message", "echo 'fortune: no fortunes found' >&2\nexit 1\n", "", "no fortunes found"},
		{"a program that prints nothing is an error", "exit 0\n", "", "printed nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExecSource(script(t, tt.body)).Next(context.Background())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Next: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Next error = %v, want one containing %q", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Next = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("a missing program is an error", func(t *testing.T) {
		if _, err := ExecSource("/nonexistent/fortune").Next(context.Background()); err == nil {
			t.Error("Next on a missing program succeeded")
		}
	})
}
