package main

import (
	"github.com/spf13/cobra"
)

func newDownCmd() *cobra.Command {
	var p providerFlags
	var labID string
	cmd := &cobra.Command{
		Use:   "down",
		Short: "End the running lab",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			row, err := p.provider()
			if err != nil {
				return err
			}
			return row.down(cmd, labID)
		},
	}
	p.register(cmd, useDown)
	cmd.Flags().StringVar(&labID, "lab", "", "id of the Metal lab to delete (its devices and key are found by tag)")
	return cmd
}
