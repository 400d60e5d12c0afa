package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/infra/local"
)

func newAppArmorCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "apparmor",
		Short: "Print an AppArmor profile that lets zt-lab create user namespaces",
		Long: `Ubuntu 24.04 and later restrict unprivileged user namespaces. Install
this profile to let zt-lab build its lab without sudo:

  zt-lab apparmor | sudo tee /etc/apparmor.d/zt-lab
  sudo apparmor_parser -r /etc/apparmor.d/zt-lab`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), local.AppArmorProfile(self))
			return nil
		},
	}
}
