package scenes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Headless runs the given scenes (all when none are given) in order,
// writing one line per step and check to w, and then the report card. It
// returns ErrCheckFailed when any check failed.
func Headless(ctx context.Context, e *Engine, w io.Writer, only []int) error {
	events := e.Subscribe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		printEvents(e, events, w)
	}()
	start := time.Now()
	var runErr error
	indices := only
	if len(indices) == 0 {
		for i := range e.Scenes {
			indices = append(indices, i)
		}
	}
	for _, i := range indices {
		if err := e.RunScene(ctx, i); err != nil && !errors.Is(err, ErrCheckFailed) {
			runErr = err
			break
		}
	}
	e.emit(Event{Kind: "end"})
	<-done
	fmt.Fprintln(w)
	WriteReport(w, e)
	fmt.Fprintf(w, "\nwalkthrough took %.1f s\n", time.Since(start).Seconds())
	if runErr != nil {
		return runErr
	}
	if e.Failed() {
		return ErrCheckFailed
	}
	return nil
}

func printEvents(e *Engine, events <-chan Event, w io.Writer) {
	for ev := range events {
		switch ev.Kind {
		case "end":
			return
		case SceneStarted:
			fmt.Fprintf(w, "\n== %d. %s\n", ev.Scene+1, ev.Text)
		case Preparing:
			fmt.Fprintf(w, "   (%s)\n", ev.Text)
		case StepStarted:
			st := e.Scenes[ev.Scene].Steps[ev.Step]
			fmt.Fprintf(w, "-- %s\n", st.Title)
			if st.Shell != "" {
				fmt.Fprintf(w, "   $ %s\n", st.Shell)
			}
		case Output:
			fmt.Fprintf(w, "   %s\n", ev.Text)
		case CheckDone:
			mark := "PASS"
			switch {
			case ev.Check.Skipped != "":
				mark = "SKIP"
			case !ev.Check.Pass:
				mark = "FAIL"
			}
			fmt.Fprintf(w, "   [%s] %s\n", mark, ev.Check.Name)
			for _, l := range ev.Check.Evidence {
				fmt.Fprintf(w, "          %s\n", l)
			}
		case StepDone:
			if ev.Err != "" {
				fmt.Fprintf(w, "   [ERROR] %s\n", ev.Err)
			}
		case FaultInjected, FaultRecovered:
			fmt.Fprintf(w, "   %s\n", FaultLine(ev))
		}
	}
}

// WriteReport writes the report card: every check run, with its evidence.
func WriteReport(w io.Writer, e *Engine) {
	fmt.Fprintln(w, "Report card")
	pass, fail, skipped := 0, 0, 0
	for _, r := range e.Results() {
		switch {
		case r.Err != nil:
			fail++
			fmt.Fprintf(w, "  ✗ %d. %s: %v\n", r.Scene+1, r.Title, r.Err)
		case r.Check == nil:
		case r.Check.Pass:
			pass++
			fmt.Fprintf(w, "  ✓ %d. %s\n", r.Scene+1, r.Check.Name)
		case r.Check.Skipped != "":
			skipped++
			fmt.Fprintf(w, "  - %d. %s: skipped: %s\n", r.Scene+1, r.Check.Name, r.Check.Skipped)
		default:
			fail++
			fmt.Fprintf(w, "  ✗ %d. %s: %s\n", r.Scene+1, r.Check.Name, strings.Join(r.Check.Evidence, "; "))
		}
	}
	fmt.Fprintf(w, "%d checks passed, %d failed", pass, fail)
	if skipped > 0 {
		fmt.Fprintf(w, ", %d skipped", skipped)
	}
	fmt.Fprintln(w)
}
