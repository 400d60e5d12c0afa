package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/infra/local"
)

func newStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the running lab's hosts, addresses and state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := findLab()
			if err != nil {
				return err
			}
			s, err := local.Dial(st).Status(cmd.Context())
			if err != nil {
				return remote(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Lab %s, up since %s, wire %s %s\n\n", s.ID, s.Started.Format("15:04:05"), s.Wire, s.Subnet)
			printStatus(cmd.OutOrStdout(), s)
			return nil
		},
	}
}

func printStatus(out io.Writer, s local.Status) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tROLE\tADDRESS\tSTATE\tPROCESSES")
	for _, h := range s.Hosts {
		var procs []string
		for _, p := range h.Procs {
			procs = append(procs, fmt.Sprintf("%s(%d)", p.Name, p.PID))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.Name, h.Role, h.Addr, h.State, strings.Join(procs, " "))
	}
	tw.Flush()
}
