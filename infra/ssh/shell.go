package sshlab

import (
	"os/exec"

	"github.com/ztlab/zt-lab/infra"
)

// ShellFunc opens a shell on a host of the lab that lab returns (nil until
// the walkthrough built it) with the OpenSSH client, checked against the
// lab's known_hosts: what the guided lab's `s` runs. Any lab of SSH hosts
// will do, a Metal lab over SSH too. Without an ssh client it is nil: there
// is no shell to offer.
func ShellFunc(lab func() infra.Lab) func(host string) *exec.Cmd {
	if _, err := exec.LookPath("ssh"); err != nil {
		return nil
	}
	type shell interface {
		ShellCommand(knownHosts string) []string
	}
	type known interface{ KnownHosts() string }
	return func(host string) *exec.Cmd {
		l := lab()
		var h infra.Host
		if l != nil {
			h, _ = l.Host(host)
		}
		sh, ok := h.(shell)
		k, kok := l.(known)
		if !ok || !kok {
			return exec.Command("sh", "-c", "echo 'zt-lab: no host "+host+" yet: run the first scene' >&2; exit 1")
		}
		argv := sh.ShellCommand(k.KnownHosts())
		return exec.Command(argv[0], argv[1:]...)
	}
}
