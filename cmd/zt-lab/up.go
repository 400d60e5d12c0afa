package main

import (
	"github.com/spf13/cobra"
)

func newUpCmd() *cobra.Command {
	var f labFlags
	var p providerFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Build the five-host lab and hold it until Ctrl-C",
		Long: `Build the lab: consul00-02, fcs00 and fcc00, each a network namespace on
one private wire, with the plaintext fortune service on fcs00:8181.
Other terminals use it with status, shell, exec, fail, recover and down.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			row, err := p.provider()
			if err != nil {
				return err
			}
			return row.up(cmd, &f)
		},
	}
	f.register(cmd)
	p.register(cmd, useUp)
	return cmd
}
