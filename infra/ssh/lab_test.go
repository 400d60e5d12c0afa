package sshlab

import (
	"errors"
	"syscall"
	"testing"

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
