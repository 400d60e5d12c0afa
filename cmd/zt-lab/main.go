// Command zt-lab is an interactive zero-trust service-mesh lab: it builds
// five hosts, runs a plaintext fortune service, sniffs it, secures it with
// a Consul Connect mesh and proves the difference, scene by scene.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

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

func run(args []string) int { return runWith(args, os.Stdout, os.Stderr) }

// runWith runs zt-lab on args with the given output and error streams and
// returns its exit code: 0, a command's own, 2 for a usage error (said in
// one line on stderr), 1 for anything else.
func runWith(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	addCompletion(root)
	err := root.Execute()
	var code exitCode
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "zt-lab:", ue.Error())
		return 2
	default:
		fmt.Fprintln(stderr, "zt-lab:", err)
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
	// --version prints what `zt-lab version` does; cobra handles the flag
	// before the guided lab would start.
	root.Version = readBuildInfo().Version
	root.SetVersionTemplate(`{{ztlabVersion}}`)
	// Cobra's own flag errors are usage errors too.
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usagef("%v: see %s --help", err, cmd.CommandPath())
	})
	root.AddCommand(newUpCmd(), newDownCmd(), newStatusCmd(), newShellCmd(), newExecCmd(),
		newFailCmd(), newRecoverCmd(), newFortuneCmd(), newRunCmd(), newRecordCmd(), newSniffCmd(), newBenchCmd(), newAppArmorCmd(), newRemoteCmd(),
		newMalloryCmd(), newServeCmd(), newVersionCmd(), newNotesCmd())
	strictArgs(root)
	return root
}

// addCompletion adds cobra's `completion bash|zsh|fish|powershell`, once
// root's output is set: its scripts go where root's output went then.
func addCompletion(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			strictArgs(c)
		}
	}
}

func init() {
	cobra.AddTemplateFunc("ztlabVersion", func() string {
		var b strings.Builder
		writeVersion(context.Background(), &b, "")
		return b.String()
	})
}

// strictArgs makes every argument mistake under c a usage error with a
// hint: an unknown command (with cobra's suggestion when it has one), an
// argument a command does not take, a command given too few. A group of
// commands that cannot run by itself refuses an unknown one instead of
// printing its help and exiting 0.
func strictArgs(c *cobra.Command) {
	if c.SuggestionsMinimumDistance == 0 {
		c.SuggestionsMinimumDistance = 2
	}
	args := c.Args
	if args == nil {
		args = cobra.NoArgs
	}
	if c.HasSubCommands() && !c.Runnable() {
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	c.Args = func(cmd *cobra.Command, a []string) error {
		err := args(cmd, a)
		if err == nil {
			return nil
		}
		var ue usageError
		if errors.As(err, &ue) {
			return err
		}
		if cmd.HasAvailableSubCommands() && len(a) > 0 {
			hint := fmt.Sprintf("unknown command %q for %s", a[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(a[0]); len(s) > 0 {
				hint += ": did you mean " + list(s) + "?"
			} else {
				hint += ": see " + cmd.CommandPath() + " --help for the commands"
			}
			return usage(errors.New(hint))
		}
		if len(a) > 0 && strings.HasPrefix(err.Error(), "unknown command") {
			return usagef("%s takes no arguments, got %q: see %s --help", cmd.CommandPath(), a[0], cmd.CommandPath())
		}
		return usagef("%v: see %s --help", err, cmd.CommandPath())
	}
	for _, sub := range c.Commands() {
		strictArgs(sub)
	}
}
