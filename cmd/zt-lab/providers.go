package main

import (
	"context"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/infra"
	sshlab "github.com/ztlab/zt-lab/infra/ssh"
)

// providers is the table of where a lab's hosts can be, in the order help
// and errors list them. Each row is made afresh for each command, so that
// the flags it registers hold that command's values. A new provider is a
// folder under infra/ and one row here (its flags and glue in a file
// provider_NAME.go beside this one).
var providers = []func() provider{localProvider, sshProvider, equinixProvider}

// use is what a command does with its provider.
type use int

const (
	useWalk use = iota // the walkthrough: zt-lab, zt-lab run
	useUp              // zt-lab up
	useDown            // zt-lab down
)

// provider is one row of the table.
type provider struct {
	name string
	// about is what the provider is, for the walkthrough's and up's error
	// about a provider nobody knows: "namespaces on this machine".
	about string
	// help is what each use's --provider help says of the provider; a use
	// without help does not list it (its up or down may still answer, to
	// say what to do instead).
	help map[use]string
	// remote says that the hosts are not on this machine: there is no
	// sandbox to enter here.
	remote bool

	// flags registers the provider's own flags on a command of use u.
	flags func(cmd *cobra.Command, u use)
	// check checks the provider's flags before the walkthrough starts.
	check func() error
	// refuse says what is wrong with the provider's flags when the user
	// chose another provider, named chosen; nil when none of them is set.
	refuse func(chosen string) error
	// build makes the builder of the walkthrough's lab, which its first
	// scene calls.
	build func(ctx context.Context, w walkLab) (func(context.Context) (infra.Lab, error), error)
	// shell opens a shell on a host of the walkthrough's lab, for the
	// guided lab's `s`; self is this zt-lab binary, lab the lab once built.
	// Nil, or a nil func, offers no shell.
	shell func(self string, lab func() infra.Lab) func(host string) *exec.Cmd
	// up is `zt-lab up --provider NAME`; every row has one, and so a down,
	// if only to say what to do instead.
	up func(cmd *cobra.Command, lab *labFlags) error
	// down is `zt-lab down --provider NAME [--lab ID]`.
	down func(cmd *cobra.Command, labID string) error
}

// walkLab is what a provider's build needs to know of the walkthrough.
type walkLab struct {
	topology infra.Topology
	self     string // this zt-lab binary
	consul   string // the consul binary
	builds   sshlab.RemoteBuilds
	logf     func(format string, args ...any)
}

// providerFlags is --provider and the flags of every provider a command
// of one use can run on.
type providerFlags struct {
	use  use
	name string
	rows []provider
	// builds are the Linux builds for remote hosts, shared by the ssh and
	// equinix providers.
	builds sshlab.RemoteBuilds
}

// register adds --provider and every provider's flags for use u.
func (f *providerFlags) register(cmd *cobra.Command, u use) {
	f.use = u
	for _, row := range providers {
		f.rows = append(f.rows, row())
	}
	var helps []string
	for _, p := range f.rows {
		if h := p.help[u]; h != "" {
			helps = append(helps, h)
		}
		if p.flags != nil {
			p.flags(cmd, u)
		}
	}
	if u == useWalk {
		fl := cmd.Flags()
		fl.StringVar(&f.builds.ZtLab, "remote-binary", "", "with --provider ssh or equinix: the Linux zt-lab to copy to the hosts (default: this one on Linux, else zt-lab-linux-ARCH beside it; make dist builds them)")
		fl.StringVar(&f.builds.Consul, "remote-consul", "", "with --provider ssh or equinix: the Linux consul to copy to the hosts (default: consul-linux-ARCH beside zt-lab or in bin/, else the consul found; make consul-linux GOARCH=ARCH builds one)")
	}
	help := "where the hosts are: " + list(helps)
	if u == useDown {
		help = strings.Join(helps, "; ")
	}
	cmd.Flags().StringVar(&f.name, "provider", "local", help)
}

// provider is the row --provider names, or a usage error listing the
// providers this use knows.
func (f *providerFlags) provider() (provider, error) {
	var known []string
	for _, p := range f.rows {
		if p.name == f.name {
			return p, nil
		}
		switch {
		case f.use == useDown:
			known = append(known, p.name)
		case p.help[f.use] != "":
			known = append(known, p.name+" ("+p.about+")")
		}
	}
	return provider{}, usagef("--provider %q: use %s", f.name, list(known))
}

// walk is the walkthrough's provider, its flags checked, and whether its
// hosts are remote.
func (f *providerFlags) walk() (provider, error) {
	p, err := f.provider()
	if err != nil {
		return p, err
	}
	for _, other := range f.rows {
		if other.name != p.name && other.refuse != nil {
			if err := other.refuse(p.name); err != nil {
				return p, err
			}
		}
	}
	if p.check != nil {
		if err := p.check(); err != nil {
			return p, err
		}
	}
	switch {
	case p.remote:
		if err := f.builds.Check(); err != nil {
			return p, usage(err)
		}
	case f.builds.ZtLab != "":
		return p, usagef("--remote-binary needs --provider ssh or equinix: the local lab runs this zt-lab")
	case f.builds.Consul != "":
		return p, usagef("--remote-consul needs --provider ssh or equinix: the local lab runs the consul found (--consul)")
	}
	return p, nil
}

// list joins items as a sentence does: "a, b or c".
func list(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
