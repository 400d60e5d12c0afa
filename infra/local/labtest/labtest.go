// Package labtest runs a package's tests inside a zt-lab sandbox, so they
// can build real local labs. Call it from TestMain:
//
//	func TestMain(m *testing.M) { labtest.Main(m) }
package labtest

import (
	"fmt"
	"os"
	"testing"

	"github.com/ztlab/zt-lab/infra/local"
)

// Main re-runs the test binary inside a sandbox with a runtime directory
// of its own (so it never meets a user's lab or another package's), runs
// the tests there, and exits with their status.
func Main(m *testing.M) {
	local.Main()
	if local.Sandboxed() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "ztl")
	if err != nil {
		fmt.Fprintln(os.Stderr, "labtest:", err)
		os.Exit(1)
	}
	os.Setenv("ZTLAB_RUNTIME_DIR", dir)
	code, err := local.Enter()
	os.RemoveAll(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "labtest:", err)
		os.Exit(1)
	}
	os.Exit(code)
}
