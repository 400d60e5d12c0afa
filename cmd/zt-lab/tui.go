package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ztlab/zt-lab/infra/local"
	"github.com/ztlab/zt-lab/scenes"
	"github.com/ztlab/zt-lab/tui"
)

// tuiFlags are the root command's: the guided walkthrough on screen.
type tuiFlags struct {
	walkFlags
	autoplay     bool
	pace         time.Duration
	highContrast bool
	fallback     string
	child        childFlags // set by zt-lab serve
}

func (f *tuiFlags) register(cmd *cobra.Command) {
	f.walkFlags.register(cmd)
	cmd.Flags().BoolVar(&f.autoplay, "autoplay", false, "advance through every scene by itself, then quit (for recordings)")
	cmd.Flags().DurationVar(&f.pace, "pace", tui.DefaultPace, "with --autoplay, how long each scene stays on screen")
	cmd.Flags().BoolVar(&f.highContrast, "high-contrast", false, "a high-contrast theme for projectors")
	cmd.Flags().StringVar(&f.fallback, "fallback", "", "a recording (zt-lab record --cast FILE) that F swaps in for the live lab, at the same scene")
	f.child.register(cmd)
}

// runTUI is `zt-lab`: the walkthrough on screen, on the local lab.
func runTUI(cmd *cobra.Command, f *tuiFlags) (rerr error) {
	if err := tui.CheckPace(f.pace); err != nil {
		return usage(err)
	}
	remote, err := f.check()
	if err != nil {
		return err
	}
	// Read the recording before the lab starts, and again inside the
	// sandbox: a bad one is said at once.
	rec, err := loadFallback(f.fallback)
	if err != nil {
		return err
	}
	if rec != nil {
		defer rec.Close()
	}
	if !local.Sandboxed() || remote {
		if !term.IsTerminal(int(os.Stdin.Fd())) || !term.IsTerminal(int(os.Stdout.Fd())) {
			return usagef("the guided lab needs a terminal: use `zt-lab run` for a headless walkthrough, or `zt-lab record` for a cast")
		}
	}
	if !remote && !local.Sandboxed() {
		return enterSandbox()
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	e, err := f.engine(ctx)
	if err != nil {
		return err
	}
	defer closeLab(e.Env(), cmd, &rerr)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	opts := tui.Options{Autoplay: f.autoplay, Pace: f.pace, Fallback: rec}
	if f.row.shell != nil {
		opts.ShellFunc = f.row.shell(self, e.Env().Lab)
	}
	if f.highContrast {
		opts.Theme = tui.ThemeHighContrast
	}
	if err := f.child.apply(ctx, e, &opts); err != nil {
		return err
	}
	if f.child.progress == "" { // an attendee of zt-lab serve has no second screen
		defer publishNotes(cmd, &opts)()
	}
	err = tui.Run(ctx, e, opts)
	if errors.Is(err, scenes.ErrCheckFailed) {
		return exitCode(1)
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func envWithout(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		keep := true
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				keep = false
			}
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}
