package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/infra/local"
)

func newStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the running lab's hosts, addresses and state",
		Example: `  zt-lab status
  zt-lab status --json | jq -r '.hosts[] | select(.state != "up") | .name'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := findLab()
			if err != nil {
				return err
			}
			s, err := local.Dial(st).Status(cmd.Context())
			if err != nil {
				return remote(err)
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Lab %s, up since %s, wire %s %s\n\n", s.ID, s.Started.Format("15:04:05"), s.Wire, s.Subnet)
			printStatus(cmd.OutOrStdout(), s)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the lab as one JSON object: id, subnet, wire, and each host's name, role, address, state and processes")
	return cmd
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
