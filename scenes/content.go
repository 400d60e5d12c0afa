package scenes

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/ztlab/zt-lab/assets"
)

// LoadContent fills each scene's narration and speaker notes from
// markdown: ID.md and ID.notes.md, from dir when given (a presenter's own
// words) and from the embedded assets otherwise. A file missing from dir
// keeps the built-in text; dir must hold at least one scene's file, and
// nothing but scene files (dot files aside): a name no scene has is a
// typo, or the wrong directory, and is refused rather than ignored.
func LoadContent(ws []Scene, dir string) error {
	builtin, err := fs.Sub(assets.FS, "scenes")
	if err != nil {
		return err
	}
	var own fs.FS
	if dir != "" {
		if err := checkContentDir(ws, dir); err != nil {
			return err
		}
		own = os.DirFS(dir)
	}
	read := func(name string) (string, error) {
		if own != nil {
			b, err := fs.ReadFile(own, name)
			if err == nil {
				if !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
					return "", fmt.Errorf("--content %s: %s is not text: write the scene's narration in markdown", dir, name)
				}
				return string(b), nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", err
			}
		}
		b, err := fs.ReadFile(builtin, name)
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return string(b), err
	}
	for i := range ws {
		if ws[i].Narrative, err = read(ws[i].ID + ".md"); err != nil {
			return err
		}
		notes, err := read(ws[i].ID + ".notes.md")
		if err != nil {
			return err
		}
		if ws[i].Notes, ws[i].Budget, err = splitNotes(ws[i].ID+".notes.md", notes); err != nil {
			if dir != "" {
				return fmt.Errorf("--content %s: %w", dir, err)
			}
			return err
		}
	}
	return nil
}

// CheckContent checks dir as LoadContent would for the walkthrough's
// scenes, without keeping what it read: for a command to refuse a bad
// --content before anything starts.
func CheckContent(dir string) error {
	if dir == "" {
		return nil
	}
	return LoadContent(Walkthrough(), dir)
}

// checkContentDir refuses a --content directory that is not one, holds a
// file no scene reads, or holds no scene's narration or notes at all.
func checkContentDir(ws []Scene, dir string) error {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return fmt.Errorf("--content %s: not a directory of scene markdown (ID.md, ID.notes.md)", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("--content %s: %w", dir, err)
	}
	known := map[string]bool{}
	ids := make([]string, len(ws))
	for i, s := range ws {
		ids[i] = s.ID
		known[s.ID+".md"], known[s.ID+".notes.md"] = true, true
	}
	found := 0
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "."):
		case !known[name]:
			return fmt.Errorf("--content %s: %s is no scene's: name files ID.md or ID.notes.md, with ID one of %s", dir, name, strings.Join(ids, ", "))
		case !e.Type().IsRegular():
			return fmt.Errorf("--content %s: %s is not a file: the scene's narration is one markdown file", dir, name)
		default:
			found++
		}
	}
	if found == 0 {
		return fmt.Errorf("--content %s: no scene's narration or notes in it: add ID.md or ID.notes.md for a scene (IDs: %s), or leave --content out for the built-in text", dir, strings.Join(ids, ", "))
	}
	return nil
}
