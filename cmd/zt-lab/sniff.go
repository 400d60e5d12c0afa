package main

import (
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/infra/local"
	"github.com/ztlab/zt-lab/sniffer"
)

func newSniffCmd() *cobra.Command {
	var a local.SniffRequest
	var host, proto string
	cmd := &cobra.Command{
		Use:   "sniff [--host HOST] [--port PORT] [--write FILE] [--flows]",
		Short: "Watch the lab's wire: tcpdump -X lines, or flows with verdicts",
		Example: `  zt-lab sniff --port 8181              what the man in the middle reads
  zt-lab sniff --flows                   flows with PLAINTEXT / ENCRYPTED verdicts
  zt-lab sniff --host fcs00 --write fcs.pcap`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := sniffer.ParseProto(proto); err != nil {
				return usage(err)
			}
			a.Proto = proto
			st, err := findLab()
			if err != nil {
				return err
			}
			if host != "" {
				if a.Host, err = resolveHost(st, host); err != nil {
					return err
				}
				if !st.Subnet.Contains(a.Host) {
					return usagef("--host %s is not in the lab (%s): name a lab host, e.g. --host fcs00", host, st.Subnet)
				}
			}
			if a.Write != "" {
				if a.Write, err = filepath.Abs(a.Write); err != nil {
					return usage(err)
				}
				// Find out here, not in the lab's stream, if it cannot be
				// written: the lab writes it as this user.
				f, err := sniffer.CreatePcap(a.Write)
				if err != nil {
					return usagef("--write %v", err)
				}
				f.Close()
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return remote(local.Dial(st).Sniff(ctx, a, cmd.OutOrStdout()))
		},
	}
	cmd.Flags().StringVar(&host, "host", "", "only packets from or to this host (name or address)")
	cmd.Flags().Uint16Var(&a.Port, "port", 0, "only TCP/UDP packets from or to this port")
	cmd.Flags().StringVar(&proto, "proto", "any", "tcp, udp or any")
	cmd.Flags().BoolVar(&a.Flows, "flows", false, "print the flow table with verdicts every second instead of packets")
	cmd.Flags().StringVar(&a.Write, "write", "", "also save every captured frame to this pcap file (Wireshark, tshark)")
	return cmd
}

// resolveHost turns a lab host name or an address into an address.
func resolveHost(st local.State, name string) (netip.Addr, error) {
	var names []string
	for _, h := range st.Hosts {
		if h.Name == name {
			return h.Addr, nil
		}
		names = append(names, h.Name)
	}
	if a, err := netip.ParseAddr(name); err == nil {
		return a, nil
	}
	return netip.Addr{}, usage(local.UnknownHostError{Name: name, Hosts: names})
}
