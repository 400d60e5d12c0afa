//go:build !linux

package main

import (
	"runtime"

	"github.com/spf13/cobra"
)

// newServeCmd says that the workshop server is Linux's: each attendee's lab
// is a sandbox of Linux namespaces on the server.
func newServeCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "serve",
		Short:              "Serve a lab to each attendee over SSH (Linux only)",
		Args:               cobra.ArbitraryArgs,
		DisableFlagParsing: true,
		RunE: func(*cobra.Command, []string) error {
			return usagef("zt-lab serve builds each attendee's lab of Linux namespaces: run it on a Linux machine, not on %s", runtime.GOOS)
		},
	}
}
