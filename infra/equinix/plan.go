package equinix

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/equinix/equinix-sdk-go/services/metalv1"

	"github.com/ztlab/zt-lab/infra"
)

// Plan is what Up would create, and what it would cost: the output of
// `up --dry-run`, which creates nothing.
type Plan struct {
	Project string
	Metro   string
	Plan    string // server plan slug
	OS      string
	Hosts   []infra.HostSpec
	// HourlyPerDevice is the plan's list price in USD per hour, as the
	// API's plans endpoint gives it; PriceKnown says whether it did.
	HourlyPerDevice float64
	PriceKnown      bool
	PriceNote       string // why the price is unknown
}

// Hourly is the lab's price per hour, when known.
func (pl Plan) Hourly() float64 { return pl.HourlyPerDevice * float64(len(pl.Hosts)) }

// Plan says what Up(t) would create. It asks the API for the plan's price
// when it has a token and a project, and works without them.
func (p *Provider) Plan(ctx context.Context, t infra.Topology) (Plan, error) {
	if err := t.Validate(); err != nil {
		return Plan{}, err
	}
	pl := Plan{Project: p.cfg.Project, Metro: p.cfg.Metro, Plan: p.cfg.Plan, OS: p.cfg.OS, Hosts: t.Hosts}
	if err := p.reachable(); err != nil {
		pl.PriceNote = "unknown: " + err.Error()
		return pl, nil
	}
	list, err := call(ctx, p.c, "list plans", func(ctx context.Context) (*metalv1.PlanList, *http.Response, error) {
		return p.c.api.PlansApi.FindPlansByProject(ctx, p.c.project).Execute()
	})
	if err != nil {
		return pl, p.c.redact(err)
	}
	var slugs []string
	for _, mp := range list.Plans {
		slugs = append(slugs, mp.GetSlug())
		if mp.GetSlug() != p.cfg.Plan {
			continue
		}
		if hour, ok := mp.Pricing["hour"].(float64); ok {
			pl.HourlyPerDevice, pl.PriceKnown = hour, true
		} else {
			pl.PriceNote = "unknown: the API gives no hourly price for " + p.cfg.Plan
		}
		return pl, nil
	}
	if len(slugs) > 8 {
		slugs = append(slugs[:8], "...")
	}
	return pl, fmt.Errorf("plan %s is not offered to project %s (it offers %s)", p.cfg.Plan, p.cfg.Project, strings.Join(slugs, ", "))
}

// WriteTo prints the plan for a person to read.
func (pl Plan) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "Equinix Metal: %d devices (dry run: nothing is created)\n\n", len(pl.Hosts))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	project := pl.Project
	if project == "" {
		project = "(not set)"
	}
	fmt.Fprintf(tw, "  project\t%s\n", project)
	fmt.Fprintf(tw, "  metro\t%s\n", pl.Metro)
	fmt.Fprintf(tw, "  plan\t%s\n", pl.Plan)
	fmt.Fprintf(tw, "  OS\t%s\n", pl.OS)
	if pl.PriceKnown {
		fmt.Fprintf(tw, "  cost\t%d × $%.2f/h = $%.2f per hour (list price from the API)\n", len(pl.Hosts), pl.HourlyPerDevice, pl.Hourly())
	} else {
		fmt.Fprintf(tw, "  cost\t%s\n", pl.PriceNote)
	}
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  HOSTNAME\tROLE\tPLAN\tMETRO\tOS")
	for _, h := range pl.Hosts {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", h.Name, h.Role, pl.Plan, pl.Metro, pl.OS)
	}
	tw.Flush()
	fmt.Fprintf(&b, "\nEvery device is tagged %s and %s, with the lab's own SSH key;\n`zt-lab down --provider equinix --lab ID` deletes them by that tag.\n", TagAll, LabTag("ID"))
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}
