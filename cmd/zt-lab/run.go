package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/infra/local"
	"github.com/ztlab/zt-lab/scenes"
)

func newRunCmd() *cobra.Command {
	var f walkFlags
	var only []int
	var jsonPath, junitPath string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the walkthrough headless: a line per step and check, then a report",
		Long: `Run every scene (or those given with --scene) without a screen, printing
each step, the command a learner would type, and every check with its
evidence. Exits 1 if any check fails.`,
		Example: "  zt-lab run\n  zt-lab run --scene 1 --scene 2 --scene 3 --json report.json\n  zt-lab run --junit checks.xml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (rerr error) {
			remote, err := f.check()
			if err != nil {
				return err
			}
			n := len(scenes.Walkthrough())
			for _, s := range only {
				if s < 1 || s > n {
					return usagef("--scene %d: the walkthrough has scenes 1 to %d", s, n)
				}
			}
			if err := writable("--json", jsonPath); err != nil {
				return err
			}
			if err := writable("--junit", junitPath); err != nil {
				return err
			}
			if !remote && !local.Sandboxed() {
				return enterSandbox()
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer stop()
			e, err := f.engine(ctx)
			if err != nil {
				return err
			}
			defer closeLab(e.Env(), cmd, &rerr)
			var idx []int
			for _, s := range only {
				idx = append(idx, s-1)
			}
			started := time.Now()
			err = scenes.Headless(ctx, e, cmd.OutOrStdout(), idx)
			b := readBuildInfo()
			report := scenes.NewReport(e, scenes.RunInfo{
				Version: b.Version, Commit: b.Commit, Consul: f.bin.Version.String(),
				Provider: f.row.name, Started: started, Took: time.Since(started),
			})
			if m, merr := local.LabMemory(); merr == nil && !remote {
				fmt.Fprintf(cmd.OutOrStdout(), "lab memory now: PSS %d MB, RSS %d MB, %d processes\n", m.PSS>>20, m.RSS>>20, m.Procs)
			}
			if jerr := writeReport(jsonPath, report.WriteJSON); jerr != nil {
				return jerr
			}
			if jerr := writeReport(junitPath, report.WriteJUnit); jerr != nil {
				return jerr
			}
			var ue usageError
			switch {
			case err == nil:
				return nil
			case errors.As(labError(err), &ue):
				return ue
			default:
				// The step's error and the report card said it already.
				return exitCode(1)
			}
		},
	}
	f.register(cmd)
	cmd.Flags().IntSliceVar(&only, "scene", nil, "run only these scenes (1-based; repeat or comma-separate)")
	cmd.Flags().StringVar(&jsonPath, "json", "", "also write the run as one JSON object to this file: versions, provider, times, totals, and every scene's steps and checks")
	cmd.Flags().StringVar(&junitPath, "junit", "", "also write every check as a JUnit XML test case to this file, for CI")
	return cmd
}

// writeReport writes a report to path with write ("" writes nothing).
func writeReport(path string, write func(io.Writer) error) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// writable checks, before minutes of work, that a report can be written
// at path ("" is fine: no report).
func writable(flag, path string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return usagef("%s %v", flag, err)
	}
	return f.Close()
}
