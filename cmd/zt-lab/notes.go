package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/presenter"
	"github.com/ztlab/zt-lab/scenes"
	"github.com/ztlab/zt-lab/tui"
)

// maxTalk bounds --budget: a longer one is a typo (45h for 45m).
const maxTalk = 12 * time.Hour

// newNotesCmd is `zt-lab notes`: the presenter's second screen.
func newNotesCmd() *cobra.Command {
	var (
		budget       string
		highContrast bool
	)
	cmd := &cobra.Command{
		Use:   "notes [--budget 45m]",
		Short: "Speaker notes on a second terminal, following the guided lab live",
		Long: `zt-lab notes follows the guided lab (zt-lab, in another terminal or on
the projector) as the presenter presses n, p and enter: the scene's speaker
notes, the next scene, the step running, the last check, the talk's and the
scene's clocks, the scene's time budget counting down (it turns the warning
colour once the scene overruns), and what n, p and enter will do next.

Each scene's budget comes from its notes' front matter (budget: 3m);
--budget spreads a whole talk over the scenes in the same proportions.
Over ssh, log in as the presenter's user on the presenter's machine.
It ends when the guided lab does. Keys: ↑/↓ scroll, q quit.`,
		Example: `  zt-lab notes                 the notes' own budgets
  zt-lab notes --budget 45m    a 45-minute slot spread over the scenes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := tui.NotesOptions{}
			if highContrast {
				opts.Theme = tui.ThemeHighContrast
			}
			if budget != "" {
				d, err := scenes.ParseBudget(budget, maxTalk)
				if err != nil {
					return usagef("--budget: %v", err)
				}
				opts.Budget = d
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer stop()
			feed, err := presenter.Follow(ctx, presenter.SocketPath())
			var unsafe infra.UnsafePathError
			switch {
			case errors.Is(err, presenter.ErrNoScreen):
				return usagef("no guided lab is running for you: start `zt-lab` in another terminal first, then zt-lab notes follows it")
			case errors.As(err, &unsafe):
				return usage(err)
			case err != nil:
				return err
			}
			defer feed.Close()
			if !term.IsTerminal(int(os.Stdout.Fd())) {
				return usagef("zt-lab notes needs a terminal: run it in one, beside the guided lab")
			}
			err = tui.RunNotes(ctx, feed, opts)
			if errors.Is(err, tui.ErrPresenterClosed) {
				fmt.Fprintln(cmd.OutOrStdout(), "zt-lab notes: the guided lab closed, and the notes with it.")
				return nil
			}
			if ctx.Err() != nil {
				return nil
			}
			return err
		},
	}
	cmd.Flags().StringVar(&budget, "budget", "", "the talk's `time` (45m), spread over the scenes as their notes weigh them")
	cmd.Flags().BoolVar(&highContrast, "high-contrast", false, "a high-contrast theme for a bright room")
	return cmd
}

// publishNotes serves the presenter's state for `zt-lab notes` while the
// guided lab runs; close stops it. A second guided lab of the same user,
// or a runtime directory it cannot use, leaves the notes off: said on
// stderr (but for autoplay, whose screen may be a recording), the lab runs
// all the same.
func publishNotes(cmd *cobra.Command, opts *tui.Options) (close func()) {
	srv, err := presenter.Listen(presenter.SocketPath())
	if err != nil {
		if !opts.Autoplay {
			fmt.Fprintln(cmd.ErrOrStderr(), "zt-lab: no speaker notes for zt-lab notes:", err)
		}
		return func() {}
	}
	opts.Publish = srv.Publish
	return func() { _ = srv.Close() }
}
