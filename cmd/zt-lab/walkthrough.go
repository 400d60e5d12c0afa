package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/mesh"
	"github.com/ztlab/zt-lab/scenes"
)

// walkFlags are the flags of every command that runs the walkthrough.
type walkFlags struct {
	labFlags
	providerFlags
	consul  string
	content string
	row     provider    // the provider, once check has chosen it
	bin     mesh.Binary // the consul, once engine has found it
}

func (f *walkFlags) register(cmd *cobra.Command) {
	f.labFlags.register(cmd)
	f.providerFlags.register(cmd, useWalk)
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
	if f.row, err = f.walk(); err != nil {
		return false, err
	}
	return f.row.remote, nil
}

// engine builds the walkthrough's engine over the provider check chose
// (inside the sandbox for the local lab); the lab is built by the first
// scene.
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
	f.bin = bin
	ws := scenes.Walkthrough()
	if err := scenes.LoadContent(ws, f.content); err != nil {
		return nil, usage(err)
	}
	env := &scenes.Env{Self: self, Seed: f.seed, Consul: bin.Path, Provider: f.row.name + " (" + f.row.about + ")"}
	e := scenes.New(env, ws)
	env.Build, err = f.row.build(ctx, walkLab{topology: t, self: self, consul: bin.Path, builds: f.builds, logf: env.Logf})
	if err != nil {
		return nil, err
	}
	return e, nil
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
