package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/cast"
	"github.com/ztlab/zt-lab/infra/local"
	"github.com/ztlab/zt-lab/mesh"
	"github.com/ztlab/zt-lab/scenes"
	"github.com/ztlab/zt-lab/tui"
)

func newRecordCmd() *cobra.Command {
	var castPath, size string
	var pace time.Duration
	var seed int64
	cmd := &cobra.Command{
		Use:   "record --cast FILE",
		Short: "Record the whole walkthrough, played by itself, as an asciinema cast",
		Long: `Run the guided walkthrough with --autoplay in a terminal of a fixed size
and write everything it shows to FILE as an asciinema v2 cast:
  asciinema play FILE, or upload it. Fortunes are seeded, so a recording is
repeatable. Each scene's start is an asciinema marker (its ID and title),
which zt-lab --fallback FILE moves between. assets/demo.tape does the
same for VHS.`,
		Example: "  zt-lab record --cast demo.cast --pace 3s",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if castPath == "" {
				return usagef("record needs --cast FILE, e.g. zt-lab record --cast demo.cast")
			}
			cols, rows, err := cast.ParseSize(size)
			if err != nil {
				return usagef("--size %v", err)
			}
			if err := tui.CheckPace(pace); err != nil {
				return usage(err)
			}
			if err := checkLinux(); err != nil {
				return err
			}
			// What would make the autoplay fail at once is said here, not
			// buried in the cast.
			if _, err := mesh.FindConsul(cmd.Context(), ""); err != nil {
				return usage(err)
			}
			if st, err := local.FindLab(); err == nil {
				return usage(local.ErrLabRunning{State: st})
			}
			out, err := os.Create(castPath)
			if err != nil {
				return usage(fmt.Errorf("--cast %s: %w", castPath, err))
			}
			defer out.Close()
			self, err := os.Executable()
			if err != nil {
				return err
			}
			play := exec.Command(self, "--autoplay", "--pace", pace.String(), "--seed", strconv.FormatInt(seed, 10))
			play.Env = append(envWithout(os.Environ(), "NO_COLOR"), "TERM=xterm-256color")
			fmt.Fprintf(cmd.ErrOrStderr(), "Recording the walkthrough to %s (%dx%d) ...\n", castPath, cols, rows)
			err = cast.Record(play, out, cast.Header{
				Cols: cols, Rows: rows,
				Env:   map[string]string{"TERM": "xterm-256color", "SHELL": "/bin/sh"},
				Title: "zt-lab: from plaintext to a zero-trust service mesh",
			}, time.Now, sceneMarks(scenes.Walkthrough()))
			if err != nil {
				out.Close()
				os.Remove(castPath)
				fmt.Fprintf(cmd.ErrOrStderr(), "zt-lab: the walkthrough did not finish; %s removed. Run `zt-lab run` to see which step fails.\n", castPath)
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					return exitCode(ee.ExitCode())
				}
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Wrote %s. Play it with: asciinema play %s\n", castPath, castPath)
			return nil
		},
	}
	cmd.Flags().StringVar(&castPath, "cast", "", "the asciinema v2 file to write")
	cmd.Flags().StringVar(&size, "size", "120x36", "terminal size, COLSxROWS")
	cmd.Flags().DurationVar(&pace, "pace", 3*time.Second, "how long each scene stays on screen")
	cmd.Flags().Int64Var(&seed, "seed", 1, "seed of the fortune sequence")
	return cmd
}

// sceneMarks marks where the guided TUI starts each scene of ws: where it
// sets its window title to the scene's.
func sceneMarks(ws []scenes.Scene) cast.Marks {
	labels := make(map[string]string, len(ws))
	for _, s := range ws {
		labels[tui.WindowTitle(s.Title)] = cast.MarkLabel(s.ID, s.Title)
	}
	return func(title string) (string, bool) {
		l, ok := labels[title]
		return l, ok
	}
}
