//go:build linux

package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// EnvPrivateView, set in the environment of a zt-lab that enters a
// sandbox, hides the machine's writable and private places from
// everything in the lab: /tmp, /var/tmp, /dev/shm, /run, /home and /root
// become empty tmpfs of the sandbox's own, and $HOME a size-bounded tmpfs,
// so what a lab writes lives in memory and ends with it; every other mount
// of the machine (/, /etc, /usr, /var, /dev, /sys ...) is read-only in the
// sandbox, so a write there fails with EROFS whatever its permissions say.
// Its value is a list of absolute paths, separated by colons, that stay
// visible where they are, read-only: a directory (the workshop server's
// directory for this attendee, which holds $HOME and the progress pipe: a
// pipe is written on a read-only mount all the same), a file (the zt-lab
// and consul binaries the lab's hosts run). A kept directory is on the
// machine's disk, so writable it would let a lab fill the disk, past
// every tmpfs's bound. `zt-lab serve` sets it for every attendee's lab.
const EnvPrivateView = "ZTLAB_PRIVATE_VIEW"

// EnvPrivateHide, set with EnvPrivateView, names more of the machine's
// paths for the view to hide, a list of absolute paths separated by
// colons: a directory becomes an empty tmpfs, a file an empty one, both
// read-only; a kept path under a hidden directory stays where it is.
// `zt-lab serve` hides its own files with it (its state directory, its
// host key, its lists of keys): a server that is not root runs every lab
// as its own uid, so wherever those files are, the masks aside, their
// permissions would let every lab read them.
const EnvPrivateHide = "ZTLAB_PRIVATE_HIDE"

// maskedDirs are the directories a private view replaces with an empty
// tmpfs: every world-writable directory of a Debian root, and the homes.
var maskedDirs = []string{"/tmp", "/var/tmp", "/dev/shm", "/run", "/home", "/root"}

// Sizes of the private view's tmpfs: the masks hold a shell's scratch
// files; $HOME holds the lab's runtime directory (consul data, logs).
const (
	maskSize = "64m"
	homeSize = "512m"
)

// privateView mounts the masks, puts each kept path back where it was,
// and gives $HOME its tmpfs. It runs in the sandbox's mount namespace,
// where the lab process is root of its user namespace.
func privateView(list string) error {
	type kept struct {
		path string
		fd   int
		st   unix.Stat_t
	}
	var keep []kept
	defer func() {
		for _, k := range keep {
			unix.Close(k.fd)
		}
	}()
	for _, p := range strings.Split(list, ":") {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("%s: %q is not an absolute path", EnvPrivateView, p)
		}
		fd, err := unix.Open(p, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", p, err)
		}
		k := kept{path: p, fd: fd}
		keep = append(keep, k)
		if err := unix.Fstat(fd, &keep[len(keep)-1].st); err != nil {
			return err
		}
	}
	for _, d := range maskedDirs {
		st, err := os.Lstat(d)
		if err != nil || !st.IsDir() {
			continue // a symlink (/var/run) follows its target; a missing one hides nothing
		}
		mode := "0755"
		if st.Mode()&os.ModeSticky != 0 {
			mode = "1777"
		}
		if err := unix.Mount("tmpfs", d, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size="+maskSize+",mode="+mode); err != nil {
			return fmt.Errorf("mask %s: %w", d, err)
		}
	}
	if err := ownTerminals(); err != nil {
		return err
	}
	if err := hide(os.Getenv(EnvPrivateHide)); err != nil {
		return err
	}
	for _, k := range keep {
		var now unix.Stat_t
		if err := unix.Stat(k.path, &now); err == nil && now.Dev == k.st.Dev && now.Ino == k.st.Ino {
			// No mask hid it. A directory becomes a mount of its own, as
			// one a mask hid does.
			if k.st.Mode&unix.S_IFMT == unix.S_IFDIR {
				if err := unix.Mount(k.path, k.path, "", unix.MS_BIND, ""); err != nil {
					return fmt.Errorf("keep %s: %w", k.path, err)
				}
			}
			continue
		}
		// A mask hid it: bind it, still open, back on its path.
		if err := os.MkdirAll(filepath.Dir(k.path), 0o755); err != nil {
			return err
		}
		if k.st.Mode&unix.S_IFMT == unix.S_IFDIR {
			if err := os.Mkdir(k.path, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
				return err
			}
		} else if err := os.WriteFile(k.path, nil, 0o600); err != nil {
			return err
		}
		if err := unix.Mount("/proc/self/fd/"+strconv.Itoa(k.fd), k.path, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("keep %s: %w", k.path, err)
		}
	}
	home := os.Getenv("HOME")
	if home == "" || !filepath.IsAbs(home) {
		return errors.New("a private view needs an absolute $HOME")
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", home, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size="+homeSize+",mode=0700"); err != nil {
		return fmt.Errorf("home %s: %w", home, err)
	}
	writable := []string{home, "/dev/pts"}
	for _, d := range maskedDirs {
		if st, err := os.Lstat(d); err == nil && st.IsDir() {
			writable = append(writable, d)
		}
	}
	return readOnlyRoot(writable)
}

// ownTerminals gives the sandbox a devpts of its own on /dev/pts, and
// /dev/ptmx from it: the terminals the lab opens (its shells') are in it
// alone, and the machine's are out of sight. The machine's /dev/pts holds
// every terminal of every lab of a server, and a server that is not root
// runs every lab as its own uid, which owns them all: a lab could write
// to another's screen and read what its attendee types. The lab's own
// terminal, opened outside, stays open on its descriptors and /dev/tty.
func ownTerminals() error {
	if err := unix.Mount("devpts", "/dev/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
		return fmt.Errorf("a devpts of its own: %w", err)
	}
	if st, err := os.Lstat("/dev/ptmx"); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		if err := unix.Mount("/dev/pts/ptmx", "/dev/ptmx", "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("/dev/ptmx of its own devpts: %w", err)
		}
	}
	return nil
}

// hide mounts an empty tmpfs on each directory of list and an empty file
// on each file: the masks are already in place, so a path under one is
// gone, and hidden already.
func hide(list string) error {
	if list == "" {
		return nil
	}
	for _, p := range strings.Split(list, ":") {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("%s: %q is not an absolute path", EnvPrivateHide, p)
		}
		st, err := os.Lstat(p)
		switch {
		case err != nil, slices.Contains(maskedDirs, filepath.Clean(p)):
			continue // under a mask, or a mask
		case st.IsDir():
			err = unix.Mount("tmpfs", p, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m,mode=0755")
		case st.Mode().IsRegular():
			err = unix.Mount("/dev/null", p, "", unix.MS_BIND, "")
		default:
			return fmt.Errorf("%s: %s is neither a directory nor a file", EnvPrivateHide, p)
		}
		if err != nil {
			return fmt.Errorf("hide %s: %w", p, err)
		}
	}
	return nil
}

// readOnlyRoot makes every mount of the sandbox read-only, then writable
// again each of writable, which must be a mount point (a mask, $HOME):
// that mount alone, not the mounts below it, so a kept file under a mask
// stays read-only. The machine's mounts are copies in
// the sandbox's mount namespace: the machine's own stay as they are.
func readOnlyRoot(writable []string) error {
	ro := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(-1, "/", unix.AT_RECURSIVE, &ro); err != nil {
		if errors.Is(err, unix.ENOSYS) {
			return errors.New("a read-only root needs mount_setattr (Linux 5.12 or later): upgrade the server's kernel")
		}
		return fmt.Errorf("make / read-only: %w", err)
	}
	rw := unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}
	for _, p := range writable {
		if err := unix.MountSetattr(-1, p, 0, &rw); err != nil {
			return fmt.Errorf("make %s writable: %w", p, err)
		}
	}
	return nil
}
