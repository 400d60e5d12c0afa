package main

import (
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/bench"
	"github.com/ztlab/zt-lab/infra/local"
	"github.com/ztlab/zt-lab/mesh"
)

func newBenchCmd() *cobra.Command {
	var f labFlags
	var consul, jsonPath string
	var runs, failures, failovers int
	var only []string
	cmd := &cobra.Command{
		Use:   "bench [--runs N] [--only GROUP,...] [--json FILE]",
		Short: "Measure the lab on this machine: up/down, mesh, latency, sniffer, memory",
		Long: `Run the lab and the whole walkthrough N times and print, for every figure,
the median, min and max: lab up and down, mesh ready, the walkthrough, fetch
latency plaintext vs through the mesh, the sniffer's live rate and drops,
and the memory of zt-lab and of the whole lab with the mesh up.
--only measures some groups of figures alone (lab, sniffer, latency,
memory, walkthrough): --only memory walks through to the mesh, prints each
process's memory and stops there. --failures and --failovers instead
repeat the resilience figures on one lab, one value per failure.`,
		Example: "  zt-lab bench\n  zt-lab bench --runs 1 --json bench.json\n  zt-lab bench --runs 3 --only memory\n  zt-lab bench --failures 45 --failovers 20",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := f.topology()
			if err != nil {
				return err
			}
			if runs < 1 || runs > 100 {
				return usagef("--runs %d: use 1 to 100", runs)
			}
			if failures < 0 || failures > 1000 || failovers < 0 || failovers > 1000 {
				return usagef("--failures %d --failovers %d: use 0 to 1000", failures, failovers)
			}
			if len(only) > 0 && (failures > 0 || failovers > 0) {
				return usagef("--only cannot go with --failures or --failovers: run them apart")
			}
			for _, g := range only {
				if !slices.Contains(bench.Groups, g) {
					return usagef("--only %s: use one or more of %s, separated by commas", g, strings.Join(bench.Groups, ","))
				}
			}
			if err := writable("--json", jsonPath); err != nil {
				return err
			}
			if !local.Sandboxed() {
				return enterSandbox()
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			bin, err := mesh.FindConsul(ctx, consul)
			if err != nil {
				return usage(err)
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			o := bench.Options{Runs: runs, Topology: t, Self: self, Consul: bin.Path, Seed: f.seed, Only: only, Progress: out, Failures: failures, Failovers: failovers}
			run := bench.Run
			if failures > 0 || failovers > 0 {
				fmt.Fprintf(out, "Measuring %d instance failures and %d leader crashes on one lab ...\n", failures, failovers)
				run = bench.Repeat
			} else {
				fmt.Fprintf(out, "Measuring %d run(s); each builds the lab and walks through every scene ...\n", runs)
			}
			r, err := run(ctx, o)
			if r != nil && len(r.Figures) > 0 {
				fmt.Fprintln(out)
				bench.WriteTable(out, r)
				if jsonPath != "" {
					if jerr := bench.WriteJSON(jsonPath, r); jerr != nil {
						return jerr
					}
				}
			}
			return err
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&consul, "consul", "", "consul binary (default: $ZTLAB_CONSUL, bin/consul, PATH)")
	cmd.Flags().IntVar(&runs, "runs", 5, "how many times to measure each figure")
	cmd.Flags().StringSliceVar(&only, "only", nil, "measure only these groups of figures: "+strings.Join(bench.Groups, ","))
	cmd.Flags().StringVar(&jsonPath, "json", "", "also write the figures as JSON to this file")
	cmd.Flags().IntVar(&failures, "failures", 0, "instead: on one lab, fail instances N times (crash, partition, freeze in turn) and report each failure")
	cmd.Flags().IntVar(&failovers, "failovers", 0, "instead: on one lab, crash the raft leader N times and report each failover")
	return cmd
}
