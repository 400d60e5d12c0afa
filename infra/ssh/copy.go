package sshlab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// binary is a local file zt-lab copies to every host: itself, consul.
type binary struct {
	name  string // its name in the lab's bin directory on the host
	local string // its path here
	size  int64

	once sync.Once
	sum  string
	err  error

	archOnce sync.Once
	arch     string
	archErr  error
}

// runsOn says whether b is a Linux program for processor arch, and what
// to do when it is not.
func (b *binary) runsOn(arch string) error {
	b.archOnce.Do(func() { b.arch, b.archErr = BinaryArch(b.local) })
	err := b.archErr
	if err == nil && b.arch != arch {
		err = fmt.Errorf("%s is built for linux/%s, the host is linux/%s", b.local, b.arch, arch)
	}
	switch {
	case err == nil:
		return nil
	case b.name == "zt-lab":
		return fmt.Errorf("%s cannot run there: %w; pass --remote-binary FILE, a linux/%s zt-lab (make dist builds dist/zt-lab-linux-%s)", b.name, err, arch, arch)
	default:
		return fmt.Errorf("%s cannot run there: %w; the hosts need a linux/%s %s", b.name, err, arch, b.name)
	}
}

// digest is the file's SHA-256, computed once for all hosts.
func (b *binary) digest() (string, error) {
	b.once.Do(func() {
		f, err := os.Open(b.local)
		if err != nil {
			b.err = err
			return
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			b.err = err
			return
		}
		b.sum = hex.EncodeToString(h.Sum(nil))
	})
	return b.sum, b.err
}

// install copies b into binDir on the host, unless the same file is
// there already. A copy lands under a temporary name and is renamed, so a
// half-copied binary never runs, even when several hosts share a disk.
// Who owns the lab's directories and the file is checked first, always:
// a matching hash says nothing about who could swap the file next.
func install(ctx context.Context, c *ssh.Client, t Target, binDir string, b *binary) error {
	sum, err := b.digest()
	if err != nil {
		return fmt.Errorf("read %s: %w", b.local, err)
	}
	out, err := shell(ctx, c, t, installedScript(binDir, b.name), nil)
	if err != nil {
		return fmt.Errorf("install %s on %s: %w", b.name, t.Name, err)
	}
	if strings.HasPrefix(string(out), sum+" ") {
		return nil
	}
	f, err := os.Open(b.local)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := shell(ctx, c, t, copyScript(binDir, b.name, sum), f); err != nil {
		return fmt.Errorf("copy %s to %s: %w", b.name, t.Name, err)
	}
	return nil
}

// ownDirsScript makes the lab's directory and its bin directory, or checks
// them when they exist: they must be root's own, not links, and writable by
// root alone. remote_dir is often world-writable (/var/tmp), and root runs
// what is in them. Hosts that share a disk make them at the same moment:
// the one that loses the race finds them made, and checks them all the
// same.
func ownDirsScript(binDir string) string {
	return fmt.Sprintf(`set -e; umask 077; mkdir -p %[3]s
writable() { case "$(stat -c %%a "$1")" in *[2367][0-7]|*[2367]) return 0;; esac; return 1; }
for d in %[1]s %[2]s; do
  [ -e "$d" ] || [ -L "$d" ] || mkdir -m 700 "$d" 2>/dev/null || [ -d "$d" ] || { echo "cannot make $d"; exit 1; }
  if [ -L "$d" ] || [ ! -d "$d" ] || [ "$(stat -c %%u "$d")" != 0 ] || writable "$d"; then
    echo "$d is not zt-lab's (a link, not root's, or writable by others): remove it"; exit 1
  fi
done
`, shellQuote(path.Dir(binDir)), shellQuote(binDir), shellQuote(path.Dir(path.Dir(binDir))))
}

// installedScript checks the directories, then the installed file (root's,
// mode 700, not a link), and only then prints its SHA-256.
func installedScript(binDir, name string) string {
	return ownDirsScript(binDir) + fmt.Sprintf(`f=%s
if [ -e "$f" ] || [ -L "$f" ]; then
  if [ -L "$f" ] || [ ! -f "$f" ] || [ "$(stat -c %%u:%%a "$f")" != 0:700 ]; then
    echo "$f is not zt-lab's (a link, not root's, or not mode 700): remove it"; exit 1
  fi
  sha256sum "$f"
fi`, shellQuote(path.Join(binDir, name)))
}

// copyScript checks the directories again and writes stdin to the file. A
// copy is checked before it takes the binary's name: a connection lost
// mid-copy ends cat quietly.
func copyScript(binDir, name, sum string) string {
	return ownDirsScript(binDir) + fmt.Sprintf(`t=%[1]s/.%[2]s.$$; cat > "$t"
if ! echo "%[3]s  $t" | sha256sum -c --quiet - >/dev/null 2>&1; then rm -f "$t"; echo "the copy of %[2]s arrived damaged"; exit 1; fi
chmod 700 "$t"; mv -f "$t" %[4]s`, shellQuote(binDir), name, sum, shellQuote(path.Join(binDir, name)))
}
