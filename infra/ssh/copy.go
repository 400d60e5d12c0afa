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
func install(ctx context.Context, c *ssh.Client, t Target, binDir string, b *binary) error {
	sum, err := b.digest()
	if err != nil {
		return fmt.Errorf("read %s: %w", b.local, err)
	}
	dst := path.Join(binDir, b.name)
	out, _ := shell(ctx, c, t, "sha256sum "+shellQuote(dst)+" 2>/dev/null || true", nil)
	if strings.HasPrefix(string(out), sum) {
		return nil
	}
	f, err := os.Open(b.local)
	if err != nil {
		return err
	}
	defer f.Close()
	// The lab's directory must be root's own: remote_dir is often
	// world-writable (/var/tmp), and root runs what is in it. Hosts that
	// share a disk make it at the same moment: the one that loses the race
	// finds it made, and checks it all the same. A copy is checked before
	// it takes the binary's name: a connection lost mid-copy ends cat
	// quietly.
	script := fmt.Sprintf(`set -e; umask 077; mkdir -p %[6]s
for d in %[1]s %[2]s; do
  [ -e "$d" ] || [ -L "$d" ] || mkdir -m 700 "$d" 2>/dev/null || [ -d "$d" ] || { echo "cannot make $d"; exit 1; }
  if [ -L "$d" ] || [ "$(stat -c %%u "$d")" != 0 ]; then echo "$d is not zt-lab's (a link, or not root's): remove it"; exit 1; fi
done
t=%[2]s/.%[3]s.$$; cat > "$t"
if ! echo "%[4]s  $t" | sha256sum -c --quiet - >/dev/null 2>&1; then rm -f "$t"; echo "the copy of %[3]s arrived damaged"; exit 1; fi
chmod 700 "$t"; mv -f "$t" %[5]s`,
		shellQuote(path.Dir(binDir)), shellQuote(binDir), b.name, sum, shellQuote(dst), shellQuote(path.Dir(path.Dir(binDir))))
	if _, err := shell(ctx, c, t, script, f); err != nil {
		return fmt.Errorf("copy %s to %s: %w", b.name, t.Name, err)
	}
	return nil
}
