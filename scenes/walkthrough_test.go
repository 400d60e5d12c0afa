package scenes

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ztlab/zt-lab/check"
)

// sceneWelcome is the README's recipe for a new scene, followed once: a
// function named after the scene (in a real one, in welcome.go), a row in
// the walkthrough table, and its narration as welcome.md and
// welcome.notes.md.
func sceneWelcome() Scene {
	return Scene{
		ID: "welcome", Title: "Welcome", Panel: PanelReport,
		AnyStage: true, // a real scene says the stage it Needs and Reaches
		Steps: []Step{{
			Title: "Say hello on the wire",
			Shell: "echo hello",
			Do: func(_ context.Context, env *Env) error {
				env.Logf("hello from the lab")
				return nil
			},
			Verify: func(context.Context, *Env) check.Check {
				return check.Passf("the lab says hello", "said hello once")
			},
		}},
	}
}

func TestANewSceneIsAFunctionARowAndItsNarration(t *testing.T) {
	saved := walkthrough
	t.Cleanup(func() { walkthrough = saved })
	// The row, before the report card.
	walkthrough = slices.Insert(slices.Clone(saved), len(saved)-1, sceneWelcome)

	ws := Walkthrough()
	i := slices.IndexFunc(ws, func(s Scene) bool { return s.ID == "welcome" })
	if i != len(ws)-2 || ws[len(ws)-1].ID != "summary" {
		t.Fatalf("welcome is scene %d of %d, want the one before the summary", i+1, len(ws))
	}
	dir := t.TempDir()
	for name, text := range map[string]string{"welcome.md": "# Welcome\n", "welcome.notes.md": "Say hello.\n"} {
		if err := writeFile(dir+"/"+name, text); err != nil {
			t.Fatal(err)
		}
	}
	if err := LoadContent(ws, dir); err != nil {
		t.Fatal(err)
	}
	if ws[i].Narrative != "# Welcome\n" || ws[i].Notes != "Say hello.\n" {
		t.Errorf("narration %q, notes %q", ws[i].Narrative, ws[i].Notes)
	}

	var out bytes.Buffer
	if err := Headless(context.Background(), New(&Env{}, ws), &out, []int{i}); err != nil {
		t.Fatalf("headless: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		fmt.Sprintf("== %d. Welcome", i+1),
		"-- Say hello on the wire",
		"   $ echo hello",
		"   hello from the lab",
		"   [PASS] the lab says hello",
		fmt.Sprintf("  ✓ %d. the lab says hello", i+1),
		"1 checks passed, 0 failed",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("headless output lacks %q:\n%s", want, out.String())
		}
	}
}
