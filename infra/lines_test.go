package infra

import (
	"fmt"
	"slices"
	"testing"
)

func TestLinesKeepTheNewestInOrder(t *testing.T) {
	for _, tc := range []struct {
		written, n int
		want       []string
	}{
		{0, 5, []string{}},
		{3, 5, []string{"line 0", "line 1", "line 2"}},
		{3, 2, []string{"line 1", "line 2"}},
		{TailLines + 2, 3, []string{fmt.Sprintf("line %d", TailLines-1), fmt.Sprintf("line %d", TailLines), fmt.Sprintf("line %d", TailLines+1)}},
	} {
		var l Lines
		for i := range tc.written {
			l.Add(fmt.Sprintf("line %d", i))
		}
		if got := l.Tail(tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("%d written, Tail(%d) = %q, want %q", tc.written, tc.n, got, tc.want)
		}
	}
	var l Lines
	for i := range 3 * TailLines {
		l.Add(fmt.Sprint(i))
	}
	all := l.Tail(-1)
	if len(all) != TailLines || all[0] != fmt.Sprint(2*TailLines) || all[TailLines-1] != fmt.Sprint(3*TailLines-1) {
		t.Errorf("Tail(-1) after %d lines: %d lines from %s to %s", 3*TailLines, len(all), all[0], all[len(all)-1])
	}
}
