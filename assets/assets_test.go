package assets

import (
	"slices"
	"strings"
	"testing"
)

func TestParseFortunes(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"one line fortune", "You love peace.\n%\n", []string{"You love peace.\n"}},
		{"multi-line fortune stays whole", "Q: a?\nA: b.\n%\nc\n", []string{"Q: a?\nA: b.\n", "c\n"}},
		{"empty entries are dropped", "%\n%\nx\n%\n\n%\n", []string{"x\n"}},
		{"last line without newline gets one", "x\n%\ny", []string{"x\n", "y\n"}},
		{"percent inside a line is text", "100% sure\n%\n", []string{"100% sure\n"}},
		{"tabs in the attribution are kept", "a\n\t\t-- B\n%\n", []string{"a\n\t\t-- B\n"}},
		{"crlf separator", "a\r\n%\r\nb\r\n", []string{"a\r\n", "b\r\n"}},
		{"nothing", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseFortunes(tt.text); !slices.Equal(got, tt.want) {
				t.Errorf("parseFortunes(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestEmbeddedFortunes(t *testing.T) {
	all := Fortunes()
	if len(all) < 120 {
		t.Errorf("%d embedded fortunes, want at least 120", len(all))
	}
	seen := map[string]bool{}
	multiLine := 0
	for i, f := range all {
		if !strings.HasSuffix(f, "\n") {
			t.Errorf("fortune %d does not end in a newline: %q", i, f)
		}
		for j := range len(f) {
			if f[j] >= 0x80 || (f[j] < 0x20 && f[j] != '\n' && f[j] != '\t') {
				t.Errorf("fortune %d has byte %#x at %d, want printable ASCII: %q", i, f[j], j, f)
				break
			}
		}
		if seen[f] {
			t.Errorf("fortune %d is a duplicate: %q", i, f)
		}
		seen[f] = true
		if strings.Count(f, "\n") > 1 {
			multiLine++
		}
	}
	if multiLine < 10 {
		t.Errorf("%d multi-line fortunes, want at least 10", multiLine)
	}
}

func TestSeedFortunesAreEmbedded(t *testing.T) {
	// The seeds' walkthrough shows these exact fortunes crossing the wire.
	seeds := []string{
		"You will have long and healthy life.\n",
		"You love peace.\n",
		"Q: What do you call a principal female opera singer whose high C\n" +
			"is lower than those of other principal female opera singers?\n" +
			"A: A deep C diva.\n",
		"The holy passion of Friendship is of so sweet and steady and loyal and\n" +
			"enduring a nature that it will last through a whole lifetime, if not asked to\n" +
			"lend money.\n" +
			"\t\t-- Mark Twain, \"Pudd'nhead Wilson's Calendar\"\n",
	}
	all := Fortunes()
	for _, s := range seeds {
		if !slices.Contains(all, s) {
			t.Errorf("seed fortune missing from assets/fortunes.txt: %q", s)
		}
	}
}

func TestFortunesIsACopy(t *testing.T) {
	a := Fortunes()
	a[0] = "changed"
	if b := Fortunes(); b[0] == "changed" {
		t.Error("changing the returned slice changed the embedded fortunes")
	}
}
