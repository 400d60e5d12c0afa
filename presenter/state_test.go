package presenter

import (
	"testing"
	"time"
)

func TestPlanSpreadsTheTalkOverTheScenes(t *testing.T) {
	m := time.Minute
	for _, tc := range []struct {
		name  string
		own   []time.Duration
		total time.Duration
		want  []time.Duration
	}{
		{"the notes' own budgets", []time.Duration{2 * m, 0, 3 * m}, 0, []time.Duration{2 * m, 0, 3 * m}},
		{"a total shared equally", []time.Duration{0, 0, 0}, 45 * m, []time.Duration{15 * m, 15 * m, 15 * m}},
		{"a total weighted by the notes", []time.Duration{2 * m, 4 * m}, 30 * m, []time.Duration{10 * m, 20 * m}},
		{"a scene without a budget weighs the mean", []time.Duration{2 * m, 0, 4 * m}, 18 * m, []time.Duration{4 * m, 6 * m, 8 * m}},
		{"the last scene takes the rounding", []time.Duration{0, 0, 0}, 10 * m, []time.Duration{200 * time.Second, 200 * time.Second, 200 * time.Second}},
		{"uneven seconds still add up", []time.Duration{0, 0, 0}, 100 * time.Second, []time.Duration{33 * time.Second, 33 * time.Second, 34 * time.Second}},
		{"no scenes", nil, 45 * m, []time.Duration{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Plan(tc.own, tc.total)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			var sum time.Duration
			for i := range got {
				sum += got[i]
				if got[i] != tc.want[i] {
					t.Errorf("scene %d: %v, want %v (all %v)", i, got[i], tc.want[i], got)
				}
			}
			if tc.total > 0 && len(got) > 0 && sum != tc.total {
				t.Errorf("budgets add up to %v, not the total %v", sum, tc.total)
			}
		})
	}
}

func TestNextIsTheFollowingScenesTitle(t *testing.T) {
	s := State{Scenes: []Outline{{Title: "The lab"}, {Title: "Man in the middle"}}}
	if got := s.Next(); got != "Man in the middle" {
		t.Errorf("next after the first: %q", got)
	}
	s.Scene.Index = 1
	if got := s.Next(); got != "" {
		t.Errorf("next after the last: %q", got)
	}
}
