//go:build linux

package remote

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// controller is the far end of a supervisor under test: what zt-lab is
// over SSH, here over pipes.
type controller struct {
	t      *testing.T
	codec  *Codec
	in     io.WriteCloser // the supervisor's stdin
	events chan Message
	done   chan error // Serve's result
	next   uint64
	root   string
}

func startSupervisor(t *testing.T) *controller {
	t.Helper()
	// These controllers send no beats: a minute of silence is plenty.
	return startSupervisorHearing(t, time.Minute)
}

// startSupervisorHearing starts a supervisor that ends after silence
// without a word from its controller.
func startSupervisorHearing(t *testing.T, silence time.Duration) *controller {
	t.Helper()
	root := t.TempDir()
	cfg := Config{Host: "fcs00", Root: root, Dir: filepath.Join(root, "fcs00"), BinDir: filepath.Join(root, "bin"), Table: "zt_lab_test", Silence: silence}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	c := &controller{t: t, in: inW, events: make(chan Message, 1024), done: make(chan error, 1), root: root}
	go func() {
		c.done <- Serve(context.Background(), cfg, inR, outW)
		outW.Close()
	}()
	br := bufio.NewReader(outR)
	line, err := br.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != Banner {
		t.Fatalf("banner: %q, %v", line, err)
	}
	c.codec = NewCodec(br, inW)
	hello, err := c.codec.ReadMessage()
	if err != nil || hello.Hello == nil || hello.Hello.Host != "fcs00" || hello.Hello.PID != os.Getpid() {
		t.Fatalf("hello: %+v, %v", hello, err)
	}
	go func() {
		for {
			m, err := c.codec.ReadMessage()
			if err != nil {
				close(c.events)
				return
			}
			c.events <- m
		}
	}()
	t.Cleanup(func() { c.in.Close() })
	return c
}

// call sends req and returns its reply; process events that come first are
// kept for next.
func (c *controller) call(req Request) Message {
	c.t.Helper()
	c.next++
	req.ID = c.next
	if err := c.codec.Send(req); err != nil {
		c.t.Fatal(err)
	}
	return c.waitFor(func(m Message) bool { return m.ID == req.ID })
}

var kept []Message

func (c *controller) waitFor(match func(Message) bool) Message {
	c.t.Helper()
	for i, m := range kept {
		if match(m) {
			kept = append(kept[:i], kept[i+1:]...)
			return m
		}
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-c.events:
			if !ok {
				c.t.Fatal("the supervisor's output ended")
			}
			if match(m) {
				return m
			}
			kept = append(kept, m)
		case <-timeout:
			c.t.Fatal("no such message in 10 s")
		}
	}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestSupervisorRunsStartsWritesAndSignals(t *testing.T) {
	kept = nil
	c := startSupervisor(t)

	r := c.call(Request{Op: OpRun, Argv: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}})
	if !strings.Contains(r.Err, "exit status 3") || string(r.Out) != "out\nerr\n" {
		t.Errorf("run: %q, %q", r.Out, r.Err)
	}
	r = c.call(Request{Op: OpRun, Argv: []string{"no-such-command-here"}})
	if r.Err == "" {
		t.Errorf("a missing command ran: %+v", r)
	}

	w := c.call(Request{Op: OpWrite, Path: "../../etc/consul.hcl", Data: []byte("x"), Perm: 0o600})
	want := filepath.Join(c.root, "fcs00", "etc", "consul.hcl")
	if w.Err != "" || w.Path != want {
		t.Errorf("write escaped the host's directory or failed: %q, %q (want %s)", w.Path, w.Err, want)
	}

	s := c.call(Request{Op: OpStart, Name: "talker", Argv: []string{"sh", "-c", "echo one; echo two; exec sleep 60"}})
	if s.Err != "" || s.PID == 0 {
		t.Fatalf("start: %+v", s)
	}
	id := c.next
	for _, want := range []string{"one", "two"} {
		if m := c.waitFor(func(m Message) bool { return m.Proc == id && !m.Exited }); m.Line != want {
			t.Errorf("line %q, want %q", m.Line, want)
		}
	}
	if r := c.call(Request{Op: OpSignal, Proc: id, Signal: int(syscall.SIGTERM)}); r.Err != "" {
		t.Errorf("signal: %s", r.Err)
	}
	if m := c.waitFor(func(m Message) bool { return m.Proc == id && m.Exited }); !strings.Contains(m.Err, "terminated") {
		t.Errorf("exit after SIGTERM: %q", m.Err)
	}
	if alive(s.PID) {
		t.Errorf("pid %d still runs after its exit was reported", s.PID)
	}
	if r := c.call(Request{Op: "reboot"}); !strings.Contains(r.Err, "newer zt-lab") {
		t.Errorf("an unknown request: %+v", r)
	}
}

func TestSupervisorCancelsARun(t *testing.T) {
	for _, tc := range []struct {
		name string
		// started: cancel once the command has provably begun (it wrote
		// its mark), so the only outcome is the kill; otherwise at once,
		// when the run may not have started and the context may win.
		started bool
		want    []string
	}{
		{"at once", false, []string{context.Canceled.Error(), "signal: killed"}},
		{"once it runs", true, []string{"signal: killed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kept = nil
			c := startSupervisor(t)
			mark := filepath.Join(t.TempDir(), "started")
			c.next++
			id := c.next
			if err := c.codec.Send(Request{ID: id, Op: OpRun, Argv: []string{"sh", "-c", "touch " + mark + "; exec sleep 60"}}); err != nil {
				t.Fatal(err)
			}
			if tc.started {
				deadline := time.Now().Add(10 * time.Second)
				for !fileExists(mark) && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				if !fileExists(mark) {
					t.Fatal("the run never started")
				}
			}
			c.call(Request{Op: OpCancel, Ref: id})
			start := time.Now()
			m := c.waitFor(func(m Message) bool { return m.ID == id })
			// A run that ended any other way — exit 0, a missing sh, a
			// timeout of its own — is not a cancellation.
			if !slices.Contains(tc.want, m.Err) {
				t.Errorf("a cancelled run ended with %q, want one of %q", m.Err, tc.want)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("a cancelled run took %v to end", time.Since(start))
			}
		})
	}
}

// When its controller goes away, the supervisor ends every process it
// started, even frozen ones, and removes the host's files and then the
// lab's, since no other host of the lab is left here.
func TestSupervisorLeavesNothingWhenItsControllerGoes(t *testing.T) {
	kept = nil
	c := startSupervisor(t)
	if err := os.MkdirAll(filepath.Join(c.root, "bin"), 0o700); err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, name := range []string{"consul", "fortune"} {
		m := c.call(Request{Op: OpStart, Name: name, Argv: []string{"sleep", "60"}})
		if m.Err != "" {
			t.Fatal(m.Err)
		}
		pids = append(pids, m.PID)
	}
	c.call(Request{Op: OpSignal, Proc: c.next, Signal: int(syscall.SIGSTOP)})
	if _, err := os.Stat(PIDFile(filepath.Join(c.root, "fcs00"))); err != nil {
		t.Errorf("no pid file while it runs: %v", err)
	}
	c.in.Close()
	select {
	case err := <-c.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the supervisor did not end with its input")
	}
	for _, pid := range pids {
		deadline := time.Now().Add(5 * time.Second)
		for alive(pid) && !isZombie(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(pid) && !isZombie(pid) {
			t.Errorf("pid %d outlived its supervisor", pid)
		}
	}
	if _, err := os.Stat(c.root); !errors.Is(err, os.ErrNotExist) {
		entries, _ := os.ReadDir(c.root)
		t.Errorf("the lab's directory is left: %v %v", err, entries)
	}
}

// After a silent network drop the controller's side of the connection
// neither speaks nor closes (here: a pipe nobody writes to). Beats keep the
// supervisor going; once they stop, it ends every process it started and
// removes its files within its deadline, not hours later.
func TestSupervisorEndsTheLabWhenItsControllerFallsSilent(t *testing.T) {
	kept = nil
	const silence = time.Second
	c := startSupervisorHearing(t, silence)
	var pids []int
	for _, name := range []string{"consul", "fortune"} {
		m := c.call(Request{Op: OpStart, Name: name, Argv: []string{"sleep", "60"}})
		if m.Err != "" {
			t.Fatal(m.Err)
		}
		pids = append(pids, m.PID)
	}
	// Three deadlines' worth of beats: it must still be there.
	for range 30 {
		if err := c.codec.Send(Request{Op: OpBeat}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(silence / 10)
	}
	select {
	case err := <-c.done:
		t.Fatalf("the supervisor ended while its controller was beating: %v", err)
	default:
	}
	if r := c.call(Request{Op: OpRun, Argv: []string{"true"}}); r.Err != "" {
		t.Fatalf("after the beats the supervisor does not answer: %s", r.Err)
	}
	// Now the controller falls silent; its end of the pipe stays open.
	var err error
	select {
	case err = <-c.done:
	case <-time.After(10 * silence):
		t.Fatal("the supervisor outlived ten deadlines of silence")
	}
	if err == nil || !strings.Contains(err.Error(), "no word from zt-lab") {
		t.Errorf("Serve after the silence: %v, want it to say why it ended", err)
	}
	for _, pid := range pids {
		deadline := time.Now().Add(5 * time.Second)
		for alive(pid) && !isZombie(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(pid) && !isZombie(pid) {
			t.Errorf("pid %d outlived its silent controller", pid)
		}
	}
	if _, err := os.Stat(filepath.Join(c.root, "fcs00")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the host's directory is left: %v", err)
	}
}

func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	_, rest, _ := bytes.Cut(b, []byte(") "))
	return len(rest) > 0 && rest[0] == 'Z'
}

// FuzzReadMessage feeds the controller's decoder whatever a broken or
// hostile host might send: it must return an error or a message, never
// panic or hang.
func FuzzReadMessage(f *testing.F) {
	var good bytes.Buffer
	c := NewCodec(nil, &good)
	_ = c.Send(Message{Hello: &Hello{Host: "fcs00", PID: 1}})
	_ = c.Send(Message{Proc: 3, Line: "serving on 0.0.0.0:8181"})
	_ = c.Send(Message{ID: 2, Out: []byte("ok"), Err: "exit status 1"})
	f.Add(good.Bytes())
	f.Add([]byte("zt-lab supervisor ready\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		// The input arrives over a pipe, as a supervisor's output does,
		// and then the pipe closes: every read must end, with a message
		// or an error, within the deadline. A reader that waits for bytes
		// past the end, or spins on what it has, fails here instead of
		// hanging the fuzzer.
		r, w := net.Pipe()
		defer r.Close()
		go func() {
			w.Write(b)
			w.Close()
		}()
		const deadline = 2 * time.Second
		r.SetReadDeadline(time.Now().Add(deadline))
		done := make(chan error, 1)
		go func() {
			c := NewCodec(r, io.Discard)
			for i := 0; i < 100; i++ {
				if _, err := c.ReadMessage(); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		select {
		case err := <-done:
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("ReadMessage(%q) still waited for input %v after the pipe closed", b, deadline)
			}
		case <-time.After(deadline + time.Second):
			t.Fatalf("ReadMessage(%q) did not return within %v", b, deadline)
		}
	})
}

// A length no message can have is refused before anything is allocated
// for it, and a cut-off message reads as the end of the stream.
func TestCodecRefusesWhatNoSupervisorSends(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"a 4 GB message", []byte{0xff, 0xff, 0xff, 0xff}, "over the limit"},
		{"a login banner where a message should be", []byte("Welcome to Ubuntu\n"), "over the limit"},
		{"a message cut short", []byte{0, 0, 0, 9, 1, 2}, "EOF"},
		{"not a gob", []byte{0, 0, 0, 2, 0xff, 0xff}, "protocol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewCodec(bytes.NewReader(tc.in), io.Discard).ReadMessage()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ReadMessage(%q) = %v, want an error with %q", tc.in, err, tc.want)
			}
		})
	}
}
