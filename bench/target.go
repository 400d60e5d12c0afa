package bench

import (
	"strconv"
	"strings"
)

// Target is what a figure's median should be: at most or at least Value,
// with Aim, when set, the better figure the project works towards.
type Target struct {
	Op    string   `json:"op"` // "<=" or ">="
	Value float64  `json:"value"`
	Aim   *float64 `json:"aim,omitempty"`
}

// atMost and atLeast are the two kinds of target.
func atMost(v float64) *Target  { return &Target{Op: "<=", Value: v} }
func atLeast(v float64) *Target { return &Target{Op: ">=", Value: v} }

// aiming adds the figure to aim for beyond the target.
func (t *Target) aiming(a float64) *Target { t.Aim = &a; return t }

// Met says whether v meets the target (not necessarily the aim).
func (t *Target) Met(v float64) bool {
	if t.Op == ">=" {
		return v >= t.Value
	}
	return v <= t.Value
}

// String is the target as the table prints it: "≤ 60 (30)" is at most 60,
// aiming for 30.
func (t *Target) String() string {
	if t == nil {
		return ""
	}
	op := "≤"
	if t.Op == ">=" {
		op = "≥"
	}
	s := op + " " + grouped(t.Value)
	if t.Aim != nil {
		s += " (" + grouped(*t.Aim) + ")"
	}
	return s
}

// grouped prints v with its thousands grouped by commas, as the README's
// tables do, and no more decimals than it has.
func grouped(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	whole, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(whole, "-")
	whole = strings.TrimPrefix(whole, "-")
	var b strings.Builder
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// verdict is the table's word for a median against its target.
func verdict(t *Target, median float64) string {
	switch {
	case t == nil:
		return "-"
	case t.Met(median):
		return "pass"
	}
	return "FAIL"
}
