package tui

import (
	"strings"
	"testing"
	"time"
)

func TestCheckPaceRefusesNoTimeAtAll(t *testing.T) {
	for _, tc := range []struct {
		pace time.Duration
		ok   bool
	}{
		{4 * time.Second, true},
		{time.Millisecond, true},
		{0, false},
		{-time.Second, false},
	} {
		err := CheckPace(tc.pace)
		if (err == nil) != tc.ok {
			t.Errorf("CheckPace(%v) = %v, want ok %v", tc.pace, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "--pace "+tc.pace.String()+": ") {
			t.Errorf("CheckPace(%v) = %q does not name the value", tc.pace, err)
		}
	}
}
