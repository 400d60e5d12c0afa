package sshlab

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Reading the inventory's YAML: the file as written, kept as nodes so that
// every error names its file and line, and those errors made one line each.

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
func (p *parser) decode(data []byte) (*fileInventory, []int, error) {
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
	case strings.Contains(msg, "unhashable type") || strings.HasPrefix(msg, "invalid map key"):
		// A mapping used as a key, as a malformed merge (<<) makes one:
		// yaml.v3 panicked here; its successor says so as an error.
		msg = "not YAML zt-lab can read: a mapping used as a key: check its merge keys (<<) and anchors"
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
