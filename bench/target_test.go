package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestTargetsSayWhetherAMedianMeetsThem(t *testing.T) {
	for _, tc := range []struct {
		target *Target
		v      float64
		met    bool
		text   string
	}{
		{atMost(30).aiming(20), 29.9, true, "≤ 30 (20)"},
		{atMost(30).aiming(20), 30, true, "≤ 30 (20)"},
		{atMost(30).aiming(20), 38.1, false, "≤ 30 (20)"},
		{atMost(0), 0, true, "≤ 0"},
		{atMost(0), 1, false, "≤ 0"},
		{atLeast(1_000_000), 812162, false, "≥ 1,000,000"},
		{atLeast(1_000_000), 1_000_000, true, "≥ 1,000,000"},
		{atMost(5).aiming(0.5), 0.5, true, "≤ 5 (0.5)"},
	} {
		if got := tc.target.Met(tc.v); got != tc.met {
			t.Errorf("%s met by %v = %v, want %v", tc.target, tc.v, got, tc.met)
		}
		if got := tc.target.String(); got != tc.text {
			t.Errorf("target prints %q, want %q", got, tc.text)
		}
	}
	if s := (*Target)(nil).String(); s != "" {
		t.Errorf("no target prints %q", s)
	}
}

// A script reads the verdict and the numbers from --json, not the table.
func TestTheJSONHasNumbersTargetsAndVerdicts(t *testing.T) {
	r := &Report{Runs: 3}
	for _, v := range []float64{38, 33, 47} {
		r.add("full headless walkthrough", "s", atMost(30).aiming(20), v)
	}
	r.add("lab up (5 hosts)", "ms", atMost(300), 9.3)
	r.add("fetch p50, plaintext (new connection)", "ms", nil, 0.18)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Figures []struct {
			Name   string    `json:"name"`
			Median float64   `json:"median"`
			Min    float64   `json:"min"`
			Max    float64   `json:"max"`
			Values []float64 `json:"values"`
			Met    *bool     `json:"met"`
			Target *struct {
				Op    string   `json:"op"`
				Value float64  `json:"value"`
				Aim   *float64 `json:"aim"`
			} `json:"target"`
		} `json:"figures"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	walk, up, p50 := got.Figures[0], got.Figures[1], got.Figures[2]
	switch {
	case walk.Median != 38 || walk.Min != 33 || walk.Max != 47 || len(walk.Values) != 3:
		t.Errorf("walkthrough summary %+v", walk)
	case walk.Target == nil || walk.Target.Op != "<=" || walk.Target.Value != 30 || walk.Target.Aim == nil || *walk.Target.Aim != 20:
		t.Errorf("walkthrough target %+v", walk.Target)
	case walk.Met == nil || *walk.Met:
		t.Errorf("a 38 s median meets ≤ 30: %v", walk.Met)
	case up.Met == nil || !*up.Met:
		t.Errorf("a 9.3 ms lab up fails ≤ 300: %v", up.Met)
	case p50.Target != nil || p50.Met != nil:
		t.Errorf("a figure with no target has a verdict: %+v", p50)
	}
}

func TestTheTableHasAVerdictColumn(t *testing.T) {
	r := &Report{Runs: 1}
	r.add("full headless walkthrough", "s", atMost(30).aiming(20), 38.1)
	r.add("lab up (5 hosts)", "ms", atMost(300), 9.3)
	r.add("fetch p50, plaintext (new connection)", "ms", nil, 0.18)
	var buf bytes.Buffer
	WriteTable(&buf, r)
	lines := strings.Split(buf.String(), "\n")
	for i, want := range [][]string{
		{"FIGURE", "TARGET", "MEDIAN MEETS IT"},
		{"full headless walkthrough", "38.1", "≤ 30 (20)", "FAIL"},
		{"lab up (5 hosts)", "9.30", "≤ 300", "pass"},
		{"fetch p50, plaintext", "0.18", "-"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d lacks %q: %q", i, w, lines[i])
			}
		}
	}
}
