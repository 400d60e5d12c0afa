package scenes

import (
	"errors"
	"strings"
	"testing"

	"github.com/ztlab/zt-lab/sniffer"
)

func TestJudgeKeySearch(t *testing.T) {
	clean := sniffer.KeySearch{Keys: 3, Needles: 12, Frames: 5000, Bytes: 700000}
	names := []string{"RPC CA key", "Connect CA root key (rotated)", "leaf key of fcs (serial 1)"}
	tests := []struct {
		name string
		res  sniffer.KeySearch
		err  error
		pass bool
		says string
	}{
		{"every byte searched, nothing found", clean, nil, true, "searched all 5000 frames (700000 bytes) of the capture for 3 private keys, as 12 pieces (PEM lines, DER runs): 0 found"},
		{"a leaf key on the wire", func() sniffer.KeySearch {
			r := clean
			r.Hits = []sniffer.KeyHit{{Key: "leaf key of fcs (serial 1)", Frame: 42, Form: "PEM line"}}
			return r
		}(), nil, false, "FOUND leaf key of fcs (serial 1) (PEM line) in frame 42"},
		{"no keys known", sniffer.KeySearch{Frames: 10, Bytes: 100}, nil, false, "no key to search for"},
		{"empty capture", sniffer.KeySearch{Keys: 3, Needles: 12}, nil, false, "the capture is empty"},
		{"search failed", clean, errors.New("read the spool: EOF"), false, "read the spool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := judgeKeySearch(tt.res, tt.err, names)
			if c.Pass != tt.pass {
				t.Errorf("pass = %v, want %v: %v", c.Pass, tt.pass, c.Evidence)
			}
			if ev := strings.Join(c.Evidence, "\n"); !strings.Contains(ev, tt.says) {
				t.Errorf("evidence does not say %q:\n%s", tt.says, ev)
			}
		})
	}
}
