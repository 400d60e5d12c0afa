package mesh

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ztlab/zt-lab/infra"
)

// fakeProc is a process that has written lines and may have exited.
type fakeProc struct {
	lines []string
	done  chan struct{}
	err   error
}

func newFakeProc(lines ...string) *fakeProc {
	return &fakeProc{lines: lines, done: make(chan struct{})}
}

func (p *fakeProc) exit(err error) { p.err = err; close(p.done) }

func (p *fakeProc) Name() string    { return "consul" }
func (p *fakeProc) PID() int        { return 42 }
func (p *fakeProc) LogPath() string { return "/lab/log/consul.log" }
func (p *fakeProc) Tail(n int) []string {
	if n < 0 {
		return p.lines // every line, as infra.Lines does
	}
	return p.lines[max(0, len(p.lines)-n):]
}
func (p *fakeProc) Done() <-chan struct{}                     { return p.done }
func (p *fakeProc) Err() error                                { return p.err }
func (p *fakeProc) Stop(context.Context, time.Duration) error { return nil }

var _ infra.Proc = (*fakeProc)(nil)

func TestAwaitFollowsTheIndex(t *testing.T) {
	var asked []uint64
	calls := 0
	v, err := await(context.Background(), waitSpec{what: "three members", limit: time.Second},
		func(q *api.QueryOptions) (int, *api.QueryMeta, error) {
			asked = append(asked, q.WaitIndex)
			calls++
			if calls == 1 {
				return 0, nil, errors.New("Unexpected response code: 500 (No cluster leader)")
			}
			return calls, &api.QueryMeta{LastIndex: uint64(10 * calls)}, nil
		},
		func(n int) (bool, string) { return n >= 4, "" })
	if err != nil || v != 4 {
		t.Fatalf("await = %d, %v", v, err)
	}
	// After the error it starts from 0, then blocks on each index it saw.
	want := []uint64{0, 0, 20, 30}
	if len(asked) != len(want) {
		t.Fatalf("asked with indexes %v, want %v", asked, want)
	}
	for i := range want {
		if asked[i] != want[i] {
			t.Fatalf("asked with indexes %v, want %v", asked, want)
		}
	}
}

func TestAwaitSaysWhatItSawAndShowsTheLog(t *testing.T) {
	p := newFakeProc("[INFO] agent: started", "[WARN] agent: no leader yet")
	w := waitSpec{what: "leader election", procs: []procRef{{"consul00", p}}, limit: 150 * time.Millisecond}
	_, err := await(context.Background(), w,
		func(q *api.QueryOptions) (int, *api.QueryMeta, error) {
			return 1, &api.QueryMeta{LastIndex: 7}, nil
		},
		func(n int) (bool, string) { return false, "1 of 3 servers in the catalog" })
	if err == nil {
		t.Fatal("await succeeded")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to unwrap to the deadline", err)
	}
	for _, want := range []string{"leader election: not done after", "saw 1 of 3 servers in the catalog", "consul on consul00, last 2 lines of /lab/log/consul.log", "[WARN] agent: no leader yet"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
}

func TestAwaitEndsWhenItsProcessExits(t *testing.T) {
	p := newFakeProc("==> Error starting agent: listen tcp 198.18.0.20:8500: bind: address already in use")
	w := waitSpec{what: "consul client on fcs00", procs: []procRef{{"fcs00", p}}, limit: time.Minute}
	go func() {
		time.Sleep(50 * time.Millisecond)
		p.exit(errors.New("exit status 1"))
	}()
	start := time.Now()
	err := poll(context.Background(), w, 10*time.Millisecond, func(context.Context) (bool, string, error) {
		return false, "its HTTP API not answering", errors.New("connection refused")
	})
	if time.Since(start) > 5*time.Second {
		t.Errorf("the wait went on %s after the process exited", time.Since(start))
	}
	var ex exitedError
	if !errors.As(err, &ex) {
		t.Fatalf("err = %v, want an exitedError", err)
	}
	for _, want := range []string{"consul on fcs00 exited: exit status 1", "last error: connection refused", "address already in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if strings.Count(err.Error(), "exited") != 1 {
		t.Errorf("error repeats itself:\n%v", err)
	}
}

func TestNewWithoutConsul(t *testing.T) {
	_, err := New(nil, Binary{}, Options{Self: "/bin/true"})
	if !errors.Is(err, ErrNoConsul) || !strings.Contains(err.Error(), "make consul") {
		t.Errorf("New without a consul: %v", err)
	}
}
