package main

import (
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/infra/local"
)

// completeHost completes the HOST argument of shell, exec, fail and
// recover with the running lab's host names, read from its state file;
// with no lab there is nothing to offer. What follows exec's host is a
// command, which the shell completes as it would.
func completeHost(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveDefault
	}
	if runtime.GOOS != "linux" {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	st, err := local.FindLab()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, h := range st.Hosts {
		if strings.HasPrefix(h.Name, toComplete) {
			names = append(names, h.Name+"\t"+string(h.Role))
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// completeOneHost is for a command whose one argument is a host of the
// lab and no more: past it, nothing completes.
// oneHost is the Args of a command that takes one host: any other count
// is a usage error naming the command and an example.
func oneHost(example string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usagef("%s needs one host, e.g. %s", cmd.Name(), example)
		}
		return nil
	}
}

func completeOneHost(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return completeHost(cmd, args, toComplete)
}
