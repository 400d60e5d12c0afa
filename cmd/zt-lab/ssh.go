package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/infra/equinix"
	sshlab "github.com/ztlab/zt-lab/infra/ssh"
)

// providerFlags choose where the walkthrough's hosts are.
type providerFlags struct {
	provider  string
	inventory string
	trustNew  bool
	metal     equinixFlags
	cmd       *cobra.Command
}

func (f *providerFlags) register(cmd *cobra.Command) {
	f.cmd = cmd
	fl := cmd.Flags()
	fl.StringVar(&f.provider, "provider", "local", "where the hosts are: local (namespaces here), ssh (the hosts of --inventory) or equinix (new Metal devices)")
	f.metal.registerProject(cmd)
	fl.StringVar(&f.inventory, "inventory", "", "with --provider ssh: YAML file of the hosts (name, role, address, user, key)")
	fl.BoolVar(&f.trustNew, "trust-new-hosts", false, "with --provider ssh: trust and record host keys not yet in known_hosts, without asking")
}

// remote reports whether the hosts are SSH hosts, checking the flags.
func (f *providerFlags) remote() (bool, error) {
	switch f.provider {
	case "local":
		if f.inventory != "" {
			return false, usagef("--inventory needs --provider ssh")
		}
		return false, nil
	case "ssh":
		if f.inventory == "" {
			return false, usagef("--provider ssh needs --inventory FILE: a YAML list of the hosts (see README, \"Your own hosts\")")
		}
		return true, nil
	case "equinix":
		if f.inventory != "" {
			return false, usagef("--inventory is for --provider ssh: Metal devices are made for the lab")
		}
		return true, nil
	default:
		return false, usagef("--provider %q: use local (namespaces on this machine), ssh (your own hosts) or equinix (Equinix Metal)", f.provider)
	}
}

// sshProvider loads the inventory, checks that it holds the hosts of need
// (when it names any) and verifies every host's key up front, asking about
// keys not yet known (on a terminal) before any screen starts, so that
// building the lab later never has to ask.
func (f *providerFlags) sshProvider(ctx context.Context, need infra.Topology, self, consul string, out io.Writer) (*sshlab.Provider, error) {
	inv, err := sshlab.LoadInventory(f.inventory)
	if err != nil {
		return nil, usage(err)
	}
	if err := inv.CheckTopology(need); err != nil {
		return nil, usage(err)
	}
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
	ask, err := sshlab.HostKeyCallback(inv.KnownHosts, trust)
	if err != nil {
		return nil, usage(err)
	}
	vctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if err := sshlab.VerifyHosts(vctx, inv, ask); err != nil {
		return nil, usage(err)
	}
	known, err := sshlab.HostKeyCallback(inv.KnownHosts, nil)
	if err != nil {
		return nil, usage(err)
	}
	p := &sshlab.Provider{Inventory: inv, Self: self, HostKeys: known}
	if consul != "" {
		p.Files = map[string]string{"consul": consul}
	}
	return p, nil
}

// metalBuild is the lab builder of --provider equinix: devices, then the
// SSH provider on them.
func (f *providerFlags) metalBuild(self, consul string, log func(format string, args ...any)) (func(context.Context) (infra.Lab, error), error) {
	p, err := newEquinixProvider(f.cmd, &f.metal)
	if err != nil {
		return nil, err
	}
	o := equinix.SSHOptions{Self: self, Files: map[string]string{"consul": consul}}
	return func(ctx context.Context) (infra.Lab, error) {
		log("creating %d Equinix Metal devices (%s in %s) ...", len(p.Config().Topology().Hosts), p.Config().Plan, p.Config().Metro)
		l, err := p.UpOverSSH(ctx, p.Config().Topology(), o, metalProgress(log))
		if err != nil {
			return nil, equinixError(err)
		}
		log("lab %s: %d devices; they are deleted when the walkthrough ends", l.Metal().ID(), len(l.Hosts()))
		return l, nil
	}, nil
}

// metalProgress prints the devices' states, then the SSH provider's steps.
func metalProgress(log func(format string, args ...any)) func(infra.Event) {
	ssh := sshProgress(log)
	var mu sync.Mutex
	active := map[string]bool{}
	return func(ev infra.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case ev.Err != nil:
		case ev.Host != "" && ev.Done && !active[ev.Host]:
			active[ev.Host] = true
			log("%-9s device active in %.1f s", ev.Host, ev.Elapsed.Seconds())
		case ev.Host == "" && ev.Done && !active[""]:
			active[""] = true
			log("devices active in %.1f s; logging in over SSH", ev.Elapsed.Seconds())
		default:
			ssh(ev)
		}
	}
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
func sshDown(cmd *cobra.Command, f *providerFlags, labID string) error {
	if err := sshlab.CheckLabID(labID); err != nil {
		return usage(err)
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
	defer cancel()
	p, err := f.sshProvider(ctx, infra.Topology{}, "", "", cmd.ErrOrStderr())
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
