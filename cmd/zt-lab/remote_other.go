//go:build !linux

package main

import (
	"runtime"

	"github.com/spf13/cobra"
)

// remoteCmds is empty here: the lab's hosts run Linux, and `remote` on
// another system says so.
func remoteCmds() []*cobra.Command {
	return []*cobra.Command{{
		Use:   "agent",
		Short: "What a Linux lab host runs",
		RunE: func(*cobra.Command, []string) error {
			return usagef("zt-lab remote runs on the lab's Linux hosts, not on %s", runtime.GOOS)
		},
	}}
}
