package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ztlab/zt-lab/infra"
	sshlab "github.com/ztlab/zt-lab/infra/ssh"
)

// sshProvider is the row of your own hosts, over SSH: the walkthrough
// builds its lab on them and `down` ends what labs left there.
func sshProvider() provider {
	f := &sshFlags{}
	return provider{
		name:   "ssh",
		about:  "your own hosts",
		help:   map[use]string{useWalk: "ssh (the hosts of --inventory)", useDown: "ssh to end what labs left on --inventory's hosts (--lab ID, or all)"},
		remote: true,
		flags: func(cmd *cobra.Command, u use) {
			fl := cmd.Flags()
			switch u {
			case useWalk:
				fl.StringVar(&f.inventory, "inventory", "", "with --provider ssh: YAML file of the hosts (name, role, address, user, key)")
				fl.BoolVar(&f.trustNew, "trust-new-hosts", false, "with --provider ssh: trust and record host keys not yet in known_hosts, without asking")
			case useDown:
				fl.StringVar(&f.inventory, "inventory", "", "with --provider ssh: YAML file of the hosts")
				fl.BoolVar(&f.trustNew, "trust-new-hosts", false, "with --provider ssh: trust host keys not yet in known_hosts")
			}
		},
		check: f.check,
		refuse: func(chosen string) error {
			switch {
			case f.inventory == "":
				return nil
			case chosen == "equinix":
				return usagef("--inventory is for --provider ssh: Metal devices are made for the lab")
			default:
				return usagef("--inventory needs --provider ssh")
			}
		},
		build: func(ctx context.Context, w walkLab) (func(context.Context) (infra.Lab, error), error) {
			p, err := f.provider(ctx, w.topology, os.Stderr)
			if err != nil {
				return nil, err
			}
			c, err := thisController(w.self, w.consul)
			if err != nil {
				return nil, err
			}
			w.builds.Set(p, c)
			return func(ctx context.Context) (infra.Lab, error) {
				l, err := p.Up(ctx, w.topology, sshProgress(w.logf))
				if err == nil {
					w.logf("lab %s on %d hosts of %s (after a crash: zt-lab down --provider ssh --inventory %s --lab %s)", l.ID(), len(l.Hosts()), f.inventory, f.inventory, l.ID())
				}
				return l, err
			}, nil
		},
		shell: func(_ string, lab func() infra.Lab) func(host string) *exec.Cmd { return sshlab.ShellFunc(lab) },
		up:    func(*cobra.Command, *labFlags) error { return usage(errNoSSHUp) },
		down: func(cmd *cobra.Command, labID string) error {
			if err := f.check(); err != nil {
				return err
			}
			return sshDown(cmd, f, labID)
		},
	}
}

// sshFlags say which hosts, and how far to trust keys zt-lab has not seen.
type sshFlags struct {
	inventory string
	trustNew  bool
}

// check says what is missing before anything starts.
func (f *sshFlags) check() error {
	if f.inventory == "" {
		return usagef("--provider ssh needs --inventory FILE: a YAML list of the hosts (see README, \"Your own hosts\")")
	}
	return nil
}

// provider opens the inventory's hosts, checking that it holds the hosts of
// need (when it names any) and verifying every host's key up front, asking
// about keys not yet known (on a terminal) before any screen starts, so
// that building the lab later never has to ask.
func (f *sshFlags) provider(ctx context.Context, need infra.Topology, out io.Writer) (*sshlab.Provider, error) {
	var trust sshlab.Trust
	// Logging in to every host takes seconds; a person answering about new
	// host keys may take minutes.
	limit := 30 * time.Second
	switch {
	case f.trustNew:
		trust = sshlab.TrustAll("--trust-new-hosts")
	case term.IsTerminal(int(os.Stdin.Fd())):
		trust = sshlab.PromptTrust(os.Stdin, out)
		limit = 10 * time.Minute
	}
	vctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	p, err := sshlab.Open(vctx, f.inventory, need, trust)
	if err != nil {
		return nil, usage(err)
	}
	return p, nil
}

// thisController is the machine this zt-lab runs on, for the choice of the
// builds copied to remote hosts.
func thisController(self, consul string) (sshlab.Controller, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return sshlab.Controller{}, err
	}
	return sshlab.Controller{Self: self, Consul: consul, GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, Cwd: cwd}, nil
}

// sshProgress prints a line per host and step while an SSH lab comes up.
func sshProgress(log func(format string, args ...any)) func(infra.Event) {
	return func(ev infra.Event) {
		switch {
		case ev.Err != nil:
		case ev.Host == "" && ev.Done:
			log("lab ready in %.1f s", ev.Elapsed.Seconds())
		case ev.Host == "":
			log("lab: %s", ev.Step)
		case ev.Done:
			log("%-9s ready in %.1f s", ev.Host, ev.Elapsed.Seconds())
		default:
			log("%-9s %s", ev.Host, ev.Step)
		}
	}
}

// sshDown ends what labs left on the inventory's hosts.
func sshDown(cmd *cobra.Command, f *sshFlags, labID string) error {
	if err := sshlab.CheckLabID(labID); err != nil {
		return usage(err)
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
	defer cancel()
	p, err := f.provider(ctx, infra.Topology{}, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	if err := p.Down(ctx, labID); err != nil {
		return err
	}
	what := "every zt-lab lab"
	if labID != "" {
		what = "lab " + labID
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s ended on %d hosts of %s: no process, firewall table or file left\n", what, len(p.Inventory.Hosts), f.inventory)
	return nil
}

var errNoSSHUp = errors.New("the SSH provider runs with the walkthrough: `zt-lab run --provider ssh --inventory FILE`, or the guided lab with the same flags")
