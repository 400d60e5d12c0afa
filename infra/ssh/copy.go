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
func install(ctx context.Context, c *ssh.Client, t Target, binDir string, b *binary) (copied bool, err error) {
	sum, err := b.digest()
	if err != nil {
		return false, fmt.Errorf("read %s: %w", b.local, err)
	}
	dst := path.Join(binDir, b.name)
	out, _ := shell(ctx, c, t, "sha256sum "+shellQuote(dst)+" 2>/dev/null || true", nil)
	if strings.HasPrefix(string(out), sum) {
		return false, nil
	}
	f, err := os.Open(b.local)
	if err != nil {
		return false, err
	}
	defer f.Close()
	script := fmt.Sprintf(`set -e; umask 077; mkdir -p %[1]s; t=%[1]s/.%[2]s.$$; cat > "$t"; chmod 700 "$t"; mv -f "$t" %[3]s`,
		shellQuote(binDir), b.name, shellQuote(dst))
	if _, err := shell(ctx, c, t, script, f); err != nil {
		return false, fmt.Errorf("copy %s to %s: %w", b.name, t.Name, err)
	}
	return true, nil
}
