package remote

import (
	"bytes"
	"strings"
	"testing"
)

func TestDropsKeepsTheCountAndPassesTheRest(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		drops  uint64
		rest   string
	}{
		{"nothing", nil, 0, ""},
		{"one count", []string{"zt-lab kernel drops: 7\n"}, 7, ""},
		{"the last count wins", []string{"zt-lab kernel drops: 7\nzt-lab kernel drops: 12\n"}, 12, ""},
		{"a count split across writes", []string{"zt-lab kernel ", "drops: 4", "2\n"}, 42, ""},
		{"an error passes", []string{"zt-lab: capture: operation not permitted\n"}, 0, "zt-lab: capture: operation not permitted\n"},
		{"interleaved", []string{"zt-lab kernel drops: 1\nwarning\nzt-lab kernel drops: 2\n"}, 2, "warning\n"},
		{"not a number passes", []string{"zt-lab kernel drops: many\n"}, 0, "zt-lab kernel drops: many\n"},
		{"negative passes", []string{"zt-lab kernel drops: -1\n"}, 0, "zt-lab kernel drops: -1\n"},
		{"an unended count waits", []string{"zt-lab kernel drops: 5"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rest bytes.Buffer
			d := NewDrops(&rest)
			for _, w := range tt.writes {
				if n, err := d.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if got := d.KernelDrops(); got != tt.drops {
				t.Errorf("drops %d, want %d", got, tt.drops)
			}
			if rest.String() != tt.rest {
				t.Errorf("rest %q, want %q", rest.String(), tt.rest)
			}
		})
	}
}

func TestDropsPassesAnEndlessLineInPieces(t *testing.T) {
	var rest bytes.Buffer
	d := NewDrops(&rest)
	long := strings.Repeat("x", 3*maxLine)
	d.Write([]byte(long))
	if rest.Len() < 2*maxLine {
		t.Errorf("held %d bytes of a line with no end, passed %d", 3*maxLine-rest.Len(), rest.Len())
	}
}

func TestReportDropsIsReadBack(t *testing.T) {
	var line bytes.Buffer
	reportDrops(&line, 18446744073709551615)
	d := NewDrops(&bytes.Buffer{})
	d.Write(line.Bytes())
	if got := d.KernelDrops(); got != 18446744073709551615 {
		t.Errorf("read back %d from %q", got, line.String())
	}
}

// FuzzDrops: whatever a remote capture's stderr holds, every line that is
// not a drops line reaches rest whole, and the count is the last drops
// line's, however the bytes are split into writes.
func FuzzDrops(f *testing.F) {
	f.Add([]byte("zt-lab kernel drops: 3\nboom\n"), uint8(5))
	f.Add([]byte("zt-lab kernel drops: 99999999999999999999\n"), uint8(0))
	f.Add([]byte("\n\n\nzt-lab kernel drops: 1"), uint8(30))
	f.Fuzz(func(t *testing.T, in []byte, cut uint8) {
		if bytes.Count(in, []byte("\n")) == 0 || len(in) > 4*maxLine {
			return
		}
		var rest bytes.Buffer
		d := NewDrops(&rest)
		i := min(int(cut), len(in))
		d.Write(in[:i])
		d.Write(in[i:])

		ended := in[:bytes.LastIndexByte(in, '\n')+1]
		var want bytes.Buffer
		var drops uint64
		for _, line := range bytes.SplitAfter(ended, []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			if len(line) > maxLine {
				return // passed in pieces; checked above
			}
			if v, ok := parseDrops(line); ok {
				drops = v
				continue
			}
			want.Write(line)
		}
		if d.KernelDrops() != drops {
			t.Errorf("drops %d, want %d", d.KernelDrops(), drops)
		}
		if !bytes.Equal(rest.Bytes(), want.Bytes()) {
			t.Errorf("rest %q, want %q", rest.Bytes(), want.Bytes())
		}
	})
}
