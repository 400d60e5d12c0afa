package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/infra/local"
	"github.com/ztlab/zt-lab/mesh"
	"github.com/ztlab/zt-lab/tui"
)

func newRecordCmd() *cobra.Command {
	var cast, size string
	var pace time.Duration
	var seed int64
	cmd := &cobra.Command{
		Use:   "record --cast FILE",
		Short: "Record the whole walkthrough, played by itself, as an asciinema cast",
		Long: `Run the guided walkthrough with --autoplay in a terminal of a fixed size
and write everything it shows to FILE as an asciinema v2 cast:
  asciinema play FILE, or upload it. Fortunes are seeded, so a recording is
repeatable. assets/demo.tape does the same for VHS.`,
		Example: "  zt-lab record --cast demo.cast --pace 3s",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cast == "" {
				return usagef("record needs --cast FILE, e.g. zt-lab record --cast demo.cast")
			}
			cols, rows, err := parseSize(size)
			if err != nil {
				return usage(err)
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
			out, err := os.Create(cast)
			if err != nil {
				return usage(fmt.Errorf("--cast %s: %w", cast, err))
			}
			defer out.Close()
			self, err := os.Executable()
			if err != nil {
				return err
			}
			play := exec.Command(self, "--autoplay", "--pace", pace.String(), "--seed", strconv.FormatInt(seed, 10))
			play.Env = append(envWithout(os.Environ(), "NO_COLOR"), "TERM=xterm-256color")
			fmt.Fprintf(cmd.ErrOrStderr(), "Recording the walkthrough to %s (%dx%d) ...\n", cast, cols, rows)
			err = recordCast(play, out, cols, rows)
			if err != nil {
				out.Close()
				os.Remove(cast)
				fmt.Fprintf(cmd.ErrOrStderr(), "zt-lab: the walkthrough did not finish; %s removed. Run `zt-lab run` to see which step fails.\n", cast)
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					return exitCode(ee.ExitCode())
				}
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Wrote %s. Play it with: asciinema play %s\n", cast, cast)
			return nil
		},
	}
	cmd.Flags().StringVar(&cast, "cast", "", "the asciinema v2 file to write")
	cmd.Flags().StringVar(&size, "size", "120x36", "terminal size, COLSxROWS")
	cmd.Flags().DurationVar(&pace, "pace", 3*time.Second, "how long each scene stays on screen")
	cmd.Flags().Int64Var(&seed, "seed", 1, "seed of the fortune sequence")
	return cmd
}

func parseSize(s string) (cols, rows int, err error) {
	c, r, ok := strings.Cut(s, "x")
	cols, err1 := strconv.Atoi(c)
	rows, err2 := strconv.Atoi(r)
	if !ok || err1 != nil || err2 != nil || cols < 80 || rows < 24 || cols > 1000 || rows > 1000 {
		return 0, 0, fmt.Errorf("--size %q: want COLSxROWS, at least 80x24, e.g. 120x36", s)
	}
	return cols, rows, nil
}

// recordCast runs cmd in a pseudo-terminal of the given size and writes
// what it shows to w as an asciinema v2 cast: a header line, then one
// [seconds, "o", text] line per chunk of output.
func recordCast(cmd *exec.Cmd, w io.Writer, cols, rows int) error {
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
	if err != nil {
		return err
	}
	defer tty.Close()
	start := time.Now()
	header, _ := json.Marshal(map[string]any{
		"version": 2, "width": cols, "height": rows, "timestamp": start.Unix(),
		"env":   map[string]string{"TERM": "xterm-256color", "SHELL": "/bin/sh"},
		"title": "zt-lab: from plaintext to a zero-trust service mesh",
	})
	if _, err := fmt.Fprintf(w, "%s\n", header); err != nil {
		return err
	}
	buf := make([]byte, 32*1024)
	var pending []byte
	for {
		n, rerr := tty.Read(buf)
		if n > 0 {
			pending = append(pending, buf[:n]...)
			// JSON strings hold whole characters: keep a split one for
			// the next chunk.
			cut := len(pending)
			for cut > 0 && !utf8.Valid(pending[:cut]) && len(pending)-cut < utf8.UTFMax {
				cut--
			}
			if cut == 0 {
				cut = len(pending)
			}
			ev, _ := json.Marshal([]any{time.Since(start).Seconds(), "o", string(pending[:cut])})
			if _, err := fmt.Fprintf(w, "%s\n", ev); err != nil {
				return err
			}
			pending = append(pending[:0], pending[cut:]...)
		}
		if rerr != nil {
			break // EIO: the program has exited and closed the terminal
		}
	}
	return cmd.Wait()
}
