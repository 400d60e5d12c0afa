package sshlab

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Trust asks the user whether to trust a host's key seen for the first
// time; true records it.
type Trust func(host string, remote net.Addr, key ssh.PublicKey) bool

// HostKeyCallback verifies hosts against the OpenSSH known_hosts file at
// knownHostsPath. A host the file does not know is shown to trust, and its
// key appended to the file (created if missing) when trust says yes; a
// nil trust refuses every new host. A key that differs from the file's is
// refused: that is either an attack or a rebuilt host, and only the user
// can tell which. The callback is safe for parallel connections.
func HostKeyCallback(knownHostsPath string, trust Trust) (ssh.HostKeyCallback, error) {
	if knownHostsPath == "" {
		return nil, errors.New("no known_hosts file to check host keys against: give one")
	}
	if trust == nil {
		trust = func(string, net.Addr, ssh.PublicKey) bool { return false }
	}
	k := &knownHosts{path: knownHostsPath, trust: trust}
	if err := k.load(); err != nil {
		return nil, err
	}
	return k.check, nil
}

// knownHosts is a known_hosts file and the keys it held when last read.
type knownHosts struct {
	path  string
	trust Trust

	// learning is held while a new key is asked about and recorded, so
	// that parallel connections ask one at a time and each sees the keys
	// the others recorded.
	learning sync.Mutex

	mu sync.RWMutex
	db ssh.HostKeyCallback
}

// load reads the file again; a missing file is an empty one.
func (k *knownHosts) load() error {
	db, err := knownhosts.New(k.path)
	if errors.Is(err, fs.ErrNotExist) {
		db, err = knownhosts.New()
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("read known hosts %s: %v", k.path, pe.Err)
		}
		return fmt.Errorf("known hosts %s: %s: fix or remove that line", k.path, strings.TrimPrefix(err.Error(), "knownhosts: "))
	}
	k.mu.Lock()
	k.db = db
	k.mu.Unlock()
	return nil
}

func (k *knownHosts) lookup(host string, remote net.Addr, key ssh.PublicKey) error {
	k.mu.RLock()
	db := k.db
	k.mu.RUnlock()
	return db(host, remote, key)
}

func (k *knownHosts) check(host string, remote net.Addr, key ssh.PublicKey) error {
	err := k.lookup(host, remote, key)
	if _, ok := key.(probeKey); ok {
		return err
	}
	if !unknown(err) {
		return k.explain(host, key, err)
	}
	return k.learn(host, remote, key)
}

// learn asks about a host the file does not know and records its key.
func (k *knownHosts) learn(host string, remote net.Addr, key ssh.PublicKey) error {
	k.learning.Lock()
	defer k.learning.Unlock()
	// Another connection to the same host may have recorded it meanwhile.
	if err := k.lookup(host, remote, key); !unknown(err) {
		return k.explain(host, key, err)
	}
	if !k.trust(host, trustAddr{remote, k.path}, key) {
		return fmt.Errorf("host key of %s (%s) is not known: add it to %s, or pass --trust-new-hosts",
			host, ssh.FingerprintSHA256(key), k.path)
	}
	if host == "" {
		host = remote.String()
	}
	if err := appendLine(k.path, knownhosts.Line([]string{host}, key)); err != nil {
		return fmt.Errorf("record host key of %s: %w", host, err)
	}
	return k.load()
}

// unknown says whether err is knownhosts' "never seen this host".
func unknown(err error) bool {
	var ke *knownhosts.KeyError
	return errors.As(err, &ke) && len(ke.Want) == 0
}

// explain turns a refusal into what the user should know and do.
func (k *knownHosts) explain(host string, key ssh.PublicKey, err error) error {
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		return fmt.Errorf("host key of %s (%s) is marked @revoked at %s:%d: refusing to connect; if the host has a new key, remove the old one from the file",
			host, ssh.FingerprintSHA256(key), re.Revoked.Filename, re.Revoked.Line)
	case errors.As(err, &ke) && len(ke.Want) > 0:
		return changedKey(host, key, ke.Want)
	}
	return fmt.Errorf("check host key of %s: %w", host, err)
}

func changedKey(host string, key ssh.PublicKey, want []knownhosts.KnownKey) error {
	var at, lines []string
	for _, w := range want {
		at = append(at, fmt.Sprintf("%s:%d (%s %s)", w.Filename, w.Line, w.Key.Type(), ssh.FingerprintSHA256(w.Key)))
		lines = append(lines, fmt.Sprint(w.Line))
	}
	file := want[0].Filename
	return fmt.Errorf("host key of %s has changed: it is now %s %s, but %s holds the key it had. "+
		"This may be an attack, or the host was rebuilt: if you know it was, remove line %s of %s (ssh-keygen -R %s -f %s) and connect again",
		host, key.Type(), ssh.FingerprintSHA256(key), strings.Join(at, ", "),
		strings.Join(lines, ", "), file, knownhosts.Normalize(host), file)
}

// appendLine adds a line to a known_hosts file, creating it (and its
// directory) private to the user. The lock keeps the lines of parallel
// zt-labs whole.
func appendLine(path, line string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		return fmt.Errorf("lock %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	// A file whose last line has no newline would join the new line to it.
	if fi.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, fi.Size()-1); err != nil {
			return err
		}
		if last[0] != '\n' {
			line = "\n" + line
		}
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		return err
	}
	return f.Close()
}

// trustAddr is the remote address handed to a Trust. It also carries the
// file a trusted key goes to, so that PromptTrust can name it.
type trustAddr struct {
	net.Addr
	file string
}

// PromptTrust asks on out, and reads the answer from in: only "y" or
// "yes" trusts. Questions from parallel connections take turns.
func PromptTrust(in io.Reader, out io.Writer) Trust {
	r := bufio.NewReader(in)
	var mu sync.Mutex
	return func(host string, remote net.Addr, key ssh.PublicKey) bool {
		mu.Lock()
		defer mu.Unlock()
		file := "known_hosts"
		if ta, ok := remote.(trustAddr); ok {
			file, remote = ta.file, ta.Addr
		}
		where := host
		if remote != nil && remote.String() != host {
			where += " (" + remote.String() + ")"
		}
		fmt.Fprintf(out, "The host %s is not known yet.\nIts %s key fingerprint is %s.\nTrust it and add it to %s? [y/N] ",
			where, key.Type(), ssh.FingerprintSHA256(key), file)
		answer, err := r.ReadString('\n')
		if err != nil {
			fmt.Fprintln(out)
		}
		switch strings.ToLower(strings.TrimSpace(answer)) {
		case "y", "yes":
			return true
		}
		return false
	}
}

// TrustAll trusts and records every new host key without a word, as
// --trust-new-hosts asks. reason says, for the reader of the call, who
// asked for it.
func TrustAll(reason string) Trust {
	_ = reason
	return func(string, net.Addr, ssh.PublicKey) bool { return true }
}

// probeKey is a key no host has. Asked about it, a callback made by
// HostKeyCallback answers without asking anyone, with the keys the file
// knows for the host (a KeyError), so ClientConfig can ask the host for a
// key of a type the file holds.
type probeKey struct{}

func (probeKey) Type() string    { return "zt-lab-probe" }
func (probeKey) Marshal() []byte { return []byte("zt-lab-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error {
	return errors.New("zt-lab-probe verifies nothing")
}
