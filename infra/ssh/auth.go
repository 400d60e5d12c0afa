package sshlab

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HandshakeTimeout bounds the TCP connect of ssh.Dial (ClientConfig's
// Timeout). A caller that dials itself bounds the handshake with the
// connection's deadline.
const HandshakeTimeout = 10 * time.Second

// EnvAgent names the ssh-agent's socket, as OpenSSH's tools do.
const EnvAgent = "SSH_AUTH_SOCK"

// ClientConfig is the x/crypto/ssh client config for t: its user, auth
// from its key file and/or agent, the given host key callback, a 10 s
// handshake timeout. The returned close func releases the agent
// connection; it is never nil.
func ClientConfig(t Target, hostKey ssh.HostKeyCallback) (*ssh.ClientConfig, func(), error) {
	release := func() {}
	if hostKey == nil {
		return nil, release, fmt.Errorf("host %s: no host key check: make one with HostKeyCallback", t.Name)
	}
	fileKey, prefer, err := readKey(t)
	if err != nil {
		return nil, release, err
	}
	signers := []ssh.Signer{}
	if fileKey != nil {
		signers = append(signers, fileKey)
	}
	if t.Agent {
		agentKeys, closeAgent, err := agentSigners(t, prefer, fileKey == nil)
		if err != nil {
			return nil, release, err
		}
		release = closeAgent
		for _, s := range agentKeys {
			if fileKey == nil || !sameKey(s.PublicKey(), fileKey.PublicKey()) {
				signers = append(signers, s)
			}
		}
	}
	if len(signers) == 0 {
		release()
		return nil, func() {}, fmt.Errorf("host %s: no key to log in with: set key: or agent: true in the inventory", t.Name)
	}
	cfg := &ssh.ClientConfig{
		User:              t.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(signers...)},
		HostKeyCallback:   hostKey,
		HostKeyAlgorithms: knownAlgorithms(hostKey, t.Addr),
		Timeout:           HandshakeTimeout,
	}
	return cfg, release, nil
}

// readKey reads t's key file. A passphrase-protected key cannot be used
// here, but when the agent is on it may hold it: then its public half says
// which of the agent's keys to try first.
func readKey(t Target) (signer ssh.Signer, prefer ssh.PublicKey, err error) {
	if t.KeyFile == "" {
		return nil, nil, nil
	}
	f, err := os.Open(t.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("host %s: read key file: %w: fix key: in the inventory", t.Name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("host %s: read key file: %w", t.Name, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("host %s: read key file: %w: fix key: in the inventory", t.Name, err)
	}
	if _, _, _, _, perr := ssh.ParseAuthorizedKey(data); perr == nil {
		return nil, nil, fmt.Errorf("host %s: key file %s is a public key: point key: at the private key (the file without .pub)", t.Name, t.KeyFile)
	}
	if err := checkKeyMode(t.KeyFile, fi); err != nil {
		return nil, nil, fmt.Errorf("host %s: %w", t.Name, err)
	}
	signer, err = ssh.ParsePrivateKey(data)
	var pme *ssh.PassphraseMissingError
	switch {
	case err == nil:
		return signer, signer.PublicKey(), nil
	case errors.As(err, &pme) && t.Agent:
		return nil, pme.PublicKey, nil
	case errors.As(err, &pme):
		return nil, nil, fmt.Errorf("host %s: key file %s is protected by a passphrase: load it into ssh-agent (ssh-add %s) and set agent: true in the inventory",
			t.Name, t.KeyFile, t.KeyFile)
	}
	return nil, nil, fmt.Errorf("host %s: key file %s is not a private key zt-lab can read (%v): give an OpenSSH or PEM private key", t.Name, t.KeyFile, err)
}

// agentSigners are the agent's keys, the preferred one first. need says
// the agent is the only way in, so it must hold the preferred key (when
// there is one) or at least some key.
func agentSigners(t Target, prefer ssh.PublicKey, need bool) ([]ssh.Signer, func(), error) {
	sock := os.Getenv(EnvAgent)
	if sock == "" {
		return nil, nil, fmt.Errorf("host %s uses agent: true but %s is not set: start ssh-agent (eval \"$(ssh-agent)\"), ssh-add your key, or set key: instead", t.Name, EnvAgent)
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, nil, fmt.Errorf("host %s: cannot reach ssh-agent at %s (%v): is it running? %s may be stale", t.Name, sock, err, EnvAgent)
	}
	release := func() { conn.Close() }
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("host %s: list the keys of ssh-agent at %s: %w", t.Name, sock, err)
	}
	signers = preferKey(signers, prefer)
	switch {
	case !need:
	case prefer != nil && (len(signers) == 0 || !sameKey(signers[0].PublicKey(), prefer)):
		release()
		return nil, nil, fmt.Errorf("host %s: key file %s is protected by a passphrase and ssh-agent does not hold it: ssh-add %s", t.Name, t.KeyFile, t.KeyFile)
	case len(signers) == 0:
		release()
		return nil, nil, fmt.Errorf("host %s: ssh-agent at %s holds no keys: ssh-add your key", t.Name, sock)
	}
	return signers, release, nil
}

// preferKey puts the signer for key first: a server counts every key
// offered against its MaxAuthTries, so the right one goes first.
func preferKey(signers []ssh.Signer, key ssh.PublicKey) []ssh.Signer {
	if key == nil {
		return signers
	}
	i := slices.IndexFunc(signers, func(s ssh.Signer) bool { return sameKey(s.PublicKey(), key) })
	if i <= 0 {
		return signers
	}
	out := append([]ssh.Signer{signers[i]}, signers[:i]...)
	return append(out, signers[i+1:]...)
}

func sameKey(a, b ssh.PublicKey) bool {
	return bytes.Equal(a.Marshal(), b.Marshal())
}

// knownAlgorithms are the host key algorithms to ask addr for: those of
// the keys the callback knows for it, or nil (x/crypto's defaults) for a
// new host. Without this a host the file knows by its ed25519 key would
// show its ECDSA key (x/crypto prefers ECDSA) and look changed.
func knownAlgorithms(hostKey ssh.HostKeyCallback, addr string) []string {
	err := hostKey(addr, &net.TCPAddr{IP: net.IPv4zero, Port: 22}, probeKey{})
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return nil
	}
	usable := map[string]bool{}
	for _, a := range slices.Concat(ssh.SupportedAlgorithms().HostKeys, ssh.InsecureAlgorithms().HostKeys) {
		usable[a] = true
	}
	var algos []string
	for _, k := range ke.Want {
		for _, a := range algorithmsFor(k.Key.Type()) {
			if usable[a] && !slices.Contains(algos, a) {
				algos = append(algos, a)
			}
		}
	}
	return algos
}

// algorithmsFor are the host key algorithms that show a key of type typ,
// certificates first as in x/crypto's defaults (a @cert-authority line
// holds the authority's key).
func algorithmsFor(typ string) []string {
	switch typ {
	case ssh.KeyAlgoRSA:
		return []string{ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	case ssh.KeyAlgoED25519:
		return []string{ssh.CertAlgoED25519v01, ssh.KeyAlgoED25519}
	case ssh.KeyAlgoECDSA256:
		return []string{ssh.CertAlgoECDSA256v01, ssh.KeyAlgoECDSA256}
	case ssh.KeyAlgoECDSA384:
		return []string{ssh.CertAlgoECDSA384v01, ssh.KeyAlgoECDSA384}
	case ssh.KeyAlgoECDSA521:
		return []string{ssh.CertAlgoECDSA521v01, ssh.KeyAlgoECDSA521}
	}
	return []string{typ}
}
