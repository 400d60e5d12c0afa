package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/infra/local"
)

func newFailCmd() *cobra.Command {
	var mode string
	cmd := &cobra.Command{
		Use:               "fail HOST --mode crash|partition|freeze",
		Short:             "Make a lab host fail",
		Args:              oneHost("zt-lab fail fcs00 --mode partition"),
		ValidArgsFunction: completeOneHost,
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := infra.ParseFailMode(mode)
			if err != nil {
				return usage(err)
			}
			st, err := findLab()
			if err != nil {
				return err
			}
			if err := local.Dial(st).Fail(cmd.Context(), args[0], m); err != nil {
				return remote(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s. Undo with zt-lab recover %s\n", args[0], m, args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&mode, "mode", string(infra.Crash), "crash (kill its processes), partition (link down) or freeze (SIGSTOP)")
	return cmd
}
