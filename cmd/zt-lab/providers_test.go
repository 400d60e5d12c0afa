package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spf13/cobra"
)

// execute runs zt-lab's root command on args in this process and returns
// its error; none of these cases gets as far as building anything.
func execute(args ...string) error {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	return root.Execute()
}

func TestProviderMistakesAreUsageErrors(t *testing.T) {
	// A Mac's consul, as make consul builds it there: no host runs it.
	mac := filepath.Join(t.TempDir(), "consul")
	if err := os.WriteFile(mac, append([]byte{0xcf, 0xfa, 0xed, 0xfe}, make([]byte, 60)...), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"up", "--provider", "nope"}, `--provider "nope": use local (namespaces on this machine) or equinix (Equinix Metal)`},
		{[]string{"up", "--provider", "ssh"}, "the SSH provider runs with the walkthrough: `zt-lab run --provider ssh --inventory FILE`, or the guided lab with the same flags"},
		{[]string{"down", "--provider", "nope"}, `--provider "nope": use local, ssh or equinix`},
		{[]string{"down", "--provider", "ssh"}, `--provider ssh needs --inventory FILE: a YAML list of the hosts (see README, "Your own hosts")`},
		{[]string{"run", "--provider", "nope"}, `--provider "nope": use local (namespaces on this machine), ssh (your own hosts) or equinix (Equinix Metal)`},
		{[]string{"run", "--provider", "nope", "--inventory", "hosts.yaml"}, `--provider "nope": use local (namespaces on this machine), ssh (your own hosts) or equinix (Equinix Metal)`},
		{[]string{"run", "--provider", "ssh"}, `--provider ssh needs --inventory FILE: a YAML list of the hosts (see README, "Your own hosts")`},
		{[]string{"run", "--inventory", "hosts.yaml"}, "--inventory needs --provider ssh"},
		{[]string{"run", "--provider", "equinix", "--inventory", "hosts.yaml"}, "--inventory is for --provider ssh: Metal devices are made for the lab"},
		{[]string{"run", "--remote-binary", "zt-lab-linux-amd64"}, "--remote-binary needs --provider ssh or equinix: the local lab runs this zt-lab"},
		{[]string{"run", "--remote-consul", "consul-linux-amd64"}, "--remote-consul needs --provider ssh or equinix: the local lab runs the consul found (--consul)"},
		{[]string{"run", "--provider", "equinix", "--remote-consul", mac}, "--remote-consul: " + mac + " is not a Linux program: it is a macOS (Mach-O) program: give a Linux consul (make consul-linux GOARCH=amd64 builds bin/consul-linux-amd64)"},
		{[]string{"run", "--provider", "ssh", "--inventory", "hosts.yaml", "--remote-binary", mac}, "--remote-binary: " + mac + " is not a Linux program: it is a macOS (Mach-O) program: give a Linux zt-lab (make dist builds dist/zt-lab-linux-amd64 and dist/zt-lab-linux-arm64)"},
		{[]string{"--provider", "nope"}, `--provider "nope": use local (namespaces on this machine), ssh (your own hosts) or equinix (Equinix Metal)`},
	} {
		err := execute(tc.args...)
		var ue usageError
		if !errors.As(err, &ue) || err.Error() != tc.want {
			t.Errorf("zt-lab %q = %v (usage error %v), want the usage error %q", tc.args, err, errors.As(err, &ue), tc.want)
		}
	}
}

func TestProviderHelpListsTheRows(t *testing.T) {
	root := newRootCmd()
	for _, tc := range []struct {
		command, flag, want string
	}{
		{"up", "provider", "where the hosts are: local (namespaces here) or equinix (Equinix Metal)"},
		{"run", "provider", "where the hosts are: local (namespaces here), ssh (the hosts of --inventory) or equinix (new Metal devices)"},
		{"", "provider", "where the hosts are: local (namespaces here), ssh (the hosts of --inventory) or equinix (new Metal devices)"},
		{"down", "provider", "local; ssh to end what labs left on --inventory's hosts (--lab ID, or all); equinix to delete a Metal lab's devices and key by its tag"},
		{"down", "inventory", "with --provider ssh: YAML file of the hosts"},
		{"run", "inventory", "with --provider ssh: YAML file of the hosts (name, role, address, user, key)"},
		{"down", "lab", "id of the Metal lab to delete (its devices and key are found by tag)"},
		{"up", "dry-run", "print the devices and their hourly cost, create nothing"},
		{"up", "detach", "run the lab in the background; end it with zt-lab down"},
		{"run", "metal-config", "YAML or JSON file with project_id, metro, plan, operating_system, consul_count, fcs_count, fcc_count"},
	} {
		cmd := root
		if tc.command != "" {
			c, _, err := root.Find([]string{tc.command})
			if err != nil {
				t.Fatal(err)
			}
			cmd = c
		}
		f := cmd.Flags().Lookup(tc.flag)
		if f == nil {
			t.Errorf("zt-lab %s has no --%s", tc.command, tc.flag)
			continue
		}
		if f.Usage != tc.want {
			t.Errorf("zt-lab %s --%s says %q, want %q", tc.command, tc.flag, f.Usage, tc.want)
		}
	}
}

func TestList(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"local"}, "local"},
		{[]string{"local", "ssh"}, "local or ssh"},
		{[]string{"local", "ssh", "equinix"}, "local, ssh or equinix"},
	} {
		if got := list(tc.in); got != tc.want {
			t.Errorf("list(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestANewProviderIsOneRow follows the README's recipe for a provider: one
// row in the table, and zt-lab, run, up and down know it.
func TestANewProviderIsOneRow(t *testing.T) {
	var calls []string
	var zone string
	row := func() provider {
		return provider{
			name:   "rack",
			about:  "the rack in the corner",
			help:   map[use]string{useWalk: "rack (the rack)", useUp: "rack (the rack)", useDown: "rack to power the rack off"},
			remote: true,
			flags: func(cmd *cobra.Command, u use) {
				cmd.Flags().StringVar(&zone, "rack-zone", "", "which rack")
			},
			check: func() error {
				if zone == "" {
					return usagef("--provider rack needs --rack-zone")
				}
				return nil
			},
			up:   func(*cobra.Command, *labFlags) error { calls = append(calls, "up "+zone); return nil },
			down: func(_ *cobra.Command, id string) error { calls = append(calls, "down "+zone+" "+id); return nil },
		}
	}
	defer func(old []func() provider) { providers = old }(providers)
	providers = append(providers, row)

	if err := execute("up", "--provider", "rack", "--rack-zone", "a"); err != nil {
		t.Fatal(err)
	}
	if err := execute("down", "--provider", "rack", "--rack-zone", "b", "--lab", "x1"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"up a", "down b x1"}; !slices.Equal(calls, want) {
		t.Errorf("the row's up and down ran as %q, want %q", calls, want)
	}
	if err := execute("run", "--provider", "rack"); err == nil || err.Error() != "--provider rack needs --rack-zone" {
		t.Errorf("run --provider rack without its flag: %v, want the row's check", err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--provider", "nope"}, `--provider "nope": use local (namespaces on this machine), ssh (your own hosts), equinix (Equinix Metal) or rack (the rack in the corner)`},
		{[]string{"up", "--provider", "nope"}, `--provider "nope": use local (namespaces on this machine), equinix (Equinix Metal) or rack (the rack in the corner)`},
		{[]string{"down", "--provider", "nope"}, `--provider "nope": use local, ssh, equinix or rack`},
	} {
		if err := execute(tc.args...); err == nil || err.Error() != tc.want {
			t.Errorf("zt-lab %q = %v, want %q", tc.args, err, tc.want)
		}
	}
	up, _, _ := newRootCmd().Find([]string{"up"})
	if got := up.Flags().Lookup("provider").Usage; got != "where the hosts are: local (namespaces here), equinix (Equinix Metal) or rack (the rack)" {
		t.Errorf("up --provider says %q", got)
	}
}
