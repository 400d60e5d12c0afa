package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/infra/local"
	"github.com/ztlab/zt-lab/mesh"
	"github.com/ztlab/zt-lab/scenes"
)

// walkFlags are the flags of every command that runs the walkthrough.
type walkFlags struct {
	labFlags
	providerFlags
	consul  string
	content string
}

func (f *walkFlags) register(cmd *cobra.Command) {
	f.labFlags.register(cmd)
	f.providerFlags.register(cmd)
	cmd.Flags().StringVar(&f.consul, "consul", "", "consul binary (default: $ZTLAB_CONSUL, bin/consul, PATH)")
	cmd.Flags().StringVar(&f.content, "content", "", "directory of narration markdown that replaces the built-in one")
}

// check checks the flags before anything starts, and says whether the
// hosts are remote.
func (f *walkFlags) check() (remote bool, err error) {
	if _, err := f.topology(); err != nil {
		return false, err
	}
	if err := scenes.CheckContent(f.content); err != nil {
		return false, usage(err)
	}
	return f.providerFlags.remote()
}

// engine builds the walkthrough's engine over a local lab (inside the
// sandbox) or SSH hosts; the lab is built by the first scene.
func (f *walkFlags) engine(ctx context.Context) (*scenes.Engine, error) {
	t, err := f.topology()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	bin, err := mesh.FindConsul(ctx, f.consul)
	if err != nil {
		return nil, usage(err)
	}
	ws := scenes.Walkthrough()
	if err := scenes.LoadContent(ws, f.content); err != nil {
		return nil, usage(err)
	}
	env := &scenes.Env{Self: self, Seed: f.seed, Consul: bin.Path}
	e := scenes.New(env, ws)
	if f.provider == "equinix" {
		if env.Build, err = f.metalBuild(self, bin.Path, env.Logf); err != nil {
			return nil, err
		}
		return e, nil
	}
	if f.provider == "ssh" {
		p, err := f.sshProvider(ctx, t, self, bin.Path, os.Stderr)
		if err != nil {
			return nil, err
		}
		env.Build = func(ctx context.Context) (infra.Lab, error) {
			l, err := p.Up(ctx, t, sshProgress(env.Logf))
			if err == nil {
				env.Logf("lab %s on %d hosts of %s (after a crash: zt-lab down --provider ssh --inventory %s --lab %s)", l.ID(), len(l.Hosts()), f.inventory, f.inventory, l.ID())
			}
			return l, err
		}
		return e, nil
	}
	env.Build = func(ctx context.Context) (infra.Lab, error) {
		l, err := local.New().Up(ctx, t, func(ev infra.Event) {
			if ev.Host != "" && ev.Err == nil {
				env.Logf("%-9s ready in %d ms", ev.Host, ev.Elapsed.Milliseconds())
			}
		})
		if err != nil {
			return nil, labError(err)
		}
		serveSniff(l.(*local.Lab))
		return l, nil
	}
	return e, nil
}

func newRunCmd() *cobra.Command {
	var f walkFlags
	var only []int
	var jsonPath string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the walkthrough headless: a line per step and check, then a report",
		Long: `Run every scene (or those given with --scene) without a screen, printing
each step, the command a learner would type, and every check with its
evidence. Exits 1 if any check fails.`,
		Example: "  zt-lab run\n  zt-lab run --scene 1 --scene 2 --scene 3 --json report.json",
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
			if err := writable(jsonPath); err != nil {
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
			err = scenes.Headless(ctx, e, cmd.OutOrStdout(), idx)
			if m, merr := local.LabMemory(); merr == nil && !remote {
				fmt.Fprintf(cmd.OutOrStdout(), "lab memory now: PSS %d MB, RSS %d MB, %d processes\n", m.PSS>>20, m.RSS>>20, m.Procs)
			}
			if jsonPath != "" {
				if jerr := scenes.WriteJSON(jsonPath, e); jerr != nil {
					return jerr
				}
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
	cmd.Flags().StringVar(&jsonPath, "json", "", "also write every result as JSON to this file")
	return cmd
}

// writable checks, before minutes of work, that a report can be written
// at path ("" is fine: no report).
func writable(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return usagef("--json %v", err)
	}
	return f.Close()
}

// closeLab ends a walkthrough's lab as its command returns. What it could
// not end is said on stderr, and fails a command that had not failed.
func closeLab(env *scenes.Env, cmd *cobra.Command, rerr *error) {
	err := env.Close(context.Background())
	if err == nil {
		return
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "zt-lab: ending the lab: %v\n", err)
	if *rerr == nil {
		*rerr = exitCode(1)
	}
}
