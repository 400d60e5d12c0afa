package sshlab

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// A refused connect on the far host reads as a refused dial here, so that
// "the service no longer listens on its lab address" is told apart from a
// host that cannot be reached.
func TestDialErrorKeepsRefusedApart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		refused bool
	}{
		{"sshd relays a refused connect", &ssh.OpenChannelError{Reason: ssh.ConnectionFailed, Message: "Connection refused"}, true},
		{"sshd forbids forwarding", &ssh.OpenChannelError{Reason: ssh.Prohibited, Message: "administratively prohibited"}, false},
		{"a host that does not answer", &ssh.OpenChannelError{Reason: ssh.ConnectionFailed, Message: "No route to host"}, false},
		{"the connection is gone", errors.New("EOF"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := dialError("tcp", "198.18.0.20:8181", tc.err)
			if got := errors.Is(err, syscall.ECONNREFUSED); got != tc.refused {
				t.Errorf("dialError(%v) = %v: refused %v, want %v", tc.err, err, got, tc.refused)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"/var/tmp/zt-lab-x/bin/zt-lab", "remote", "agent"}, "/var/tmp/zt-lab-x/bin/zt-lab remote agent"},
		{[]string{"sh", "-c", "echo 'hi' $HOME"}, `sh -c 'echo '\''hi'\'' $HOME'`},
		{[]string{""}, "''"},
		{[]string{"a b", "--addr=198.18.0.20"}, "'a b' --addr=198.18.0.20"},
	} {
		if got := shellQuote(tc.argv...); got != tc.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tc.argv, got, tc.want)
		}
	}
}

// A device that was just built lets the lab's key in only once its first
// boot has installed it: zt-lab waits for that. A host key it refuses ends
// the wait at once, since trying again cannot help.
func TestDialPatientlyWaitsForANewDeviceButNotForABadHostKey(t *testing.T) {
	keyFile, clientKey := writeKey(t, t.TempDir(), "id_ed25519")
	_, stranger := writeKey(t, t.TempDir(), "id_stranger")
	srv := newSSHServer(t, clientKey)
	target := loginTo(srv, keyFile)
	keys := trusting(t)

	// "First boot" installs the key after a few refused logins.
	srv.setClient(stranger)
	go func() {
		time.Sleep(2500 * time.Millisecond)
		srv.setClient(clientKey)
	}()
	waited := 0
	start := time.Now()
	c, err := dialPatiently(context.Background(), target, keys, 30*time.Second, func() { waited++ })
	if err != nil {
		t.Fatalf("a device that lets the key in after %v: %v", time.Since(start), err)
	}
	c.Close()
	if waited != 1 {
		t.Errorf("said it waits %d times, want once", waited)
	}

	// The same address now shows another host key.
	srv.setHostKeys(newHostKey(t))
	start = time.Now()
	_, err = dialPatiently(context.Background(), target, keys, 30*time.Second, func() {})
	var hk hostKeyError
	if !errors.As(err, &hk) || !strings.Contains(err.Error(), "changed") || time.Since(start) > 5*time.Second {
		t.Errorf("a changed host key: %v after %v, want a host key error at once", err, time.Since(start))
	}

	// A device whose sshd drops connections before showing its key (still
	// booting, or MaxStartups) is waited for: that is no key problem.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	dropper := target
	dropper.Addr = ln.Addr().String()
	start = time.Now()
	_, err = dialPatiently(context.Background(), dropper, keys, 3*time.Second, func() {})
	if err == nil || errors.As(err, &hk) || time.Since(start) < 2*time.Second {
		t.Errorf("a host that drops the connection: %v after %v, want a login error after waiting", err, time.Since(start))
	}

	// Nobody listening: it gives up when the wait is over.
	target.Addr = "127.0.0.1:1"
	start = time.Now()
	if _, err := dialPatiently(context.Background(), target, keys, time.Second, func() {}); err == nil || time.Since(start) > 10*time.Second {
		t.Errorf("nothing listening: %v after %v", err, time.Since(start))
	}
}

// A connection through SSH has no deadlines of its own; a read that waits
// past one must still end, as a probe of a silent sidecar relies on.
func TestDeadlineConnEndsAWaitingRead(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := &deadlineConn{Conn: noDeadlines{a}}
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	start := time.Now()
	_, err := c.Read(make([]byte, 1))
	if err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("read past its deadline: %v after %v", err, time.Since(start))
	}
	c.Close()
}

// noDeadlines is a connection that, like an SSH channel, ignores them.
type noDeadlines struct{ net.Conn }

func (noDeadlines) SetDeadline(time.Time) error      { return errors.New("deadline not supported") }
func (noDeadlines) SetReadDeadline(time.Time) error  { return errors.New("deadline not supported") }
func (noDeadlines) SetWriteDeadline(time.Time) error { return errors.New("deadline not supported") }

func TestReserveLetsOneAddHostPerName(t *testing.T) {
	l := &Lab{id: "ssh-0123abcd", hosts: []*Host{{target: Target{Name: "fcs00"}}}}
	if err := l.reserve("fcs00"); err == nil || err.Error() != "the lab has a host fcs00 already" {
		t.Errorf("a host the lab has: %v", err)
	}
	var wg sync.WaitGroup
	var won atomic.Int32
	for range 8 {
		wg.Go(func() {
			if l.reserve("fcs01") == nil {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if n := won.Load(); n != 1 {
		t.Errorf("%d of 8 calls at once reserved fcs01, want 1", n)
	}
	l.closed = true
	if err := l.reserve("fcs02"); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("a closed lab: %v", err)
	}
}
