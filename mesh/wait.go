package mesh

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ztlab/zt-lab/infra"
)

// tailLines is how much of a process's log a failed wait shows.
const tailLines = 12

// blockingWait is the longest a blocking query waits for a change before
// it asks again.
const blockingWait = 5 * time.Second

// procRef is a process of the mesh and the host it runs on, for the log
// tail a failed wait shows.
type procRef struct {
	host string
	proc infra.Proc
}

// waitSpec says what a wait is for: its name in errors, the processes
// whose logs explain a failure (and whose exit ends the wait at once), and
// the longest it may take, whatever the caller's context allows: a state
// not reached by then will not be, and the caller learns why sooner.
type waitSpec struct {
	what  string
	procs []procRef
	limit time.Duration
}

// exitedError ends a wait whose process exited.
type exitedError struct{ ref procRef }

func (e exitedError) Error() string {
	if err := e.ref.proc.Err(); err != nil {
		return fmt.Sprintf("%s on %s exited: %v", e.ref.proc.Name(), e.ref.host, err)
	}
	return fmt.Sprintf("%s on %s exited", e.ref.proc.Name(), e.ref.host)
}

// begin derives the wait's context: it has a deadline, and it ends with an
// exitedError as soon as one of the wait's processes exits.
func (w waitSpec) begin(ctx context.Context) (context.Context, context.CancelFunc) {
	var cancelTimeout context.CancelFunc = func() {}
	if w.limit > 0 {
		ctx, cancelTimeout = context.WithTimeout(ctx, w.limit)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	for _, r := range w.procs {
		if r.proc == nil {
			continue
		}
		select {
		case <-r.proc.Done():
			cancel(exitedError{r}) // gone already: not worth one more question
			continue
		default:
		}
		go func() {
			select {
			case <-r.proc.Done():
				cancel(exitedError{r})
			case <-ctx.Done():
			}
		}()
	}
	return ctx, func() { cancel(nil); cancelTimeout() }
}

// failed builds the error of a wait that did not get there: what it waited
// for, how long, what it saw last, the last error, and the log tails.
func (w waitSpec) failed(ctx context.Context, start time.Time, saw string, last error) error {
	var b strings.Builder
	cause := context.Cause(ctx)
	var ex exitedError
	if errors.As(cause, &ex) {
		fmt.Fprintf(&b, "%s: %v after %s", w.what, ex, since(start))
	} else {
		fmt.Fprintf(&b, "%s: not done after %s (%v)", w.what, since(start), cause)
	}
	if saw != "" {
		fmt.Fprintf(&b, "; saw %s", saw)
	}
	if last != nil && !errors.Is(last, context.Canceled) && !errors.Is(last, context.DeadlineExceeded) {
		fmt.Fprintf(&b, "; last error: %v", oneLine(last.Error()))
	}
	b.WriteString(tails(w.procs))
	if errors.As(cause, &ex) {
		return waitError{msg: b.String(), err: ex}
	}
	return waitError{msg: b.String(), err: cause}
}

// waitError is a failed wait: its message says everything, and it unwraps
// to why it ended (an exitedError, or the deadline).
type waitError struct {
	msg string
	err error
}

func (e waitError) Error() string { return e.msg }
func (e waitError) Unwrap() error { return e.err }

// tails renders the last lines of each process's log, indented.
func tails(refs []procRef) string {
	var b strings.Builder
	for _, r := range refs {
		if r.proc == nil {
			continue
		}
		lines := r.proc.Tail(tailLines)
		if len(lines) == 0 {
			fmt.Fprintf(&b, "\n  %s on %s wrote nothing (%s)", r.proc.Name(), r.host, r.proc.LogPath())
			continue
		}
		fmt.Fprintf(&b, "\n  %s on %s, last %d lines of %s:", r.proc.Name(), r.host, len(lines), r.proc.LogPath())
		for _, l := range lines {
			b.WriteString("\n    " + l)
		}
	}
	return b.String()
}

// await repeats a blocking query until ready says the state is reached,
// and returns the value that reached it. Errors (no leader yet, no known
// servers) are retried after a short pause, since the API has nothing to
// block on then.
func await[T any](ctx context.Context, w waitSpec, query func(*api.QueryOptions) (T, *api.QueryMeta, error), ready func(T) (bool, string)) (T, error) {
	start := time.Now()
	ctx, cancel := w.begin(ctx)
	defer cancel()
	var (
		index   uint64
		saw     string
		last    error
		zero    T
		backoff = 25 * time.Millisecond
	)
	for ctx.Err() == nil {
		q := (&api.QueryOptions{WaitIndex: index, WaitTime: blockingWait}).WithContext(ctx)
		v, meta, err := query(q)
		blocked := false
		if err == nil {
			last = nil
			ok, s := ready(v)
			saw = s
			if ok {
				return v, nil
			}
			switch {
			case meta == nil || meta.LastIndex == 0:
				index = 0
			case meta.LastIndex < index:
				index = 0 // the index went backwards: start over, as consul says to
			default:
				index = meta.LastIndex
				blocked = true
			}
		} else if ctx.Err() == nil {
			last = err
		}
		if !blocked && sleep(ctx, backoff) {
			backoff = min(backoff*2, 400*time.Millisecond)
		}
	}
	return zero, w.failed(ctx, start, saw, last)
}

// poll repeats try every interval until it reports done: for what the API
// offers no blocking query for.
func poll(ctx context.Context, w waitSpec, every time.Duration, try func(context.Context) (bool, string, error)) error {
	start := time.Now()
	ctx, cancel := w.begin(ctx)
	defer cancel()
	var (
		saw  string
		last error
	)
	for ctx.Err() == nil {
		done, s, err := try(ctx)
		if s != "" {
			saw = s
		}
		if err != nil && ctx.Err() == nil {
			last = err
		}
		if done && err == nil {
			return nil
		}
		if !sleep(ctx, every) {
			break
		}
	}
	return w.failed(ctx, start, saw, last)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
