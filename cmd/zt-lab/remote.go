//go:build linux

package main

import (
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"path"
	"syscall"

	"github.com/spf13/cobra"

	sshremote "github.com/ztlab/zt-lab/infra/ssh/remote"
)

// remoteCmds are the commands a lab's SSH host runs: its supervisor, its
// capture and its partition's undo, all Linux's.
func remoteCmds() []*cobra.Command {
	return []*cobra.Command{newRemoteAgentCmd(), newRemoteCaptureCmd(), newRemoteHealCmd()}
}

func newRemoteAgentCmd() *cobra.Command {
	var cfg sshremote.Config
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Supervise the lab's processes on this host, speaking to zt-lab on stdin and stdout",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Host == "" || !path.IsAbs(cfg.Dir) || !path.IsAbs(cfg.Root) || cfg.Table == "" {
				return usagef("remote agent needs --host, --table and absolute --dir and --root")
			}
			cfg.BinDir = path.Join(cfg.Root, "bin")
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer stop()
			// SIGPIPE on a lost connection must not kill the supervisor
			// before it has cleaned up.
			signal.Ignore(syscall.SIGPIPE)
			return sshremote.Serve(ctx, cfg, os.Stdin, os.Stdout)
		},
	}
	cmd.Flags().StringVar(&cfg.Host, "host", "", "this host's name in the lab")
	cmd.Flags().StringVar(&cfg.Dir, "dir", "", "this host's directory, removed on exit")
	cmd.Flags().StringVar(&cfg.Root, "root", "", "the lab's directory on this machine")
	cmd.Flags().StringVar(&cfg.Table, "table", "", "the firewall table a partition uses")
	return cmd
}

func newRemoteCaptureCmd() *cobra.Command {
	var addr, lab string
	var notPort uint16
	cmd := &cobra.Command{
		Use:   "capture",
		Short: "Capture the lab's traffic on the interface holding --addr and write pcap to stdout until stdin ends",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := netip.ParseAddr(addr)
			if err != nil {
				return usagef("--addr %q: %v", addr, err)
			}
			net, err := netip.ParsePrefix(lab)
			if err != nil {
				return usagef("--net %q: %v", lab, err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
			defer stop()
			return sshremote.Capture(ctx, a, net, notPort, os.Stdin, os.Stdout, os.Stderr)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "the lab address whose interface to capture on")
	cmd.Flags().StringVar(&lab, "net", "", "the lab's address range: only traffic within it is captured")
	cmd.Flags().Uint16Var(&notPort, "not-port", 22, "a port never captured: the SSH connection carrying the capture")
	return cmd
}

func newRemoteHealCmd() *cobra.Command {
	var lab string
	cmd := &cobra.Command{
		Use:   "heal",
		Short: "Remove a lab's partition table from this host",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if lab == "" {
				return usagef("remote heal needs --lab")
			}
			if err := sshremote.Heal(sshremote.TableName(lab)); err != nil {
				return fmt.Errorf("heal %s: %w", lab, err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&lab, "lab", "", "the lab's id")
	return cmd
}
