package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/infra/local"
)

func newRecoverCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "recover HOST",
		Short:             "Undo a host's failure",
		Args:              oneHost("zt-lab recover fcs00"),
		ValidArgsFunction: completeOneHost,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := findLab()
			if err != nil {
				return err
			}
			if err := local.Dial(st).Recover(cmd.Context(), args[0]); err != nil {
				return remote(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: up\n", args[0])
			return nil
		},
	}
}
