package infra

import "syscall"

// SigStop and SigCont are the freeze's signals by their Linux numbers.
// Every lab host runs Linux, and over SSH a signal's number crosses the
// wire as it is: a controller on macOS, where SIGSTOP is 17 and 19 is
// SIGCONT, must still send Linux's numbers, and Windows has neither.
const (
	SigStop = syscall.Signal(0x13)
	SigCont = syscall.Signal(0x12)
)
