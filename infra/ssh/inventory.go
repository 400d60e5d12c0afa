package sshlab

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

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

// fileInventory is the file as written. Every value is kept as its node
// so that errors can name its line; KnownFields makes a misspelt key an
// error instead of a silently ignored setting.
type fileInventory struct {
	User       yaml.Node  `yaml:"user"`
	Key        yaml.Node  `yaml:"key"`
	Agent      yaml.Node  `yaml:"agent"`
	Sudo       yaml.Node  `yaml:"sudo"`
	Port       yaml.Node  `yaml:"port"`
	KnownHosts yaml.Node  `yaml:"known_hosts"`
	RemoteDir  yaml.Node  `yaml:"remote_dir"`
	Hosts      []fileHost `yaml:"hosts"`
}

type fileHost struct {
	Name       yaml.Node `yaml:"name"`
	Role       yaml.Node `yaml:"role"`
	Address    yaml.Node `yaml:"address"`
	LabAddress yaml.Node `yaml:"lab_address"`
	User       yaml.Node `yaml:"user"`
	Key        yaml.Node `yaml:"key"`
	Agent      yaml.Node `yaml:"agent"`
	Sudo       yaml.Node `yaml:"sudo"`
	Port       yaml.Node `yaml:"port"`
}

const (
	topKeys  = "user, key, agent, sudo, port, known_hosts, remote_dir, hosts"
	hostKeys = "name, role, address, lab_address, user, key, agent, sudo, port"
)

// parser turns a file into an Inventory, naming the file and line of
// whatever is wrong.
type parser struct {
	name string // file name for messages
	base string // directory relative paths start from
	data []byte
	// keys holds the key files already checked: several hosts share one.
	keys map[string]error
}

// setting is a value a host may inherit from the top of the file, with
// the node it came from.
type setting struct {
	node *yaml.Node
}

func (s setting) set() bool { return s.node.Kind != 0 }

func parseInventory(data []byte, name, base string) (*Inventory, error) {
	if name == "" {
		name = "inventory"
	}
	p := &parser{name: name, base: base, data: data, keys: map[string]error{}}
	f, hostLines, err := p.decode(data)
	if err != nil {
		return nil, err
	}
	return p.inventory(f, hostLines)
}

// decode reads the file twice: into fileInventory, checking its keys, and
// as nodes, for the line of each host.
func (p *parser) decode(data []byte) (_ *fileInventory, _ []int, err error) {
	// yaml.v3 panics on some malformed merge keys (a mapping used as a
	// key, found by FuzzParseInventory): a file is never worth a crash.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: not YAML zt-lab can read (%v): check its merge keys (<<) and anchors", p.name, r)
		}
	}()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, nil, p.yamlError(err)
	}
	var f fileInventory
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, p.noHosts()
		}
		return nil, nil, p.yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("%s:%d: a second YAML document: keep the inventory in one (remove the ---)", p.name, max(extra.Line, 1))
	}
	var lines []int
	for i, h := range hostItems(&root) {
		// yaml.v3 drops a null item from the list: name it instead.
		if v := resolve(h); v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
			return nil, nil, fmt.Errorf("%s:%d: host %d is empty: give its name, role and address, or remove the -", p.name, h.Line, i+1)
		}
		lines = append(lines, h.Line)
	}
	return &f, lines, nil
}

// hostItems are the items of the hosts list.
func hostItems(root *yaml.Node) []*yaml.Node {
	doc := root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "hosts" {
			if list := resolve(doc.Content[i+1]); list.Kind == yaml.SequenceNode {
				return list.Content
			}
		}
	}
	return nil
}

func (p *parser) noHosts() error {
	return fmt.Errorf("%s: no hosts: add a hosts: list with a name, role and address for each", p.name)
}

var (
	yamlLine     = regexp.MustCompile(`(?s)^(?:yaml: )?line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (\S+) not found in type \S+\.(\w+)$`)
	cannotDecode = regexp.MustCompile("(?s)^cannot unmarshal !!(\\w+)(?: `.*`)? into (\\S+)$")
)

// yamlError turns what yaml.v3 says into one line naming the file and
// line and what to do.
func (p *parser) yamlError(err error) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	switch m := unknownField.FindStringSubmatch(msg); {
	case m != nil && m[2] == "fileHost":
		msg = fmt.Sprintf("unknown key %q in a host: use %s", m[1], hostKeys)
	case m != nil:
		msg = fmt.Sprintf("unknown key %q: use %s", m[1], topKeys)
	case cannotDecode.MatchString(msg):
		msg = shapeError(cannotDecode.FindStringSubmatch(msg)[2])
	default:
		msg = "not valid YAML: " + oneLine(msg)
		if tabIndented(p.data, line) {
			msg = "not valid YAML: a tab in the indentation: indent with spaces"
		}
		// YAML's own line for this one is where the mapping began.
		if l := bracketedAddress(p.data); l > 0 {
			line, msg = l, "quote an address in brackets, as in address: \"[2001:db8::1]:22\" (unquoted, YAML reads a list)"
		}
	}
	if line > 0 {
		return fmt.Errorf("%s:%d: %s", p.name, line, msg)
	}
	return fmt.Errorf("%s: %s", p.name, msg)
}

// shapeError says what was expected where yaml.v3 could not decode a
// value into the given Go type.
var unquotedBrackets = regexp.MustCompile(`^\s*(-\s+)?(lab_)?address:\s*\[`)

// bracketedAddress is the line of the first unquoted [IPv6]:port, which
// YAML takes for the start of a list and then fails on, with no line.
func bracketedAddress(data []byte) int {
	for i, l := range strings.Split(string(data), "\n") {
		if unquotedBrackets.MatchString(l) {
			return i + 1
		}
	}
	return 0
}

// tabIndented says whether line n (from 1) is indented with a tab, which
// YAML forbids.
func tabIndented(data []byte, n int) bool {
	lines := strings.Split(string(data), "\n")
	if n < 1 || n > len(lines) {
		return false
	}
	l := lines[n-1]
	return strings.Contains(l[:len(l)-len(strings.TrimLeft(l, " \t"))], "\t")
}

func shapeError(goType string) string {
	switch {
	case strings.HasSuffix(goType, "[]sshlab.fileHost"):
		return "hosts: want a list, one item per host (- name: ...)"
	case strings.HasSuffix(goType, "fileHost"):
		return "want a host: name, role and address, as a mapping"
	default:
		return "want settings and a hosts: list, as a mapping"
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

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

// at is an error at n's line, or the file's when n is not in it.
func (p *parser) at(n *yaml.Node, format string, args ...any) error {
	if n.Kind == 0 || n.Line == 0 {
		return fmt.Errorf("%s: %s", p.name, fmt.Sprintf(format, args...))
	}
	return fmt.Errorf("%s:%d: %s", p.name, n.Line, fmt.Sprintf(format, args...))
}

// resolve follows aliases to the value they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; i < 16 && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}

// str is a scalar's text: "" when it is absent or null.
func (p *parser) str(n *yaml.Node) (string, error) {
	v := resolve(n)
	switch {
	case v.Kind == 0:
		return "", nil
	case v.Kind != yaml.ScalarNode:
		return "", p.at(n, "want a single value, not a %s", kindName(v.Kind))
	case v.ShortTag() == "!!null":
		return "", nil
	}
	return strings.TrimSpace(v.Value), nil
}

func (p *parser) boolean(n *yaml.Node, key string) (bool, error) {
	v := resolve(n)
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!bool" {
		switch strings.ToLower(v.Value) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, p.at(n, "%s: want true or false, not %q", key, oneLine(v.Value))
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "document"
}

var roles = []infra.Role{infra.RoleConsul, infra.RoleService, infra.RoleConsumer, infra.RoleOther}

const roleList = "consul, fcs, fcc or other"

// parseRole is the role a user named.
func parseRole(s string) (infra.Role, error) {
	for _, r := range roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("role %q unknown: use %s", s, roleList)
}

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
