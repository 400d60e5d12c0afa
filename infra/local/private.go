package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// EnvPrivateView, set in the environment of a zt-lab that enters a
// sandbox, hides the machine's writable and private places from
// everything in the lab: /tmp, /var/tmp, /dev/shm, /run, /home and /root
// become empty tmpfs of the sandbox's own, and $HOME a size-bounded tmpfs,
// so what a lab writes lives in memory and ends with it. Its value is a
// directory that stays visible at its path (the workshop server's
// directory for this attendee: it holds $HOME and the progress pipe).
// `zt-lab serve` sets it for every attendee's lab.
const EnvPrivateView = "ZTLAB_PRIVATE_VIEW"

// maskedDirs are the directories a private view replaces with an empty
// tmpfs: every world-writable directory of a Debian root, and the homes.
var maskedDirs = []string{"/tmp", "/var/tmp", "/dev/shm", "/run", "/home", "/root"}

// Sizes of the private view's tmpfs: the masks hold a shell's scratch
// files; $HOME holds the lab's runtime directory (consul data, logs).
const (
	maskSize = "64m"
	homeSize = "512m"
)

// privateView mounts the masks, puts keep back where it was, and gives
// $HOME its tmpfs. It runs in the sandbox's mount namespace, where the
// lab process is root of its user namespace.
func privateView(keep string) error {
	if !filepath.IsAbs(keep) {
		return fmt.Errorf("%s=%s is not an absolute path", EnvPrivateView, keep)
	}
	fd, err := unix.Open(keep, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", keep, err)
	}
	defer unix.Close(fd)
	var want unix.Stat_t
	if err := unix.Fstat(fd, &want); err != nil {
		return err
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
	var now unix.Stat_t
	if err := unix.Stat(keep, &now); err != nil || now.Dev != want.Dev || now.Ino != want.Ino {
		// A mask hid it: bind the directory, still open, back on its path.
		if err := os.MkdirAll(keep, 0o700); err != nil {
			return err
		}
		if err := unix.Mount("/proc/self/fd/"+strconv.Itoa(fd), keep, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("keep %s: %w", keep, err)
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
	return nil
}
