package main

import (
	"errors"
	"io"
	"testing"
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
		{"up", "detach", "run the lab in the background; end it with `zt-lab down`"},
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
