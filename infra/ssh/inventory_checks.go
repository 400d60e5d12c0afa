package sshlab

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/ztlab/zt-lab/infra"
)

// The checks of single values of an inventory, wherever they came from: the
// file, or an Inventory made in code (Validate).

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func checkName(name string) error {
	if !dnsLabel.MatchString(name) {
		return fmt.Errorf("host name %q: use up to 63 lower-case letters, digits or '-', not starting or ending with '-'", name)
	}
	return nil
}

// splitAddress splits an SSH address into host and port ("" when not
// given). A bare IPv6 address has no port; with one it needs brackets.
func splitAddress(s string) (host, port string, err error) {
	if _, err := netip.ParseAddr(s); err == nil {
		return s, "", nil
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	} else if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
		if port == "" {
			return "", "", fmt.Errorf("address %q: the port after ':' is missing", s)
		}
	} else {
		host = s
	}
	if strings.Contains(host, ":") {
		if _, err := netip.ParseAddr(host); err != nil {
			return "", "", fmt.Errorf("address %q: want an IP or hostname with an optional :port; an IPv6 address with a port goes in brackets, [2001:db8::1]:22", s)
		}
	}
	if err := checkHost(host); err != nil {
		return "", "", fmt.Errorf("address %q: %v", s, err)
	}
	return host, port, nil
}

var hostnameRE = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$`)

// checkHost accepts an IP address or a DNS name.
func checkHost(host string) error {
	if a, err := netip.ParseAddr(host); err == nil {
		if a.IsUnspecified() || a.IsMulticast() {
			return fmt.Errorf("%s is not a host's address: give the host's own IP", host)
		}
		return nil
	}
	if len(host) > 253 || !hostnameRE.MatchString(host) {
		return fmt.Errorf("%q is neither an IP address nor a hostname", host)
	}
	return nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("port %q: want a number from 1 to 65535", s)
	}
	return int(n), nil
}

func checkLabAddr(a netip.Addr) error {
	switch {
	case !a.IsValid():
		return errors.New("no lab address: give lab_address")
	case a.IsUnspecified(), a.IsMulticast():
		return errors.New("not a host's address: give the IP the other hosts reach it on")
	case a.Zone() != "":
		return errors.New("a lab address has no %zone: remove it")
	case a.Is4In6():
		return errors.New("write the IPv4 lab address without ::ffff:")
	}
	return nil
}

var userRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,31}$`)

func checkUser(user string, sudo bool) error {
	switch {
	case user == "":
		return errors.New("user is empty: give the login name, or leave it out for root")
	case !userRE.MatchString(user):
		return fmt.Errorf("user %q: want a login name (letters, digits, '.', '_', '-')", user)
	case user != "root" && !sudo:
		return fmt.Errorf("user %q is not root: set sudo: true (zt-lab then runs its supervisor through sudo -n, which needs passwordless sudo) or log in as root", user)
	}
	return nil
}

func checkLogin(key string, agent bool) error {
	if key == "" && !agent {
		return errors.New("no way to log in: set key: to a private key file, or agent: true to use ssh-agent")
	}
	return nil
}

// checkKeyFile says whether the key file can be read; Parse errors are
// ClientConfig's, which knows whether the agent can stand in.
func checkKeyFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		switch {
		case errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("key file %s does not exist: create one (ssh-keygen -t ed25519) or fix key:", path)
		case errors.Is(err, os.ErrPermission):
			return fmt.Errorf("key file %s cannot be read by this user: fix its owner or mode", path)
		}
		return fmt.Errorf("key file %s: %v", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("key file %s: %v", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("key file %s is not a file: point key: at a private key", path)
	}
	// A public key is ClientConfig's to name; its mode means nothing.
	if data, err := io.ReadAll(io.LimitReader(f, 1<<20)); err == nil {
		if _, _, _, _, perr := ssh.ParseAuthorizedKey(data); perr == nil {
			return nil
		}
	}
	return checkKeyMode(path, fi)
}

// checkKeyMode refuses a private key file of this user's that others may
// read, as OpenSSH does ("UNPROTECTED PRIVATE KEY FILE"): a key anyone can
// copy proves nothing about who logs in.
func checkKeyMode(path string, fi os.FileInfo) error {
	uid, ok := infra.FileOwner(fi)
	if ok && uid == os.Getuid() && fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("key file %s may be read by other users (mode %04o): chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	return nil
}

func checkRemoteDir(d string) error {
	switch {
	case !strings.HasPrefix(d, "/"):
		return fmt.Errorf("remote_dir %q: want an absolute path on the hosts, like %s", d, DefaultRemoteDir)
	case d == "/":
		return fmt.Errorf("remote_dir %q: not the root directory, use a directory like %s", d, DefaultRemoteDir)
	case path.Clean(d) != d:
		return fmt.Errorf("remote_dir %q: write it as %s", d, path.Clean(d))
	case strings.Trim(d, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+") != "":
		return fmt.Errorf("remote_dir %q: use letters, digits and - _ . + / only", d)
	}
	return nil
}
