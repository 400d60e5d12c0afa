package main

import (
	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/infra/local"
)

func newShellCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "shell HOST",
		Short:             "Open a shell on a lab host (nc fcs00 8181 works there)",
		Args:              oneHost("zt-lab shell fcc00"),
		ValidArgsFunction: completeOneHost,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := findLab()
			if err != nil {
				return err
			}
			code, err := local.Dial(st).Login(cmd.Context(), args[0])
			if err != nil {
				return remote(err)
			}
			if code != 0 {
				return exitCode(code)
			}
			return nil
		},
	}
}
