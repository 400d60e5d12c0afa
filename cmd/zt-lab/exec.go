package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/infra/local"
)

func newExecCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "exec HOST -- COMMAND [ARGS...]",
		Short: "Run a command on a lab host",
		Example: `  zt-lab exec fcc00 -- nc fcs00 8181
  zt-lab exec fcc00 -- zt-lab fortune get fcs00:8181 --every 200ms --for 5s`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usagef("exec needs a host and a command, e.g. zt-lab exec fcc00 -- nc fcs00 8181")
			}
			return nil
		},
		ValidArgsFunction: completeHost,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := findLab()
			if err != nil {
				return err
			}
			sigs := make(chan os.Signal, 4)
			signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
			defer signal.Stop(sigs)
			code, err := local.Dial(st).Exec(cmd.Context(), args[0], args[1:], os.Stdin, os.Stdout, os.Stderr, sigs)
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
