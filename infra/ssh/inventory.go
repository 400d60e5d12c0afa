package sshlab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/ztlab/zt-lab/infra"
)

// Defaults of an inventory.
const (
	DefaultUser       = "root"
	DefaultPort       = 22
	DefaultKnownHosts = "~/.ssh/known_hosts"
	DefaultRemoteDir  = "/var/tmp"
)

// Target is one host of an inventory: where SSH reaches it, how zt-lab
// logs in, and the address the lab's hosts reach it on.
type Target struct {
	Name    string
	Role    infra.Role
	Addr    string // host:port for SSH
	LabAddr netip.Addr
	User    string
	KeyFile string // "" when only the agent is used
	Agent   bool
	Sudo    bool
}

// Inventory is the hosts a presenter already has, read from a YAML file.
type Inventory struct {
	Path       string // file it came from ("" if parsed from bytes)
	KnownHosts string
	RemoteDir  string
	Hosts      []Target
}

// LoadInventory reads and checks the inventory file at path. Relative key
// and known_hosts paths in it are relative to the file's directory.
func LoadInventory(path string) (*Inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	base, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("read inventory %s: %w", path, err)
	}
	inv, err := parseInventory(data, path, base)
	if err != nil {
		return nil, err
	}
	inv.Path = path
	return inv, nil
}

// Target is the inventory's host of that name.
func (inv *Inventory) Target(name string) (Target, bool) {
	for _, t := range inv.Hosts {
		if t.Name == name {
			return t, true
		}
	}
	return Target{}, false
}

// Targets picks, for each host of t, the inventory host of that name, in
// t's order. Every host of t must be in the inventory, with the same role.
func (inv *Inventory) Targets(t infra.Topology) ([]Target, error) {
	var out []Target
	var missing []string
	for _, h := range t.Hosts {
		tg, ok := inv.Target(h.Name)
		if !ok {
			missing = append(missing, h.Name)
			continue
		}
		if tg.Role != h.Role {
			return nil, fmt.Errorf("host %s is %s in the lab but %s in %s: fix its role in %s", h.Name, h.Role, tg.Role, inv.file(), inv.file())
		}
		out = append(out, tg)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s has no host %s: add %s to %s with a role and an address",
			inv.file(), strings.Join(missing, ", "), pronoun(len(missing)), inv.file())
	}
	return out, nil
}

func (inv *Inventory) file() string {
	if inv.Path == "" {
		return "the inventory"
	}
	return inv.Path
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// Validate checks an inventory however it was made: the checks
// LoadInventory makes, without the file's line numbers.
func (inv *Inventory) Validate() error {
	if len(inv.Hosts) == 0 {
		return errors.New("the inventory has no hosts: add at least one")
	}
	if err := checkRemoteDir(inv.RemoteDir); err != nil {
		return err
	}
	if !filepath.IsAbs(inv.KnownHosts) {
		return fmt.Errorf("known_hosts %q: want an absolute path", inv.KnownHosts)
	}
	names := map[string]bool{}
	labAddrs := map[netip.Addr]string{}
	for _, t := range inv.Hosts {
		if err := checkName(t.Name); err != nil {
			return err
		}
		if names[t.Name] {
			return fmt.Errorf("host %q is listed twice: give each host its own name", t.Name)
		}
		names[t.Name] = true
		if err := t.validate(); err != nil {
			return fmt.Errorf("host %q: %w", t.Name, err)
		}
		if other, ok := labAddrs[t.LabAddr]; ok {
			return fmt.Errorf("hosts %q and %q share lab address %s: give each its own", other, t.Name, t.LabAddr)
		}
		labAddrs[t.LabAddr] = t.Name
	}
	return nil
}

func (t Target) validate() error {
	if _, err := parseRole(string(t.Role)); err != nil {
		return err
	}
	if err := checkNameRole(t.Name, t.Role); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(t.Addr)
	if err != nil {
		return fmt.Errorf("address %q: want host:port", t.Addr)
	}
	if err := checkHost(host); err != nil {
		return err
	}
	if _, err := parsePort(port); err != nil {
		return err
	}
	for _, check := range []func() error{
		func() error { return checkLabAddr(t.LabAddr) },
		func() error { return checkUser(t.User, t.Sudo) },
		func() error { return checkLogin(t.KeyFile, t.Agent) },
	} {
		if err := check(); err != nil {
			return err
		}
	}
	if t.KeyFile != "" {
		return checkKeyFile(t.KeyFile)
	}
	return nil
}
