package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/infra/equinix"
	sshlab "github.com/ztlab/zt-lab/infra/ssh"
)

// equinixProvider is the row of Equinix Metal: `up` makes devices that stay
// until `down`, and the walkthrough makes its own and deletes them at its
// end.
func equinixProvider() provider {
	f := &equinixFlags{}
	return provider{
		name:   "equinix",
		about:  "Equinix Metal",
		help:   map[use]string{useWalk: "equinix (new Metal devices)", useUp: "equinix (Equinix Metal)", useDown: "equinix to delete a Metal lab's devices and key by its tag"},
		remote: true,
		flags: func(cmd *cobra.Command, u use) {
			f.cmd = cmd
			if u == useUp {
				f.registerUp(cmd)
				return
			}
			f.registerProject(cmd)
		},
		build: func(_ context.Context, w walkLab) (func(context.Context) (infra.Lab, error), error) {
			c, err := thisController(w.self, w.consul)
			if err != nil {
				return nil, err
			}
			return f.metalBuild(equinix.SSHOptions{Controller: c, Builds: w.builds}, w.logf)
		},
		shell: func(_ string, lab func() infra.Lab) func(host string) *exec.Cmd { return sshlab.ShellFunc(lab) },
		up:    func(cmd *cobra.Command, _ *labFlags) error { return metalUp(cmd, f) },
		down: func(cmd *cobra.Command, labID string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return equinixDown(ctx, cmd, f, labID)
		},
	}
}

// equinixFlags are the flags of `up --provider equinix` and `down
// --provider equinix`: the seeds' variables.tf. The token is read from
// METAL_AUTH_TOKEN only.
type equinixFlags struct {
	file             string
	project          string
	metro, plan, os  string
	consul, fcs, fcc int
	dryRun           bool
	lifetime         time.Duration
	cmd              *cobra.Command // the command whose flags these are
}

// registerUp adds the flags that choose what `up` builds on Metal.
func (f *equinixFlags) registerUp(cmd *cobra.Command) {
	f.registerProject(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.metro, "metro", equinix.DefaultMetro, "Equinix Metal metro to deploy in")
	fl.StringVar(&f.plan, "plan", equinix.DefaultPlan, "Equinix Metal server plan")
	fl.StringVar(&f.os, "os", equinix.DefaultOS, "operating system slug of the devices")
	fl.IntVar(&f.consul, "consul-count", 3, "Consul servers (odd)")
	fl.IntVar(&f.fcs, "fcs-count", 1, "fortune service hosts")
	fl.IntVar(&f.fcc, "fcc-count", 1, "fortune consumer hosts")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the devices and their hourly cost, create nothing")
	fl.DurationVar(&f.lifetime, "lifetime", equinix.DefaultLifetime, "Metal deletes the devices this long after up, even if zt-lab is killed (30m to 168h)")
}

func (f *equinixFlags) registerProject(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.file, "metal-config", "", "YAML or JSON file with project_id, metro, plan, operating_system, consul_count, fcs_count, fcc_count")
	fl.StringVar(&f.project, "project", "", "Equinix Metal project UUID (default $"+equinix.EnvProject+")")
}

// config is the defaults, then the file, then the environment, then the
// flags the user set: the most specific wins.
func (f *equinixFlags) config(cmd *cobra.Command) (equinix.Config, error) {
	c := equinix.DefaultConfig()
	if f.file != "" {
		if err := c.LoadFile(f.file); err != nil {
			return c, usage(err)
		}
	}
	c.FromEnv()
	set := func(name string) bool { fl := cmd.Flags().Lookup(name); return fl != nil && fl.Changed }
	if set("project") {
		c.Project = f.project
	}
	if set("lifetime") {
		c.Lifetime = f.lifetime
	}
	for _, s := range []struct {
		flag string
		dst  *string
		v    string
	}{{"metro", &c.Metro, f.metro}, {"plan", &c.Plan, f.plan}, {"os", &c.OS, f.os}} {
		if set(s.flag) {
			*s.dst = s.v
		}
	}
	for _, n := range []struct {
		flag string
		dst  *int
		v    int
	}{{"consul-count", &c.Consul, f.consul}, {"fcs-count", &c.FCS, f.fcs}, {"fcc-count", &c.FCC, f.fcc}} {
		if set(n.flag) {
			*n.dst = n.v
		}
	}
	if err := c.Validate(); err != nil {
		return c, usage(err)
	}
	return c, nil
}

// newEquinixProvider is the Metal provider the flags describe.
func newEquinixProvider(cmd *cobra.Command, f *equinixFlags) (*equinix.Provider, error) {
	c, err := f.config(cmd)
	if err != nil {
		return nil, err
	}
	p, err := equinix.New(c)
	if err != nil {
		return nil, usage(err)
	}
	return p, nil
}

// equinixUp is `up --provider equinix`: with --dry-run it prints the plan
// and returns a nil lab; otherwise it builds the lab, one line per host
// state, and returns it. Interrupting ctx deletes what was created.
func equinixUp(ctx context.Context, cmd *cobra.Command, f *equinixFlags) (*equinix.Lab, error) {
	p, err := newEquinixProvider(cmd, f)
	if err != nil {
		return nil, err
	}
	out := cmd.OutOrStdout()
	t := p.Config().Topology()
	if f.dryRun {
		pl, err := p.Plan(ctx, t)
		if err != nil {
			return nil, equinixError(err)
		}
		_, err = pl.WriteTo(out)
		return nil, err
	}
	if err := p.Check(); err != nil {
		return nil, equinixError(err)
	}
	fmt.Fprintf(out, "Creating %d Equinix Metal devices (%s in %s) ...\n", len(t.Hosts), p.Config().Plan, p.Config().Metro)
	lab, err := p.UpLab(ctx, t, equinixProgress(out))
	if err != nil {
		return nil, equinixError(err)
	}
	fmt.Fprintf(out, "Lab %s is up in %s. `zt-lab down --provider equinix --lab %s` deletes it; Metal deletes its devices at %s regardless.\n",
		lab.ID(), time.Since(lab.Started()).Round(time.Second), lab.ID(), lab.Terminates().Format("2006-01-02 15:04 MST"))
	return lab, nil
}

// equinixDown is `down --provider equinix --lab ID`; without --lab it
// lists the labs it finds in the project.
func equinixDown(ctx context.Context, cmd *cobra.Command, f *equinixFlags, labID string) error {
	p, err := newEquinixProvider(cmd, f)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if labID == "" {
		labs, err := p.Labs(ctx)
		if err != nil {
			return equinixError(err)
		}
		if len(labs) == 0 {
			fmt.Fprintln(out, "No zt-lab lab in this project.")
			return nil
		}
		fmt.Fprintln(out, "Labs in this project (delete one with --lab ID):")
		for _, l := range labs {
			fmt.Fprintf(out, "  %s  %d devices %v, %d keys\n", l.ID, len(l.Hosts), l.Hosts, l.Keys)
		}
		return usagef("which lab? --lab ID")
	}
	start := time.Now()
	if err := p.DownWithProgress(ctx, labID, equinixProgress(out)); err != nil {
		return equinixError(err)
	}
	fmt.Fprintf(out, "Lab %s is down (%s): no device or key of it is left.\n", labID, time.Since(start).Round(time.Second))
	return nil
}

// equinixProgress prints one line per host state change; the provider
// calls it from several goroutines.
func equinixProgress(out io.Writer) func(infra.Event) {
	var mu sync.Mutex
	return func(e infra.Event) {
		mu.Lock()
		defer mu.Unlock()
		host := e.Host
		if host == "" {
			host = "lab"
		}
		switch {
		case e.Err != nil:
			fmt.Fprintf(out, "  %-9s %s: %v\n", host, e.Step, e.Err)
		case e.Elapsed > 0:
			fmt.Fprintf(out, "  %-9s %-20s %6s\n", host, e.Step, e.Elapsed.Round(time.Second))
		default:
			fmt.Fprintf(out, "  %-9s %s\n", host, e.Step)
		}
	}
}

// equinixError makes the mistakes a user can fix usage errors (exit 2): no
// token or project, a token the API refuses, a project it does not know,
// a request it will not do.
func equinixError(err error) error {
	var ae *equinix.APIError
	switch {
	case errors.Is(err, equinix.ErrNoToken), errors.Is(err, equinix.ErrNoProject), errors.Is(err, equinix.ErrBadLabID):
		return usage(err)
	case errors.As(err, &ae):
		switch ae.Status {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity:
			return usage(err)
		}
	}
	return err
}

// metalUp builds the lab's devices on Equinix Metal and returns: like
// terraform apply, the devices stay (tagged with the lab id) until
// `zt-lab down --provider equinix --lab ID`.
func metalUp(cmd *cobra.Command, f *equinixFlags) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	lab, err := equinixUp(ctx, cmd, f)
	if err != nil || lab == nil {
		return err
	}
	out := cmd.OutOrStdout()
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tROLE\tPUBLIC\tPRIVATE\tSSH")
	for _, t := range lab.SSHTargets() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\tssh -i %s %s@%s\n", t.Host, t.Role, t.Addr, t.Private, t.KeyFile, t.User, t.Addr)
	}
	tw.Flush()
	fmt.Fprintln(out, "The walkthrough makes devices of its own: `zt-lab run --provider equinix` (or the guided lab with the same flag) builds them, runs every scene over SSH and deletes them at its end.")
	return nil
}

// metalBuild is the lab builder of --provider equinix: devices, then the
// SSH provider on them.
func (f *equinixFlags) metalBuild(o equinix.SSHOptions, log func(format string, args ...any)) (func(context.Context) (infra.Lab, error), error) {
	p, err := newEquinixProvider(f.cmd, f)
	if err != nil {
		return nil, err
	}
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
