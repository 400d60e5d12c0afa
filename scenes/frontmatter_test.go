package scenes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNotesFrontMatterGivesTheSceneItsBudget(t *testing.T) {
	for _, tc := range []struct {
		name, src, notes string
		budget           time.Duration
		err              string
	}{
		{name: "no front matter", src: "- say it slowly\n", notes: "- say it slowly\n"},
		{name: "a budget", src: "---\nbudget: 3m\n---\n- say it\n", notes: "- say it\n", budget: 3 * time.Minute},
		{name: "seconds and a blank line after", src: "---\nbudget: 90s\n---\n\n- say it\n", notes: "- say it\n", budget: 90 * time.Second},
		{name: "front matter alone", src: "---\nbudget: 1h15m\n---", notes: "", budget: 75 * time.Minute},
		{name: "empty front matter", src: "---\n\n---\n- say it\n", notes: "- say it\n"},
		{name: "a rule later is markdown", src: "- one\n---\n- two\n", notes: "- one\n---\n- two\n"},
		{name: "never closed", src: "---\nbudget: 3m\n- say it\n", err: "x.notes.md: the front matter opened with --- is never closed"},
		{name: "an unknown key", src: "---\nbugdet: 3m\n---\n", err: "x.notes.md: front matter: "},
		{name: "no unit", src: "---\nbudget: 3\n---\n", err: `budget "3" has no unit: write 3m for minutes`},
		{name: "not a duration", src: "---\nbudget: three minutes\n---\n", err: `budget "three minutes" is not a duration`},
		{name: "zero", src: "---\nbudget: 0s\n---\n", err: `budget "0s": give a time above zero`},
		{name: "hours for minutes", src: "---\nbudget: 3h\n---\n", err: `budget "3h" is over 2h0m0s`},
		{name: "not yaml", src: "---\nbudget: [3m\n---\n", err: "x.notes.md: front matter: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			notes, budget, err := splitNotes("x.notes.md", tc.src)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if notes != tc.notes || budget != tc.budget {
				t.Errorf("got %q, %v; want %q, %v", notes, budget, tc.notes, tc.budget)
			}
		})
	}
}

func TestEveryBuiltInSceneHasABudgetAndNotesWithoutFrontMatter(t *testing.T) {
	ws := Walkthrough()
	if err := LoadContent(ws, ""); err != nil {
		t.Fatal(err)
	}
	var total time.Duration
	for _, s := range ws {
		if s.Budget <= 0 {
			t.Errorf("scene %s has no budget in its notes' front matter", s.ID)
		}
		if strings.HasPrefix(s.Notes, "---") || strings.Contains(s.Notes, "budget:") {
			t.Errorf("scene %s's notes still hold their front matter:\n%s", s.ID, s.Notes)
		}
		total += s.Budget
	}
	// The built-in talk fits a conference slot.
	if total < 20*time.Minute || total > 50*time.Minute {
		t.Errorf("the scenes' budgets add up to %v, not a 20-50 minute talk", total)
	}
}

func FuzzSplitNotes(f *testing.F) {
	for _, s := range []string{"---\nbudget: 3m\n---\n- x\n", "- x\n", "---\n", "---\nbudget: 3\n---", "---\n---\n---\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		notes, budget, err := splitNotes("f.notes.md", src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.notes.md: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if budget < 0 || budget > MaxSceneBudget {
			t.Fatalf("budget %v out of range", budget)
		}
		if len(notes) > len(src) {
			t.Fatalf("notes grew: %q from %q", notes, src)
		}
	})
}

func TestAPresentersOwnNotesGiveTheirBudgetOrSayWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "mitm.notes.md"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("---\nbudget: 5m\n---\nsay it slowly\n")
	ws := Walkthrough()
	if err := LoadContent(ws, dir); err != nil {
		t.Fatal(err)
	}
	for _, s := range ws {
		if s.ID == "mitm" && (s.Budget != 5*time.Minute || s.Notes != "say it slowly\n") {
			t.Errorf("mitm: budget %v, notes %q", s.Budget, s.Notes)
		}
	}
	write("---\nbudget: 5\n---\nsay it slowly\n")
	err := LoadContent(Walkthrough(), dir)
	if want := "--content " + dir + ": mitm.notes.md: front matter: budget \"5\" has no unit: write 5m for minutes"; err == nil || err.Error() != want {
		t.Errorf("a budget without a unit: %v, want %q", err, want)
	}
}
