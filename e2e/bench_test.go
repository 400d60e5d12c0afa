package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestBenchRunsOnce proves `zt-lab bench` works end to end, as CI does with
// --runs 1. It asserts that every figure was measured, not how fast: speed
// targets live in the bench's own table, never in a timed test.
func TestBenchRunsOnce(t *testing.T) {
	u := newUser(t)
	out := filepath.Join(filepath.Dir(u.dir), filepath.Base(u.dir)+"-bench.json")
	t.Cleanup(func() { os.Remove(out) })
	r, err := u.runLong(600, "bench", "--runs", "1", "--json", out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("zt-lab bench --runs 1:\n%s", r.stdout)
	if r.code != 0 {
		t.Fatalf("zt-lab bench: exit %d\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Figures []struct {
			Name   string    `json:"name"`
			Values []float64 `json:"values"`
		} `json:"figures"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range rep.Figures {
		if len(f.Values) != 1 {
			t.Errorf("%s: %d values, want 1", f.Name, len(f.Values))
		}
		got[f.Name] = true
	}
	for _, want := range []string{
		"lab up (5 hosts)", "lab down", "full headless walkthrough",
		"fetch p50, plaintext (new connection)", "fetch p50, through the mesh (new connection)",
		"mesh ready (servers elected, clients joined, sidecars healthy)",
		"crash: out of the healthy set", "partition: out of the healthy set", "freeze: out of the healthy set",
		"leader crash: new leader", "leader crash at 10 fetches/s: fetches failed", "crash at 10 fetches/s over 30 s (retrying consumer): fetches failed",
		"sniffer, live: frames/s while 1,000 fortunes are fetched",
		"sniffer, in memory: decode + reassemble + classify",
		"whole lab with the mesh up, PSS", "whole lab with the mesh up, RSS",
	} {
		if !got[want] {
			t.Errorf("the bench did not measure %q", want)
		}
	}
}
