package sshlab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ztlab/zt-lab/infra"
)

// Building the inventory host by host: each setting is the host's own or
// the top of the file's, checked where it was written.

// inventory checks f and builds the Inventory.
func (p *parser) inventory(f *fileInventory, lines []int) (*Inventory, error) {
	inv := &Inventory{}
	var err error
	if inv.RemoteDir, err = p.remoteDir(&f.RemoteDir); err != nil {
		return nil, err
	}
	if inv.KnownHosts, err = p.knownHosts(&f.KnownHosts); err != nil {
		return nil, err
	}
	if len(f.Hosts) == 0 {
		return nil, p.noHosts()
	}
	names := map[string]int{}
	labAddrs := map[netip.Addr]string{}
	for i := range f.Hosts {
		h := &f.Hosts[i]
		line := 1
		if i < len(lines) {
			line = lines[i]
		}
		t, err := p.host(f, h, i, line)
		if err != nil {
			return nil, err
		}
		if at, ok := names[t.Name]; ok {
			return nil, p.at(&h.Name, "host %q is listed twice (also at line %d): give each host its own name", t.Name, at)
		}
		names[t.Name] = h.Name.Line
		if other, ok := labAddrs[t.LabAddr]; ok {
			n := &h.LabAddress
			if n.Kind == 0 {
				n = &h.Address
			}
			return nil, p.at(n, "hosts %q and %q share lab address %s: give each its own lab_address", other, t.Name, t.LabAddr)
		}
		labAddrs[t.LabAddr] = t.Name
		inv.Hosts = append(inv.Hosts, t)
	}
	return inv, nil
}

// host checks one host of the file; settings it does not give come from
// the top of the file.
func (p *parser) host(f *fileInventory, h *fileHost, i, line int) (Target, error) {
	name, err := p.str(&h.Name)
	if err != nil {
		return Target{}, err
	}
	if name == "" {
		return Target{}, fmt.Errorf("%s:%d: host %d has no name: add name: with a short name like consul00", p.name, line, i+1)
	}
	if err := checkName(name); err != nil {
		return Target{}, p.at(&h.Name, "%v", err)
	}
	// From here on every message names the host.
	hp := &hostParser{parser: p, host: name, line: line}
	t := Target{Name: name}
	if t.Role, err = hp.role(&h.Role); err != nil {
		return Target{}, err
	}
	if err := checkNameRole(name, t.Role); err != nil {
		return Target{}, hp.at(&h.Role, "%v", err)
	}
	if t.Addr, t.LabAddr, err = hp.addresses(h, pick(h.Port, f.Port)); err != nil {
		return Target{}, err
	}
	if t.User, t.Sudo, err = hp.user(pick(h.User, f.User), pick(h.Sudo, f.Sudo)); err != nil {
		return Target{}, err
	}
	if t.KeyFile, t.Agent, err = hp.login(pick(h.Key, f.Key), pick(h.Agent, f.Agent)); err != nil {
		return Target{}, err
	}
	return t, nil
}

// pick is the host's own setting when it has one, else the file's.
func pick(own, top yaml.Node) setting {
	if own.Kind != 0 {
		return setting{&own}
	}
	return setting{&top}
}

type hostParser struct {
	*parser
	host string
	line int // the host's first line, for what is missing
}

// at is an error about this host at n's line, or the host's.
func (hp *hostParser) at(n *yaml.Node, format string, args ...any) error {
	line := n.Line
	if n.Kind == 0 || line == 0 {
		line = hp.line
	}
	return fmt.Errorf("%s:%d: host %q: %s", hp.name, line, hp.host, fmt.Sprintf(format, args...))
}

func (hp *hostParser) role(n *yaml.Node) (infra.Role, error) {
	s, err := hp.str(n)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", hp.at(n, "no role: add role: with one of %s", roleList)
	}
	r, err := parseRole(s)
	if err != nil {
		return "", hp.at(n, "%v", err)
	}
	return r, nil
}

// addresses is where SSH reaches the host and the address the lab's
// hosts reach it on.
func (hp *hostParser) addresses(h *fileHost, port setting) (string, netip.Addr, error) {
	if resolve(&h.Address).Kind == yaml.SequenceNode {
		return "", netip.Addr{}, hp.at(&h.Address, "quote an address in brackets, as in address: \"[2001:db8::1]:22\" (unquoted, YAML reads a list)")
	}
	s, err := hp.str(&h.Address)
	if err != nil {
		return "", netip.Addr{}, err
	}
	if s == "" {
		return "", netip.Addr{}, hp.at(&h.Address, "no address: add address: with the IP or hostname SSH reaches it at")
	}
	host, addrPort, err := splitAddress(s)
	if err != nil {
		return "", netip.Addr{}, hp.at(&h.Address, "%v", err)
	}
	portNum := DefaultPort
	switch {
	case addrPort != "" && h.Port.Kind != 0:
		return "", netip.Addr{}, hp.at(&h.Port, "the port is given twice, in address %q and in port: keep one", s)
	case addrPort != "":
		if portNum, err = parsePort(addrPort); err != nil {
			return "", netip.Addr{}, hp.at(&h.Address, "%v", err)
		}
	case port.set():
		ps, err := hp.str(port.node)
		if err != nil {
			return "", netip.Addr{}, err
		}
		if portNum, err = parsePort(ps); err != nil {
			return "", netip.Addr{}, hp.at(port.node, "%v", err)
		}
	}
	lab, err := hp.labAddr(&h.LabAddress, host, s)
	if err != nil {
		return "", netip.Addr{}, err
	}
	return net.JoinHostPort(host, strconv.Itoa(portNum)), lab, nil
}

func (hp *hostParser) labAddr(n *yaml.Node, host, address string) (netip.Addr, error) {
	s, err := hp.str(n)
	if err != nil {
		return netip.Addr{}, err
	}
	if s == "" {
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return netip.Addr{}, hp.at(n, "address %q is a hostname: add lab_address: with the IP the other hosts reach it on", address)
		}
		a := ip.WithZone("").Unmap()
		if err := checkLabAddr(a); err != nil {
			return netip.Addr{}, hp.at(n, "address %s: %v", a, err)
		}
		return a, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, hp.at(n, "lab_address %q is not an IP address: give the IP the other hosts reach it on", s)
	}
	if a.Zone() != "" {
		return netip.Addr{}, hp.at(n, "lab_address %q: remove the %%%s zone", s, a.Zone())
	}
	a = a.Unmap()
	if err := checkLabAddr(a); err != nil {
		return netip.Addr{}, hp.at(n, "lab_address %s: %v", a, err)
	}
	return a, nil
}

func (hp *hostParser) user(userSet, sudoSet setting) (string, bool, error) {
	user := DefaultUser
	if userSet.set() {
		var err error
		if user, err = hp.str(userSet.node); err != nil {
			return "", false, err
		}
	}
	sudo := false
	if sudoSet.set() {
		var err error
		if sudo, err = hp.boolean(sudoSet.node, "sudo"); err != nil {
			return "", false, err
		}
	}
	if err := checkUser(user, sudo); err != nil {
		return "", false, hp.at(userSet.node, "%v", err)
	}
	return user, sudo, nil
}

func (hp *hostParser) login(keySet, agentSet setting) (string, bool, error) {
	agent := false
	if agentSet.set() {
		var err error
		if agent, err = hp.boolean(agentSet.node, "agent"); err != nil {
			return "", false, err
		}
	}
	key, err := hp.str(keySet.node)
	if err != nil {
		return "", false, err
	}
	if err := checkLogin(key, agent); err != nil {
		return "", false, hp.at(keySet.node, "%v", err)
	}
	if key == "" {
		return "", agent, nil
	}
	path, err := hp.path(key)
	if err != nil {
		return "", false, hp.at(keySet.node, "key %s: %v", key, err)
	}
	if err := hp.keyFile(path); err != nil {
		return "", false, hp.at(keySet.node, "%v", err)
	}
	return path, agent, nil
}

// keyFile checks a key file once however many hosts use it.
func (p *parser) keyFile(path string) error {
	err, ok := p.keys[path]
	if !ok {
		err = checkKeyFile(path)
		p.keys[path] = err
	}
	return err
}

func (p *parser) remoteDir(n *yaml.Node) (string, error) {
	s, err := p.str(n)
	if err != nil {
		return "", err
	}
	if n.Kind == 0 {
		return DefaultRemoteDir, nil
	}
	if !strings.HasPrefix(s, "/") {
		return "", p.at(n, "remote_dir %q: want an absolute path on the hosts, like %s", s, DefaultRemoteDir)
	}
	d := path.Clean(s)
	if err := checkRemoteDir(d); err != nil {
		return "", p.at(n, "%v", err)
	}
	return d, nil
}

func (p *parser) knownHosts(n *yaml.Node) (string, error) {
	s, err := p.str(n)
	if err != nil {
		return "", err
	}
	if n.Kind == 0 {
		s = DefaultKnownHosts
	}
	if s == "" {
		return "", p.at(n, "known_hosts is empty: give a file, or leave it out for %s", DefaultKnownHosts)
	}
	path, err := p.path(s)
	if err != nil {
		return "", p.at(n, "known_hosts %s: %v", s, err)
	}
	return path, nil
}

// path expands ~ and makes a path absolute from the parser's base.
func (p *parser) path(s string) (string, error) {
	if s == "~" || strings.HasPrefix(s, "~/") {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return "", errors.New("cannot expand ~ ($HOME is not set): write the path in full")
		}
		s = filepath.Join(home, strings.TrimPrefix(s, "~"))
	} else if strings.HasPrefix(s, "~") {
		return "", errors.New("only ~ and ~/ are expanded: write the path in full")
	}
	if !filepath.IsAbs(s) {
		s = filepath.Join(p.base, s)
	}
	return filepath.Clean(s), nil
}
