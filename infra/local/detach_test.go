//go:build linux

package local

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Labs that fail to come up in the background, for Detach to start: the
// test binary plays one when Detach passes it its name as the one argument.
func init() {
	if len(os.Args) != 2 || !Detached() {
		return
	}
	switch os.Args[1] {
	case "detached-lab-that-fails":
		fmt.Println("Building the lab ...")
		fmt.Println("zt-lab: the wire has no room for five hosts")
		os.Exit(3)
	case "detached-lab-that-ends":
		fmt.Println("Building the lab ...")
		os.Exit(0)
	}
}

func TestDetachPassesOnWhatALabThatFailedSaid(t *testing.T) {
	for _, tc := range []struct {
		lab    string
		code   int // the lab's exit status; -1: not an exit status
		err    string
		stderr string
	}{
		{"detached-lab-that-fails", 3, "exit status 3", "zt-lab: the wire has no room for five hosts\n"},
		{"detached-lab-that-ends", -1, "the lab did not start: Building the lab ...", ""},
	} {
		var stderr bytes.Buffer
		_, err := Detach([]string{tc.lab}, &stderr)
		ee, isExit := err.(*exec.ExitError)
		switch {
		case err == nil:
			t.Errorf("%s: Detach succeeded", tc.lab)
		case err.Error() != tc.err:
			t.Errorf("%s: Detach = %v, want %q", tc.lab, err, tc.err)
		case isExit != (tc.code >= 0) || isExit && ee.ExitCode() != tc.code:
			t.Errorf("%s: Detach = %#v, want the lab's exit status %d", tc.lab, err, tc.code)
		}
		if stderr.String() != tc.stderr {
			t.Errorf("%s: stderr %q, want the lab's own error lines %q and nothing else", tc.lab, stderr.String(), tc.stderr)
		}
	}
}
