package sshlab

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/ztlab/zt-lab/infra"
)

// writeKey writes a new ed25519 private key in OpenSSH format to dir/name
// and returns its path and public key.
func writeKey(t *testing.T, dir, name string) (string, ssh.PublicKey) {
	t.Helper()
	priv := newClientKey(t)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name, block), publicOf(t, priv)
}

func newClientKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func publicOf(t *testing.T, priv ed25519.PrivateKey) ssh.PublicKey {
	t.Helper()
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func writePEM(t *testing.T, dir, name string, block *pem.Block) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// withHome points ~ at a fresh directory holding ~/.ssh/id_ed25519.
func withHome(t *testing.T) (home, key string) {
	t.Helper()
	home = t.TempDir()
	t.Setenv("HOME", home)
	if err := os.Mkdir(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	key, _ = writeKey(t, filepath.Join(home, ".ssh"), "id_ed25519")
	return home, key
}

func TestInventoryTheExampleFileDescribesTheSeedsLab(t *testing.T) {
	home, key := withHome(t)
	inv, err := LoadInventory("testdata/hosts.yaml")
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	if inv.Path != "testdata/hosts.yaml" || inv.RemoteDir != "/var/tmp" || inv.KnownHosts != filepath.Join(home, ".ssh", "known_hosts") {
		t.Errorf("inventory %+v: want its path, /var/tmp and ~/.ssh/known_hosts expanded", inv)
	}
	want := []Target{
		{"consul00", infra.RoleConsul, "203.0.113.10:22", netip.MustParseAddr("203.0.113.10"), "root", key, false, false},
		{"consul01", infra.RoleConsul, "203.0.113.11:22", netip.MustParseAddr("203.0.113.11"), "root", key, false, false},
		{"consul02", infra.RoleConsul, "203.0.113.12:2222", netip.MustParseAddr("203.0.113.12"), "root", key, false, false},
		{"fcs00", infra.RoleService, "fcs00.lab.example.net:22", netip.MustParseAddr("203.0.113.20"), "root", key, false, false},
		{"fcc00", infra.RoleConsumer, "[2001:db8::30]:22", netip.MustParseAddr("203.0.113.30"), "ubuntu", key, false, true},
	}
	if len(inv.Hosts) != len(want) {
		t.Fatalf("%d hosts, want %d", len(inv.Hosts), len(want))
	}
	for i, w := range want {
		if inv.Hosts[i] != w {
			t.Errorf("host %d:\n got %+v\nwant %+v", i, inv.Hosts[i], w)
		}
	}
	if err := inv.Validate(); err != nil {
		t.Errorf("a loaded inventory does not validate: %v", err)
	}

	targets, err := inv.Targets(infra.DefaultTopology())
	if err != nil {
		t.Fatalf("the seeds' topology: %v", err)
	}
	for i, h := range infra.DefaultTopology().Hosts {
		if targets[i].Name != h.Name || targets[i].Role != h.Role {
			t.Errorf("target %d is %s/%s, want %s/%s in the topology's order", i, targets[i].Name, targets[i].Role, h.Name, h.Role)
		}
	}
}

func TestInventoryTargetsNameTheHostsToAdd(t *testing.T) {
	withHome(t)
	inv, err := LoadInventory("testdata/hosts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	topo := infra.DefaultTopology()
	topo.Hosts = append(topo.Hosts, infra.HostSpec{Name: "fcs01", Role: infra.RoleService}, infra.HostSpec{Name: "evil00", Role: infra.RoleOther})
	_, err = inv.Targets(topo)
	if err == nil || !strings.Contains(err.Error(), "testdata/hosts.yaml has no host fcs01, evil00: add them to testdata/hosts.yaml") {
		t.Errorf("two hosts missing: %v", err)
	}

	topo = infra.Topology{Hosts: []infra.HostSpec{{Name: "fcs00", Role: infra.RoleConsumer}}}
	if _, err := inv.Targets(topo); err == nil || !strings.Contains(err.Error(), "fcs00 is fcc in the lab but fcs in testdata/hosts.yaml") {
		t.Errorf("a host of another role: %v", err)
	}
	if err := inv.CheckTopology(infra.DefaultTopology()); err != nil {
		t.Errorf("the example holds the seeds' five hosts, yet: %v", err)
	}
	if err := inv.CheckTopology(infra.Topology{}); err != nil {
		t.Errorf("no hosts needed, yet: %v", err)
	}
	if _, ok := inv.Target("consul01"); !ok {
		t.Error("Target misses consul01")
	}
	if _, ok := inv.Target("consul09"); ok {
		t.Error("Target finds consul09, which is not in the file")
	}
}

func TestInventoryDefaultsAndOverrides(t *testing.T) {
	home, key := withHome(t)
	other, _ := writeKey(t, home, "deploy")
	inv, err := ParseInventory([]byte(`
agent: true
port: 2200
hosts:
  - {name: a, role: consul, address: 10.1.0.1}
  - {name: b, role: fcs, address: "10.1.0.2:22", key: ~/.ssh/id_ed25519}
  - {name: c, role: fcc, address: 2001:db8::3, port: 22, user: admin, sudo: true, agent: false, key: `+other+`}
  - {name: d, role: other, address: "[2001:db8::4]", lab_address: "::ffff:10.1.0.4"}
  - {name: e, role: other, address: "fe80::5%eth0"}
`), "inline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{
		{"a", infra.RoleConsul, "10.1.0.1:2200", netip.MustParseAddr("10.1.0.1"), "root", "", true, false},
		{"b", infra.RoleService, "10.1.0.2:22", netip.MustParseAddr("10.1.0.2"), "root", key, true, false},
		{"c", infra.RoleConsumer, "[2001:db8::3]:22", netip.MustParseAddr("2001:db8::3"), "admin", other, false, true},
		{"d", infra.RoleOther, "[2001:db8::4]:2200", netip.MustParseAddr("10.1.0.4"), "root", "", true, false},
		{"e", infra.RoleOther, "[fe80::5%eth0]:2200", netip.MustParseAddr("fe80::5"), "root", "", true, false},
	}
	for i, w := range want {
		if inv.Hosts[i] != w {
			t.Errorf("host %d:\n got %+v\nwant %+v", i, inv.Hosts[i], w)
		}
	}
	if inv.Path != "" || inv.RemoteDir != DefaultRemoteDir || inv.KnownHosts != filepath.Join(home, ".ssh/known_hosts") {
		t.Errorf("defaults: %+v", inv)
	}
}

func TestInventoryPathsAreRelativeToTheFile(t *testing.T) {
	dir := t.TempDir()
	key, _ := writeKey(t, dir, "lab_key")
	file := filepath.Join(dir, "hosts.yaml")
	body := "key: lab_key\nknown_hosts: known\nremote_dir: /opt/zt-lab/\nhosts:\n  - {name: a, role: consul, address: 10.1.0.1}\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	inv, err := LoadInventory(file)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Hosts[0].KeyFile != key || inv.KnownHosts != filepath.Join(dir, "known") || inv.RemoteDir != "/opt/zt-lab" {
		t.Errorf("key %s, known_hosts %s, remote_dir %s: want them next to the file, and the directory cleaned", inv.Hosts[0].KeyFile, inv.KnownHosts, inv.RemoteDir)
	}
}

func TestInventoryMistakesAreOneLineThatSaysWhatToDo(t *testing.T) {
	withHome(t)
	dir := t.TempDir()
	const (
		bare = "hosts:\n  - name: consul00\n    role: consul\n    address: 10.0.0.1\n"
		host = bare + "    agent: true\n" // lines 1-5
	)
	openKey, _ := writeKey(t, dir, "id_open")
	if err := os.Chmod(openKey, 0o640); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, body, want string }{
		{"an empty file", "", `hosts.yaml: no hosts: add a hosts: list`},
		{"an empty list", "hosts: []\n", `hosts.yaml: no hosts`},
		{"a misspelt setting", "usr: admin\n" + host, `hosts.yaml:1: unknown key "usr": use user, key,`},
		{"a misspelt host key", "hosts:\n  - name: consul00\n    role: consul\n    adress: 10.0.0.1\n", `hosts.yaml:4: unknown key "adress" in a host: use name, role, address`},
		{"an unknown role", "hosts:\n  - name: fcs00\n    address: 10.0.0.1\n\n\n\n    role: fsc\n", `hosts.yaml:7: host "fcs00": role "fsc" unknown: use consul, fcs, fcc, other or attacker`},
		{"fcs00 as a Consul server", "hosts:\n  - name: fcs00\n    address: 10.0.0.1\n    role: consul\n    agent: true\n",
			`hosts.yaml:4: host "fcs00": role consul does not fit the name: the walkthrough runs fcs00 as fcs, so set role: fcs`},
		{"a spare consumer as a service", "hosts:\n  - name: fcc01\n    address: 10.0.0.1\n    role: fcs\n    agent: true\n",
			`hosts.yaml:4: host "fcc01": role fcs does not fit the name: the walkthrough runs fcc01 as fcc`},
		{"no role", "hosts:\n  - name: fcs00\n    address: 10.0.0.1\n", `hosts.yaml:2: host "fcs00": no role: add role:`},
		{"no name", "hosts:\n  - role: fcs\n    address: 10.0.0.1\n", `hosts.yaml:2: host 1 has no name`},
		{"an empty mapping", "hosts:\n  - {}\n", `hosts.yaml:2: host 1 has no name`},
		{"an empty host", host + "  -\n", `hosts.yaml:6: host 2 is empty: give its name, role and address, or remove the -`},
		{"a name that is no DNS label", "hosts:\n  - name: FCS_00\n    role: fcs\n", `hosts.yaml:2: host name "FCS_00": use up to 63 lower-case letters`},
		{"a name twice", host + "  - name: consul00\n    role: consul\n    address: 10.0.0.2\n    agent: true\n", `hosts.yaml:6: host "consul00" is listed twice (also at line 2)`},
		{"a lab address twice", host + "  - name: consul01\n    role: consul\n    address: 10.0.0.2\n    lab_address: 10.0.0.1\n    agent: true\n", `hosts.yaml:9: hosts "consul00" and "consul01" share lab address 10.0.0.1`},
		{"an address twice", host + "  - name: consul01\n    role: consul\n    address: 10.0.0.1:2222\n    agent: true\n", `hosts.yaml:8: hosts "consul00" and "consul01" share lab address 10.0.0.1`},
		{"no address", "hosts:\n  - name: a\n    role: fcs\n", `hosts.yaml:2: host "a": no address: add address:`},
		{"a hostname without lab address", "hosts:\n  - name: a\n    role: fcs\n    address: a.example.net\n", `hosts.yaml:2: host "a": address "a.example.net" is a hostname: add lab_address:`},
		{"a lab address that is no IP", "hosts:\n  - name: a\n    role: fcs\n    address: a.example.net\n    lab_address: a.lan\n", `hosts.yaml:5: host "a": lab_address "a.lan" is not an IP address`},
		{"a multicast lab address", "hosts:\n  - name: a\n    role: fcs\n    address: 10.0.0.1\n    lab_address: 224.0.0.1\n", `hosts.yaml:5: host "a": lab_address 224.0.0.1: not a host's address`},
		{"a lab address with a zone", "hosts:\n  - name: a\n    role: fcs\n    address: 10.0.0.1\n    lab_address: fe80::1%eth0\n", `hosts.yaml:5: host "a": lab_address "fe80::1%eth0": remove the %eth0 zone`},
		{"an address that is neither", "hosts:\n  - name: a\n    role: fcs\n    address: a_b.example\n", `hosts.yaml:4: host "a": address "a_b.example": "a_b.example" is neither an IP address nor a hostname`},
		{"IPv6 and a port without brackets", "hosts:\n  - name: a\n    role: fcs\n    address: 2001:db8::g:22\n", `an IPv6 address with a port goes in brackets`},
		{"unquoted brackets", "hosts:\n  - name: a\n    role: fcs\n    address: [2001:db8::1]:22\n", `hosts.yaml:4: quote an address in brackets, as in address: "[2001:db8::1]:22"`},
		{"unquoted brackets without a port", "hosts:\n  - name: a\n    role: fcs\n    address: [2001:db8::1]\n", `hosts.yaml:4: host "a": quote an address in brackets`},
		{"a missing port", "hosts:\n  - name: a\n    role: fcs\n    address: \"10.0.0.1:\"\n", `the port after ':' is missing`},
		{"port 0", "port: 0\n" + host, `hosts.yaml:1: host "consul00": port "0": want a number from 1 to 65535`},
		{"port 70000", "hosts:\n  - name: a\n    role: fcs\n    address: 10.0.0.1:70000\n", `hosts.yaml:4: host "a": port "70000": want a number from 1 to 65535`},
		{"a port twice", "hosts:\n  - name: a\n    role: fcs\n    address: 10.0.0.1:2222\n    port: 22\n", `hosts.yaml:5: host "a": the port is given twice`},
		{"a user who is not root without sudo", "user: ubuntu\n" + host, `hosts.yaml:1: host "consul00": user "ubuntu" is not root: set sudo: true`},
		{"an empty user", host + "    user: \"\"\n", `hosts.yaml:6: host "consul00": user is empty`},
		{"a user with a space", host + "    user: a b\n    sudo: true\n", `hosts.yaml:6: host "consul00": user "a b": want a login name`},
		{"no way to log in", bare, `hosts.yaml:2: host "consul00": no way to log in: set key: to a private key file, or agent: true`},
		{"an empty key and no agent", "key: \"\"\n" + bare, `hosts.yaml:1: host "consul00": no way to log in`},
		{"a key file that is not there", "key: ~/.ssh/id_rsa\n" + bare, `hosts.yaml:1: host "consul00": key file ` + os.Getenv("HOME") + `/.ssh/id_rsa does not exist: create one`},
		{"a private key others may read", "key: " + openKey + "\n" + bare, `hosts.yaml:1: host "consul00": key file ` + openKey + ` may be read by other users (mode 0640): chmod 600 ` + openKey},
		{"a key file that is a directory", "key: " + dir + "\n" + bare, `hosts.yaml:1: host "consul00": key file ` + dir + ` is not a file: point key: at a private key`},
		{"a key under someone else's home", "key: ~bob/.ssh/id_ed25519\n" + bare, `hosts.yaml:1: host "consul00": key ~bob/.ssh/id_ed25519: only ~ and ~/ are expanded`},
		{"agent: yes", "agent: yes\n" + bare, `hosts.yaml:1: agent: want true or false, not "yes"`},
		{"sudo: 1", host + "    sudo: 1\n", `hosts.yaml:6: sudo: want true or false, not "1"`},
		{"a relative remote dir", "remote_dir: tmp\n" + host, `hosts.yaml:1: remote_dir "tmp": want an absolute path`},
		{"the root as remote dir", "remote_dir: /tmp/..\n" + host, `hosts.yaml:1: remote_dir "/": not the root directory`},
		{"a remote dir to quote", "remote_dir: /var/tmp/my lab\n" + host, `hosts.yaml:1: remote_dir "/var/tmp/my lab": use letters, digits`},
		{"an empty known_hosts", "known_hosts: \"\"\n" + host, `hosts.yaml:1: known_hosts is empty`},
		{"hosts that are not a list", "hosts: consul00\n", `hosts.yaml:1: hosts: want a list, one item per host`},
		{"a host that is not a mapping", "hosts:\n  - consul00\n", `hosts.yaml:2: want a host: name, role and address`},
		{"a file that is a list", "- name: consul00\n", `hosts.yaml:1: want settings and a hosts: list`},
		{"a name that is a list", "hosts:\n  - name: [a, b]\n", `hosts.yaml:2: want a single value, not a list`},
		{"a key given twice", "hosts:\n  - name: a\n    name: b\n", `hosts.yaml:3: not valid YAML: mapping key "name" already defined at line 2`},
		{"a tab", "hosts:\n\t- name: a\n", `hosts.yaml:2: not valid YAML: a tab in the indentation: indent with spaces`},
		{"two documents", host + "---\n" + host, `hosts.yaml:6: a second YAML document: keep the inventory in one (remove the ---)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := ParseInventory([]byte(tc.body), "hosts.yaml")
			if err == nil {
				t.Fatalf("accepted: %+v", inv)
			}
			if got := err.Error(); !strings.Contains(got, tc.want) || strings.Contains(got, "\n") {
				t.Errorf("error\n  %s\nwant one line containing\n  %s", got, tc.want)
			}
		})
	}
}

func TestInventoryValidateChecksInventoriesMadeInCode(t *testing.T) {
	_, key := withHome(t)
	good := Inventory{KnownHosts: "/k", RemoteDir: "/var/tmp", Hosts: []Target{
		{Name: "a", Role: infra.RoleConsul, Addr: "10.0.0.1:22", LabAddr: netip.MustParseAddr("10.0.0.1"), User: "root", KeyFile: key},
	}}
	if err := good.Validate(); err != nil {
		t.Fatalf("a good inventory: %v", err)
	}
	cases := []struct {
		name   string
		change func(*Inventory)
		want   string
	}{
		{"no hosts", func(inv *Inventory) { inv.Hosts = nil }, "no hosts"},
		{"a relative known_hosts", func(inv *Inventory) { inv.KnownHosts = "k" }, "known_hosts"},
		{"the root as remote dir", func(inv *Inventory) { inv.RemoteDir = "/" }, "not the root directory"},
		{"an address without port", func(inv *Inventory) { inv.Hosts[0].Addr = "10.0.0.1" }, "want host:port"},
		{"no lab address", func(inv *Inventory) { inv.Hosts[0].LabAddr = netip.Addr{} }, "no lab address"},
		{"an unknown role", func(inv *Inventory) { inv.Hosts[0].Role = "db" }, `role "db" unknown`},
		{"a role that does not fit the name", func(inv *Inventory) { inv.Hosts[0].Name = "fcs03" }, "the walkthrough runs fcs03 as fcs"},
		{"sudo missing", func(inv *Inventory) { inv.Hosts[0].User = "ubuntu" }, "set sudo: true"},
		{"no login", func(inv *Inventory) { inv.Hosts[0].KeyFile = "" }, "no way to log in"},
		{"a missing key", func(inv *Inventory) { inv.Hosts[0].KeyFile = key + ".old" }, "does not exist"},
		{"a name twice", func(inv *Inventory) {
			inv.Hosts = append(inv.Hosts, inv.Hosts[0])
			inv.Hosts[1].LabAddr = netip.MustParseAddr("10.0.0.2")
		}, "listed twice"},
		{"a lab address twice", func(inv *Inventory) { inv.Hosts = append(inv.Hosts, inv.Hosts[0]); inv.Hosts[1].Name = "b" }, "share lab address"},
	}
	for _, tc := range cases {
		inv := good
		inv.Hosts = append([]Target(nil), good.Hosts...)
		tc.change(&inv)
		if err := inv.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func FuzzParseInventory(f *testing.F) {
	example, err := os.ReadFile("testdata/hosts.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(strings.ReplaceAll(string(example), "key: ~/.ssh/id_ed25519", "agent: true")))
	f.Add([]byte("agent: true\nhosts:\n  - {name: a, role: fcs, address: \"[::1]:22\", lab_address: 10.0.0.1}\n"))
	f.Add([]byte("agent: true\nd: &d {role: other, address: 10.0.0.9}\nhosts:\n  - {<<: *d, name: a}\n"))
	f.Add([]byte("agent: true\nuser: &u root\nhosts:\n  - {name: a, role: fcs, address: h.example, lab_address: 10.0.0.1, user: *u}\n"))
	f.Add([]byte("hosts:\n  - name: a\n    address: [2001:db8::1]:22\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := ParseInventory(data, "fuzz.yaml")
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "fuzz.yaml") {
				t.Fatalf("error %q is not one line about fuzz.yaml", msg)
			}
			return
		}
		if err := inv.Validate(); err != nil {
			t.Fatalf("accepted an inventory that does not validate: %v\n%s", err, data)
		}
	})
}

// ParseInventory checks an inventory held in memory; name is used in error
// messages only. Relative paths in it are relative to the working
// directory.
func ParseInventory(data []byte, name string) (*Inventory, error) {
	base, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("inventory %s: %w", name, err)
	}
	return parseInventory(data, name, base)
}

// The inputs yaml.v3 panicked on (FuzzParseInventory found the first):
// go.yaml.in/yaml/v3 answers them with an error, which the inventory says
// in one line, with no recover left to catch a panic.
func TestMalformedMergeKeysAreOneLineErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0: &d {0}\nhosts:\n- {<<, *d,0000}", "hosts.yaml: not YAML zt-lab can read: a mapping used as a key: check its merge keys (<<) and anchors"},
		{"d: &d {0}\nhosts:\n  - {<<: *d, name: a}\n", `hosts.yaml:1: unknown key "d"`},
		{"a: &a [1]\nhosts:\n  - {<<: *a, name: a}\n", "hosts.yaml: not valid YAML: map merge requires map or sequence of maps as the value"},
	} {
		_, err := ParseInventory([]byte(tc.in), "hosts.yaml")
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: %v, want one line starting %q", tc.in, err, tc.want)
		}
	}
}
