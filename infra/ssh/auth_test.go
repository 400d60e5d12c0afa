package sshlab

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// serveAgent serves keyring on a socket that SSH_AUTH_SOCK names for the
// rest of the test.
func serveAgent(t *testing.T, keyring agent.Agent) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvAgent, sock)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { defer c.Close(); _ = agent.ServeAgent(keyring, c) })
		}
	})
}

// trusting is a host key check that trusts every host, recording it in a
// file of the test's own.
func trusting(t *testing.T) ssh.HostKeyCallback {
	t.Helper()
	return must(HostKeyCallback(filepath.Join(t.TempDir(), "known_hosts"), TrustAll("a test server")))
}

func TestAuthWithAKeyFile(t *testing.T) {
	keyFile, clientKey := writeKey(t, t.TempDir(), "id_ed25519")
	srv := newSSHServer(t, clientKey)
	target := loginTo(srv, keyFile)

	cfg, release, err := ClientConfig(target, trusting(t))
	if err != nil {
		t.Fatal(err)
	}
	release()
	if cfg.User != "root" || cfg.Timeout != HandshakeTimeout || cfg.HostKeyCallback == nil {
		t.Errorf("config %+v: want user root, a %v timeout and the host key check", cfg, HandshakeTimeout)
	}
	if err := connect(target, trusting(t)); err != nil {
		t.Fatalf("log in with the key file: %v", err)
	}

	stranger, _ := writeKey(t, t.TempDir(), "id_other")
	if err := connect(loginTo(srv, stranger), trusting(t)); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("a key the server does not know: %v", err)
	}
	if srv.logins.Load() != 1 {
		t.Errorf("%d logins, want 1", srv.logins.Load())
	}
}

func TestAuthWithTheAgent(t *testing.T) {
	priv := newClientKey(t)
	srv := newSSHServer(t, publicOf(t, priv))
	keyring := agent.NewKeyring()
	// A key the server does not know comes first in the agent.
	if err := keyring.Add(agent.AddedKey{PrivateKey: newClientKey(t)}); err != nil {
		t.Fatal(err)
	}
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	serveAgent(t, keyring)

	target := loginTo(srv, "")
	target.Agent = true
	if err := connect(target, trusting(t)); err != nil {
		t.Fatalf("log in with the agent: %v", err)
	}
	if srv.logins.Load() != 1 {
		t.Errorf("%d logins, want 1", srv.logins.Load())
	}
}

func TestAuthPassphraseKeyNeedsTheAgent(t *testing.T) {
	priv := newClientKey(t)
	srv := newSSHServer(t, publicOf(t, priv))
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	keyFile := writePEM(t, t.TempDir(), "id_locked", block)
	target := loginTo(srv, keyFile)

	_, _, err = ClientConfig(target, trusting(t))
	if err == nil || !strings.Contains(err.Error(), "is protected by a passphrase: load it into ssh-agent (ssh-add "+keyFile+") and set agent: true") {
		t.Errorf("a locked key without the agent: %v", err)
	}

	keyring := agent.NewKeyring()
	serveAgent(t, keyring)
	target.Agent = true
	if _, _, err := ClientConfig(target, trusting(t)); err == nil || !strings.Contains(err.Error(), "ssh-agent does not hold it: ssh-add "+keyFile) {
		t.Errorf("a locked key the agent does not hold: %v", err)
	}
	for range 3 { // the agent's other keys come after the file's
		if err := keyring.Add(agent.AddedKey{PrivateKey: newClientKey(t)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	if err := connect(target, trusting(t)); err != nil {
		t.Errorf("a locked key the agent holds: %v", err)
	}
}

func TestAuthMistakesSayWhatToDo(t *testing.T) {
	dir := t.TempDir()
	keyFile, clientKey := writeKey(t, dir, "id_ed25519")
	pubFile := filepath.Join(dir, "id_ed25519.pub")
	if err := os.WriteFile(pubFile, ssh.MarshalAuthorizedKey(clientKey), 0o644); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	openKey, _ := writeKey(t, dir, "id_open")
	if err := os.Chmod(openKey, 0o644); err != nil {
		t.Fatal(err)
	}
	base := Target{Name: "fcs00", Addr: "127.0.0.1:22", User: "root"}
	with := func(change func(*Target)) Target { tg := base; change(&tg); return tg }
	cases := []struct {
		name   string
		target Target
		setup  func(t *testing.T)
		want   string
	}{
		{"a public key file", with(func(tg *Target) { tg.KeyFile = pubFile }), nil,
			"host fcs00: key file " + pubFile + " is a public key: point key: at the private key"},
		{"a private key others may read", with(func(tg *Target) { tg.KeyFile = openKey }), nil,
			"host fcs00: key file " + openKey + " may be read by other users (mode 0644): chmod 600 " + openKey},
		{"a file that is no key", with(func(tg *Target) { tg.KeyFile = junk }), nil,
			"host fcs00: key file " + junk + " is not a private key zt-lab can read"},
		{"a key file that went away", with(func(tg *Target) { tg.KeyFile = keyFile + ".gone" }), nil,
			"host fcs00: read key file: open " + keyFile + ".gone: no such file or directory: fix key:"},
		{"the agent without SSH_AUTH_SOCK", with(func(tg *Target) { tg.Agent = true }), func(t *testing.T) { t.Setenv(EnvAgent, "") },
			"host fcs00 uses agent: true but SSH_AUTH_SOCK is not set: start ssh-agent"},
		{"an agent that is not there", with(func(tg *Target) { tg.Agent = true }), func(t *testing.T) { t.Setenv(EnvAgent, filepath.Join(dir, "no.sock")) },
			"host fcs00: cannot reach ssh-agent at " + filepath.Join(dir, "no.sock")},
		{"an agent with no keys", with(func(tg *Target) { tg.Agent = true }), func(t *testing.T) { serveAgent(t, agent.NewKeyring()) },
			"holds no keys: ssh-add your key"},
		{"neither key nor agent", base, nil, "host fcs00: no key to log in with"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup(t)
			}
			_, release, err := ClientConfig(tc.target, trusting(t))
			if release == nil {
				t.Error("release is nil")
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v\nwant %q", err, tc.want)
			}
		})
	}

	if _, _, err := ClientConfig(with(func(tg *Target) { tg.KeyFile = keyFile }), nil); err == nil || !strings.Contains(err.Error(), "no host key check") {
		t.Errorf("no host key check: %v", err)
	}
}
