package main

import "github.com/spf13/cobra"

// newRemoteCmd is what zt-lab runs on a lab's SSH hosts; people do not
// type it, so it is hidden from help.
func newRemoteCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "remote",
		Short:  "What zt-lab runs on a remote lab host over SSH",
		Hidden: true,
	}
	cmd.AddCommand(remoteCmds()...)
	return cmd
}
