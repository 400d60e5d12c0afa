package scenes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/ztlab/zt-lab/assets"
)

// LoadContent fills each scene's narration and speaker notes from
// markdown: ID.md and ID.notes.md, from dir when given (a presenter's own
// words) and from the embedded assets otherwise. A file missing from dir
// keeps the built-in text.
func LoadContent(ws []Scene, dir string) error {
	builtin, err := fs.Sub(assets.FS, "scenes")
	if err != nil {
		return err
	}
	var own fs.FS
	if dir != "" {
		st, err := os.Stat(dir)
		if err != nil || !st.IsDir() {
			return fmt.Errorf("--content %s: not a directory of scene markdown (ID.md, ID.notes.md)", dir)
		}
		own = os.DirFS(dir)
	}
	read := func(name string) (string, error) {
		if own != nil {
			b, err := fs.ReadFile(own, name)
			if err == nil {
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
		if ws[i].Notes, err = read(ws[i].ID + ".notes.md"); err != nil {
			return err
		}
	}
	return nil
}
