package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/scenes"
	"github.com/ztlab/zt-lab/tui"
)

// childFlags are the hidden flags `zt-lab serve` starts an attendee's
// guided lab with.
type childFlags struct {
	progress string
	noShell  bool
}

func (c *childFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.progress, "progress", "", "write one JSON line per engine event to this file (for zt-lab serve)")
	cmd.Flags().BoolVar(&c.noShell, "no-shell", false, "no shell on the lab hosts (for zt-lab serve)")
	_ = cmd.Flags().MarkHidden("progress")
	_ = cmd.Flags().MarkHidden("no-shell")
}

// apply sets the screen's options and starts reporting progress; the
// report ends with ctx.
func (c *childFlags) apply(ctx context.Context, e *scenes.Engine, opts *tui.Options) error {
	if c.noShell {
		opts.ShellFunc = nil
	}
	if c.progress == "" {
		return nil
	}
	f, err := os.OpenFile(c.progress, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("--progress: %w", err)
	}
	events := e.Subscribe()
	go func() {
		defer f.Close()
		enc := json.NewEncoder(f)
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-events:
				if ev.Kind == scenes.Output {
					continue // the server wants progress, not logs
				}
				if enc.Encode(ev) != nil {
					return
				}
			}
		}
	}()
	return nil
}
