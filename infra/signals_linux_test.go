package infra

import (
	"syscall"
	"testing"
)

func TestFreezeSignalsAreLinuxs(t *testing.T) {
	if SigStop != syscall.SIGSTOP || SigCont != syscall.SIGCONT {
		t.Errorf("SigStop %d, SigCont %d; Linux has SIGSTOP %d, SIGCONT %d", SigStop, SigCont, syscall.SIGSTOP, syscall.SIGCONT)
	}
}
