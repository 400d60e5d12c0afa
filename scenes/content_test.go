package scenes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A --content directory of anything but scene files is refused in one
// line that says what to do, never silently ignored.
func TestContentDirectoriesOfGarbageAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"an empty directory", nil, "no scene's narration or notes in it: add ID.md or ID.notes.md"},
		{"an unknown scene id", map[string]string{"lab.md": "# mine\n", "scene99.md": "x"}, "scene99.md is no scene's: name files ID.md or ID.notes.md, with ID one of lab, "},
		{"a misspelt notes file", map[string]string{"lab.note.md": "x"}, "lab.note.md is no scene's"},
		{"a file of another kind", map[string]string{"slides.pdf": "%PDF"}, "slides.pdf is no scene's"},
		{"binary narration", map[string]string{"lab.md": "\x00\xff\xfe"}, "lab.md is not text"},
		{"a directory named like a scene", map[string]string{"lab.md/x": "x"}, "lab.md is not a file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tc.files {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := writeFile(filepath.Join(dir, name), body); err != nil {
					t.Fatal(err)
				}
			}
			err := CheckContent(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("CheckContent: %v; want one line with %q", err, tc.want)
			}
		})
	}
	// Notes alone, and dot files beside them, are fine.
	dir := t.TempDir()
	for name, body := range map[string]string{"mitm.notes.md": "say it slowly\n", ".DS_Store": "\x00"} {
		if err := writeFile(filepath.Join(dir, name), body); err != nil {
			t.Fatal(err)
		}
	}
	ws := Walkthrough()
	if err := LoadContent(ws, dir); err != nil {
		t.Fatalf("notes alone: %v", err)
	}
	for _, s := range ws {
		if s.ID == "mitm" && s.Notes != "say it slowly\n" {
			t.Errorf("mitm's notes are %q", s.Notes)
		}
	}
}

// The sidecars scene says what its sidecars are: Consul's built-in proxy,
// not the Envoy a production mesh runs, and that the claims hold either way.
func TestSidecarNotesSayTheProxyIsTheBuiltInOne(t *testing.T) {
	ws := Walkthrough()
	if err := LoadContent(ws, ""); err != nil {
		t.Fatal(err)
	}
	for _, s := range ws {
		if s.ID != "sidecars" {
			continue
		}
		for _, want := range []string{"built-in proxy", "Production meshes run Envoy", "nothing in what the lab proves"} {
			if !strings.Contains(strings.Join(strings.Fields(s.Notes), " "), want) {
				t.Errorf("the sidecars notes do not say %q:\n%s", want, s.Notes)
			}
		}
		return
	}
	t.Fatal("no sidecars scene")
}
