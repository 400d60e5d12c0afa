package infra

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// EnvRuntimeDir overrides where zt-lab keeps a user's lab state.
const EnvRuntimeDir = "ZTLAB_RUNTIME_DIR"

// RuntimeDir is where this user's labs keep their state: $ZTLAB_RUNTIME_DIR;
// else /run/zt-lab for root, whatever XDG_RUNTIME_DIR says (sudo may keep a
// user's, and that user could then change root's state); else
// $XDG_RUNTIME_DIR/zt-lab when that directory is the user's own; else
// zt-lab-UID under the temporary directory. The last is a name another user
// can guess and make first: MakePrivateDir refuses such a directory.
func RuntimeDir() string {
	if d := os.Getenv(EnvRuntimeDir); d != "" {
		return d
	}
	if os.Getuid() == 0 {
		return "/run/zt-lab"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && CheckPrivateDir(d) == nil {
		return filepath.Join(d, "zt-lab")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("zt-lab-%d", os.Getuid()))
}

// UnsafePathError is a file or directory zt-lab will not trust: another
// user could change it, or it leads somewhere else.
type UnsafePathError struct {
	Path string
	Why  string // "is a symbolic link", "belongs to uid 65534", ...
	Hint string // what to do
}

func (e UnsafePathError) Error() string {
	return fmt.Sprintf("refusing %s: it %s; %s", e.Path, e.Why, e.Hint)
}

func dirHint(path string) string {
	return fmt.Sprintf("remove it (rm -r %s) if it is not yours, or choose another directory with %s=DIR", path, EnvRuntimeDir)
}

// MakePrivateDir makes dir with mode 0700 (and its missing parents) unless
// it exists, then checks it as CheckPrivateDir does: a directory someone
// else made first is refused, never adopted.
func MakePrivateDir(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(filepath.Dir(dir), 0o700); err == nil {
			err = os.Mkdir(dir, 0o700)
		}
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return CheckPrivateDir(dir)
}

// CheckPrivateDir refuses dir unless it is a directory (not a link to one),
// owned by this process's user, that no group or other user may write. The
// owner is compared in this process's own user namespace: inside the lab's
// sandbox the user is uid 0 and every other user's files show as the
// overflow uid, so the comparison holds on both sides of the sandbox.
func CheckPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	return checkOwn(dir, fi, true, dirHint(dir))
}

// CheckPrivateFile refuses fi, the Lstat of path, unless it is a regular
// file owned by this user that no group or other user may write.
func CheckPrivateFile(path string, fi fs.FileInfo) error {
	return checkOwn(path, fi, false, fmt.Sprintf("remove it (rm %s) and start again", path))
}

func checkOwn(path string, fi fs.FileInfo, dir bool, hint string) error {
	bad := func(why string) error { return UnsafePathError{Path: path, Why: why, Hint: hint} }
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return bad("is a symbolic link")
	case dir && !fi.IsDir():
		return bad("is not a directory")
	case !dir && !fi.Mode().IsRegular():
		return bad("is not a regular file")
	}
	if uid, ok := FileOwner(fi); ok && uid != os.Getuid() {
		return bad(fmt.Sprintf("belongs to uid %d, not to you (uid %d)", uid, os.Getuid()))
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return bad(fmt.Sprintf("may be written by other users (mode %04o)", fi.Mode().Perm()))
	}
	return nil
}
