package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/infra/equinix"
)

// equinixFlags are the flags of `up --provider equinix` and `down
// --provider equinix`: the seeds' variables.tf. The token is read from
// METAL_AUTH_TOKEN only.
type equinixFlags struct {
	file             string
	project          string
	metro, plan, os  string
	consul, fcs, fcc int
	dryRun           bool
	labID            string
	lifetime         time.Duration
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

// registerDown adds the flags `down` needs to find a Metal lab.
func (f *equinixFlags) registerDown(cmd *cobra.Command) {
	f.registerProject(cmd)
	cmd.Flags().StringVar(&f.labID, "lab", "", "id of the Metal lab to delete (its devices and key are found by tag)")
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
func equinixDown(ctx context.Context, cmd *cobra.Command, f *equinixFlags) error {
	p, err := newEquinixProvider(cmd, f)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if f.labID == "" {
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
	if err := p.DownWithProgress(ctx, f.labID, equinixProgress(out)); err != nil {
		return equinixError(err)
	}
	fmt.Fprintf(out, "Lab %s is down (%s): no device or key of it is left.\n", f.labID, time.Since(start).Round(time.Second))
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
