package assets

import (
	"os"
	"regexp"
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

// The demo tape ends when the summary's report card is on the screen, not
// after a guess at how long the walkthrough takes: its last Wait's regexp
// must match the report card the TUI renders (tui's golden of it).
func TestDemoTapeWaitsForTheSummary(t *testing.T) {
	tape, err := os.ReadFile("demo.tape")
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, l := range strings.Split(string(tape), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			cmds = append(cmds, l)
		}
	}
	wait := regexp.MustCompile(`^Wait\+Screen(@\S+)? /(.+)/$`)
	var m []string
	last := -1
	for i, c := range cmds {
		if mm := wait.FindStringSubmatch(c); mm != nil {
			m, last = mm, i
		}
	}
	if m == nil {
		t.Fatalf("demo.tape has no Wait+Screen /regexp/:\n%s", tape)
	}
	for _, c := range cmds[last+1:] {
		if strings.HasPrefix(c, "Sleep") && !regexp.MustCompile(`^Sleep [0-9]+(ms|s)$`).MatchString(c) {
			t.Errorf("after the Wait: %q", c)
		}
		if d := strings.TrimPrefix(c, "Sleep "); strings.HasSuffix(d, "s") && !strings.HasSuffix(d, "ms") && len(d) > 2 {
			t.Errorf("after the Wait, %q is a long sleep again: hold the summary a few seconds at most", c)
		}
	}
	re, err := regexp.Compile(m[2])
	if err != nil {
		t.Fatalf("the Wait's regexp %q: %v", m[2], err)
	}
	card, err := os.ReadFile("../tui/testdata/TestScreens/report_160x48.golden")
	if err != nil {
		t.Fatal(err)
	}
	if !re.Match(card) {
		t.Errorf("the Wait's /%s/ does not match the report card the TUI renders", m[2])
	}
}
