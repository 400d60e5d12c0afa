// Command zt-lab is an interactive zero-trust service-mesh lab: it builds
// five hosts, runs a plaintext fortune service, sniffs it, secures it with
// a Consul Connect mesh and proves the difference, scene by scene.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/infra/local"
)

// usageError marks a mistake the user can fix: it is printed as one line
// and zt-lab exits with code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usage wraps err as a usage error; nil stays nil.
func usage(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

// usagef formats a usage error.
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitCode carries a command's own exit status (a remote command's, a
// failed check's) without printing anything more.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

func main() {
	local.Main()
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.Execute()
	var code exitCode
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "zt-lab:", ue.Error())
		return 2
	default:
		fmt.Fprintln(os.Stderr, "zt-lab:", err)
		return 1
	}
}

func newRootCmd() *cobra.Command {
	var f tuiFlags
	root := &cobra.Command{
		Use:   "zt-lab",
		Short: "An interactive zero-trust service-mesh lab",
		Long: `From a plaintext fortune service anyone on the wire can read to a Consul
mesh that encrypts and authenticates it, on five real hosts built here.
With no command: the guided lab (n/p scenes, enter step, ? help, q quit).`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE:          func(cmd *cobra.Command, _ []string) error { return runTUI(cmd, &f) },
	}
	f.register(root)
	root.CompletionOptions.DisableDefaultCmd = true
	// Cobra's own flag errors are usage errors too.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usage(err) })
	root.AddCommand(newUpCmd(), newDownCmd(), newStatusCmd(), newShellCmd(), newExecCmd(),
		newFailCmd(), newRecoverCmd(), newFortuneCmd(), newRunCmd(), newRecordCmd(), newSniffCmd(), newBenchCmd(), newAppArmorCmd(), newRemoteCmd(),
		newMalloryCmd(), newServeCmd())
	return root
}
