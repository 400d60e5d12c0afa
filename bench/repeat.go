package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/infra/local"
	"github.com/ztlab/zt-lab/scenes"
)

// Repeat measures the resilience figures many times on one lab: it walks
// through every scene up to and including resilience (the mesh scaled out
// to three instances), then fails instances o.Failures times in the
// scene's order and crashes the raft leader o.Failovers times, with the
// consumer fetching every 100 ms throughout. Each failure is one value of
// its figures, so the median, min and max are over failures, not runs.
func Repeat(ctx context.Context, o Options) (r *Report, rerr error) {
	r = &Report{Date: time.Now(), Runs: 1}
	say := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", args...)
		}
	}
	env := &scenes.Env{Self: o.Self, Consul: o.Consul, Seed: o.Seed, Provider: "local (namespaces on this machine)"}
	env.Build = func(ctx context.Context) (infra.Lab, error) { return local.New().Up(ctx, o.Topology, nil) }
	ws := scenes.Walkthrough()
	e := scenes.New(env, ws)
	defer func() {
		if err := env.Close(context.Background()); err != nil && rerr == nil {
			rerr = fmt.Errorf("ending the lab: %w", err)
		}
	}()
	last := slices.IndexFunc(ws, func(s scenes.Scene) bool { return s.ID == "resilience" })
	if last < 0 {
		return r, errors.New("the walkthrough has no resilience scene")
	}
	for i := 0; i <= last; i++ {
		if err := e.RunScene(ctx, i); err != nil {
			return r, fmt.Errorf("scene %d (%s): %w", i+1, ws[i].Title, err)
		}
	}
	if e.Failed() {
		return r, errors.New("a check failed during the walkthrough: run zt-lab run to see which")
	}
	say("walked through to %s; %d instance failures, then %d leader crashes", ws[last].Title, o.Failures, o.Failovers)
	if o.Failures > 0 {
		fs, err := env.RepeatFailures(ctx, o.Failures)
		addFailures(r, fs, say)
		if err != nil {
			return r, err
		}
	}
	if o.Failovers > 0 {
		fos, err := env.RepeatFailovers(ctx, o.Failovers)
		addFailovers(r, fos, say)
		if err != nil {
			return r, err
		}
	}
	return r, nil
}

// addFailures records each failure as one value of its mode's figures,
// and says how serf came to each verdict.
func addFailures(r *Report, fs []scenes.Failure, say func(string, ...any)) {
	for i, f := range fs {
		mode := string(f.Mode)
		r.add(mode+": out of the healthy set", "s", atMost(3).aiming(1), f.Detected.Seconds())
		r.add(mode+": fetches failed per failure (10/s)", "fetches", atMost(scenes.FailedPerFailure).aiming(0), float64(f.Lost))
		r.add(mode+": fetches that took a retry per failure", "fetches", nil, float64(f.Retried))
		r.add(mode+": back in the healthy set after recover", "s", nil, f.Recovered.Seconds())
		if !f.Serf.Failed.IsZero() {
			r.add(mode+": serf's peer confirmations of the suspicion", "peers", nil, float64(f.Serf.Confirmations))
			if !f.Serf.Suspected.IsZero() {
				r.add(mode+": serf, failed probe -> declared failed", "s", nil, f.Serf.Failed.Sub(f.Serf.Suspected).Seconds())
			}
		}
		say("failure %d: %s %s out after %s, %d fetches failed (%d retried), back %s after recover; %s",
			i+1, f.Host, f.Mode, f.Detected.Round(time.Millisecond), f.Lost, f.Retried, f.Recovered.Round(time.Millisecond), f.Serf)
	}
}

// addFailovers records each leader crash as one value of the failover
// figures.
func addFailovers(r *Report, fos []scenes.Failover, say func(string, ...any)) {
	for i, fo := range fos {
		r.add("leader crash: new leader", "s", atMost(3).aiming(1), fo.Took.Seconds())
		r.add("leader crash at 10 fetches/s: fetches failed", "fetches", atMost(0), float64(fo.Lost))
		say("failover %d: %s crashed, %s elected after %s, %d fetches failed", i+1, fo.Old, fo.New, fo.Took.Round(time.Millisecond), fo.Lost)
	}
}
