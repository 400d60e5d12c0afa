package sshlab

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/ztlab/zt-lab/infra"
)

// sshServer is an SSH server on 127.0.0.1 that lets one key in as root
// and does nothing else. Its host keys can be replaced, as a rebuilt
// host's are.
type sshServer struct {
	Addr     string
	client   atomic.Pointer[ssh.PublicKey]
	hostKeys atomic.Pointer[[]ssh.Signer]
	logins   atomic.Int32
}

func newSSHServer(t *testing.T, client ssh.PublicKey) *sshServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sshServer{Addr: ln.Addr().String()}
	s.setClient(client)
	s.setHostKeys(newHostKey(t))
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { s.serve(c) })
		}
	})
	return s
}

// setClient changes the one key the server lets in.
func (s *sshServer) setClient(k ssh.PublicKey) { s.client.Store(&k) }

func (s *sshServer) setHostKeys(keys ...ssh.Signer) { s.hostKeys.Store(&keys) }

// hostKey is the public half of the server's first host key.
func (s *sshServer) hostKey() ssh.PublicKey { return (*s.hostKeys.Load())[0].PublicKey() }

func (s *sshServer) serve(c net.Conn) {
	defer c.Close()
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if meta.User() == "root" && sameKey(key, *s.client.Load()) {
				return nil, nil
			}
			return nil, errors.New("not this key")
		},
		// Counted here, before the client hears it is in.
		AuthLogCallback: func(_ ssh.ConnMetadata, method string, err error) {
			if method == "publickey" && err == nil {
				s.logins.Add(1)
			}
		},
	}
	for _, k := range *s.hostKeys.Load() {
		cfg.AddHostKey(k)
	}
	conn, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for ch := range chans {
		ch.Reject(ssh.Prohibited, "a test server")
	}
	conn.Close()
}

func newHostKey(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// loginTo is a target that logs in to s with the key file.
func loginTo(s *sshServer, keyFile string) Target {
	return Target{Name: "consul00", Role: infra.RoleConsul, Addr: s.Addr, User: "root", KeyFile: keyFile}
}

// connect logs in to t and out again.
func connect(t Target, hostKey ssh.HostKeyCallback) error {
	cfg, release, err := ClientConfig(t, hostKey)
	if err != nil {
		return err
	}
	defer release()
	c, err := ssh.Dial("tcp", t.Addr, cfg)
	if err != nil {
		return err
	}
	return c.Close()
}

// askCounter trusts as answer says and counts the questions.
func askCounter(answer bool) (Trust, *atomic.Int32) {
	var n atomic.Int32
	return func(string, net.Addr, ssh.PublicKey) bool { n.Add(1); return answer }, &n
}

func TestHostKeySeenFirstIsAskedAboutRecordedThenVerified(t *testing.T) {
	keyFile, clientKey := writeKey(t, t.TempDir(), "id")
	srv := newSSHServer(t, clientKey)
	file := filepath.Join(t.TempDir(), "home", ".ssh", "known_hosts")

	var out bytes.Buffer
	check, err := HostKeyCallback(file, PromptTrust(strings.NewReader("yes\n"), &out))
	if err != nil {
		t.Fatal(err)
	}
	if err := connect(loginTo(srv, keyFile), check); err != nil {
		t.Fatalf("the user said yes: %v", err)
	}
	fp := ssh.FingerprintSHA256(srv.hostKey())
	for _, want := range []string{srv.Addr, "ssh-ed25519", fp, "Trust it and add it to " + file + "? [y/N] "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the question\n%s\ndoes not show %q", out.String(), want)
		}
	}

	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("known_hosts not written: %v", err)
	}
	if want := knownhosts.Line([]string{srv.Addr}, srv.hostKey()) + "\n"; string(data) != want {
		t.Errorf("known_hosts holds\n%q\nwant\n%q", data, want)
	}
	for path, mode := range map[string]os.FileMode{file: 0o600, filepath.Dir(file): 0o700 | os.ModeDir} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != mode {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode(), err, mode)
		}
	}

	// The same callback, and one reading the file afresh, know the host now.
	out.Reset()
	if err := connect(loginTo(srv, keyFile), check); err != nil || out.Len() > 0 {
		t.Errorf("second connection: %v, asked %q", err, out.String())
	}
	trust, asked := askCounter(false)
	again, err := HostKeyCallback(file, trust)
	if err != nil {
		t.Fatal(err)
	}
	if err := connect(loginTo(srv, keyFile), again); err != nil || asked.Load() != 0 {
		t.Errorf("a new callback on the written file: %v, asked %d times", err, asked.Load())
	}
	if srv.logins.Load() != 3 {
		t.Errorf("%d logins, want 3", srv.logins.Load())
	}
}

func TestHostKeyRefusedIsNotRecorded(t *testing.T) {
	keyFile, clientKey := writeKey(t, t.TempDir(), "id")
	srv := newSSHServer(t, clientKey)
	file := filepath.Join(t.TempDir(), "known_hosts")
	for _, answer := range []string{"n\n", "\n", "", "yess\n", "no, y\n"} {
		var out bytes.Buffer
		check, err := HostKeyCallback(file, PromptTrust(strings.NewReader(answer), &out))
		if err != nil {
			t.Fatal(err)
		}
		err = connect(loginTo(srv, keyFile), check)
		want := fmt.Sprintf("host key of %s (%s) is not known: add it to %s, or pass --trust-new-hosts", srv.Addr, ssh.FingerprintSHA256(srv.hostKey()), file)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("answer %q: %v, want %q", answer, err, want)
		}
		if !strings.Contains(out.String(), "[y/N]") {
			t.Errorf("answer %q: the user was not asked: %q", answer, out.String())
		}
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("known_hosts written though every answer refused: %v", err)
	}
	if srv.logins.Load() != 0 {
		t.Errorf("%d logins to a host nobody trusted", srv.logins.Load())
	}
	check, err := HostKeyCallback(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := connect(loginTo(srv, keyFile), check); err == nil || !strings.Contains(err.Error(), "is not known") {
		t.Errorf("no Trust: %v, want a refusal", err)
	}
}

func TestHostKeyThatChangedIsRefusedNamingTheLine(t *testing.T) {
	keyFile, clientKey := writeKey(t, t.TempDir(), "id")
	srv := newSSHServer(t, clientKey)
	file := filepath.Join(t.TempDir(), "known_hosts")
	other := newHostKey(t).PublicKey()
	// No newline at the end: the recorded line must still be a line.
	start := "# hosts of the lab\n" + knownhosts.Line([]string{"192.0.2.1"}, other)
	if err := os.WriteFile(file, []byte(start), 0o600); err != nil {
		t.Fatal(err)
	}
	check, err := HostKeyCallback(file, TrustAll("the test trusts the first key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := connect(loginTo(srv, keyFile), check); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(file)
	if lines := strings.Split(string(data), "\n"); len(lines) != 4 || lines[2] != knownhosts.Line([]string{srv.Addr}, srv.hostKey()) {
		t.Fatalf("known_hosts after trust:\n%s", data)
	}

	old := srv.hostKey()
	srv.setHostKeys(newHostKey(t)) // the host was rebuilt, or someone is in the middle
	trust, asked := askCounter(true)
	for name, cb := range map[string]ssh.HostKeyCallback{"the same callback": check, "a new callback": must(HostKeyCallback(file, trust))} {
		err := connect(loginTo(srv, keyFile), cb)
		if err == nil {
			t.Fatalf("%s: the changed key was accepted", name)
		}
		for _, want := range []string{
			"host key of " + srv.Addr + " has changed",
			ssh.FingerprintSHA256(srv.hostKey()),
			file + ":3 (ssh-ed25519 " + ssh.FingerprintSHA256(old) + ")",
			"may be an attack, or the host was rebuilt",
			"remove line 3 of " + file,
			"ssh-keygen -R [127.0.0.1]:",
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v\ndoes not say %q", name, err, want)
			}
		}
	}
	if asked.Load() != 0 {
		t.Error("a changed key was offered to trust")
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(after, data) {
		t.Errorf("known_hosts changed by a refused key:\n%s", after)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestHostKeyParallelNewHostsAreRecordedOnceEach(t *testing.T) {
	keyFile, clientKey := writeKey(t, t.TempDir(), "id")
	file := filepath.Join(t.TempDir(), "known_hosts")
	check, err := HostKeyCallback(file, TrustAll("--trust-new-hosts"))
	if err != nil {
		t.Fatal(err)
	}
	var servers []*sshServer
	for range 5 {
		servers = append(servers, newSSHServer(t, clientKey))
	}
	// Two connections to each host at once: the second must find the key
	// the first recorded, not record it again.
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for _, s := range servers {
		for range 2 {
			wg.Go(func() { errs <- connect(loginTo(s, keyFile), check) })
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}

	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, s := range servers {
		want[knownhosts.Line([]string{s.Addr}, s.hostKey())] = true
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 5:\n%s", len(lines), data)
	}
	for _, l := range lines {
		if !want[l] {
			t.Errorf("line %q is not one of the hosts' keys", l)
		}
		delete(want, l)
		if _, _, _, _, _, err := ssh.ParseKnownHosts([]byte(l)); err != nil {
			t.Errorf("line %q does not parse: %v", l, err)
		}
	}

	trust, asked := askCounter(false)
	again := must(HostKeyCallback(file, trust))
	for _, s := range servers {
		if err := connect(loginTo(s, keyFile), again); err != nil {
			t.Error(err)
		}
	}
	if asked.Load() != 0 {
		t.Errorf("asked %d times about hosts the file knows", asked.Load())
	}
}

func TestHostKeyRevokedIsRefused(t *testing.T) {
	keyFile, clientKey := writeKey(t, t.TempDir(), "id")
	srv := newSSHServer(t, clientKey)
	file := filepath.Join(t.TempDir(), "known_hosts")
	line := "@revoked * " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(srv.hostKey())))
	if err := os.WriteFile(file, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	trust, asked := askCounter(true)
	err := connect(loginTo(srv, keyFile), must(HostKeyCallback(file, trust)))
	if err == nil || !strings.Contains(err.Error(), "is marked @revoked at "+file+":1") || asked.Load() != 0 {
		t.Errorf("revoked key: %v (asked %d times)", err, asked.Load())
	}
}

func TestHostKeyKnownByAnotherTypeIsAskedForThatType(t *testing.T) {
	keyFile, clientKey := writeKey(t, t.TempDir(), "id")
	srv := newSSHServer(t, clientKey)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ssh.NewSignerFromKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	ed := newHostKey(t)
	// x/crypto prefers ECDSA; OpenSSH recorded the ed25519 key.
	srv.setHostKeys(ec, ed)
	file := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(file, []byte(knownhosts.Line([]string{srv.Addr}, ed.PublicKey())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	trust, asked := askCounter(false)
	if err := connect(loginTo(srv, keyFile), must(HostKeyCallback(file, trust))); err != nil || asked.Load() != 0 {
		t.Errorf("a host known by its ed25519 key: %v (asked %d times)", err, asked.Load())
	}
}

func TestHostKeyFileThatDoesNotParseIsRefusedNamingTheLine(t *testing.T) {
	file := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(file, []byte("# fine\nexample.net ssh-ed25519 not-base64!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := HostKeyCallback(file, nil)
	if err == nil || !strings.Contains(err.Error(), file+":2:") || !strings.Contains(err.Error(), "fix or remove that line") {
		t.Errorf("a bad line: %v", err)
	}
	if _, err := HostKeyCallback("", nil); err == nil {
		t.Error("no file accepted")
	}
}
