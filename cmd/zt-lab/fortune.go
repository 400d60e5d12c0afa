package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/ztlab/zt-lab/assets"
	"github.com/ztlab/zt-lab/fortune"
)

func newFortuneCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fortune",
		Short: "The Fortune Cookie Service and its consumer",
		Long: "The seeds' Fortune Cookie Service without socat or nc:\n" +
			"  zt-lab fortune serve   stands in for  socat tcp-l:8181,bind=0,fork exec:/usr/games/fortune\n" +
			"  zt-lab fortune get     stands in for  nc fcs00 8181",
		// Runnable, or cobra would print the help for a mistyped subcommand
		// and exit 0.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %s: use serve or get", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newFortuneServeCmd(), newFortuneGetCmd())
	return cmd
}

func newFortuneServeCmd() *cobra.Command {
	var (
		listen   string
		seed     int64
		execPath string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve one fortune per connection, then close it",
		Long: "Serve one fortune per connection, then close it, until Ctrl-C.\n" +
			"Prints one line per fortune served on stdout:\n" +
			`  served 198.18.0.30:53396 "You love peace.\n"`,
		Example: "  zt-lab fortune serve --listen 0.0.0.0:8181\n" +
			"  zt-lab fortune serve --listen 127.0.0.1:8181 --seed 42\n" +
			"  zt-lab fortune serve --exec /usr/games/fortune",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var (
				source fortune.Source
				what   string
			)
			if execPath != "" {
				if cmd.Flags().Changed("seed") {
					return usagef("--seed orders the embedded fortunes; %s picks its own: drop one of the two", execPath)
				}
				path, err := exec.LookPath(execPath)
				if err != nil {
					return usagef("--exec %s: no such program: install it (apt install fortune-mod) or leave out --exec to serve the embedded fortunes", execPath)
				}
				source, what = fortune.ExecSource(path), "fortunes from "+path
			} else {
				all := assets.Fortunes()
				deck := fortune.NewDeck(all, seed)
				source, what = deck, fmt.Sprintf("%d embedded fortunes (seed %d)", len(all), deck.Seed())
			}

			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ln, err := fortune.Listen(ctx, listen)
			switch {
			case errors.Is(err, fortune.ErrBadAddr):
				return usagef("--listen %v; for example --listen 0.0.0.0:8181", err)
			case errors.Is(err, syscall.EADDRINUSE):
				return usagef("%v: stop what listens there or pick another with --listen", err)
			case errors.Is(err, syscall.EADDRNOTAVAIL):
				return usagef("--listen: %v: use one of its addresses, or 0.0.0.0 for all of them", err)
			case errors.Is(err, syscall.EACCES):
				return usage(err)
			case err != nil:
				return err
			}

			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			served := 0
			srv := &fortune.Server{
				Source: source,
				OnServe: func(remote, f string) {
					served++
					fmt.Fprintln(out, fortune.FormatServed(remote, f))
				},
				OnError: func(remote string, err error) {
					if remote == "" {
						remote = "-"
					}
					fmt.Fprintf(errOut, "no fortune for %s: %v\n", remote, err)
				},
			}
			fmt.Fprintf(errOut, "serving %s on %s, one per connection; Ctrl-C stops\n", what, ln.Addr())
			// The service idles between connections for the lab's whole
			// life: give back the heap start-up left behind now.
			debug.FreeOSMemory()
			if err := srv.Serve(ctx, ln); err != nil {
				return err
			}
			fmt.Fprintf(errOut, "stopped; fortunes served: %d\n", served)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "0.0.0.0:8181", "where to listen, as `HOST:PORT`; 127.0.0.1:8181 keeps it to this host")
	f.Int64Var(&seed, "seed", 0, "shuffle the embedded fortunes from `N`, the same sequence each time (0: random)")
	f.StringVar(&execPath, "exec", "", "run `PROGRAM` for each fortune instead, e.g. /usr/games/fortune")
	return cmd
}

func newFortuneGetCmd() *cobra.Command {
	var every, duration, timeout time.Duration
	var count, retries int
	cmd := &cobra.Command{
		Use:   "get ADDR",
		Short: "Fetch a fortune and print it, like nc",
		Long: "Fetch a fortune from ADDR (HOST:PORT; HOST a lab name such as fcs00, or an IP)\n" +
			"and print exactly what arrives, as nc does.\n\n" +
			"With --every, keep fetching: one line per attempt, then a summary.\n" +
			"The exit status is 1 if any attempt failed.",
		Example: "  zt-lab fortune get fcs00:8181\n" +
			"  zt-lab fortune get fcs00:8181 --every 200ms --for 30s",
		Args: func(_ *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return usagef("missing ADDR, where the service listens: for example zt-lab fortune get fcs00:8181")
			case len(args) > 1:
				return usagef("one ADDR only, got %d: for example zt-lab fortune get fcs00:8181", len(args))
			}
			if err := fortune.CheckAddr(args[0]); err != nil {
				return usagef("%v; for example zt-lab fortune get fcs00:8181", err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			addr := args[0]
			switch {
			case timeout <= 0:
				return usagef("--timeout must be more than 0, for example --timeout 2s")
			case every < 0:
				return usagef("--every must be more than 0, for example --every 200ms")
			case duration < 0:
				return usagef("--for must be more than 0, for example --for 30s")
			case count < 0:
				return usagef("--count must be 0 (no limit) or more, for example --count 1000")
			case count > 0 && every == 0:
				return usagef("--count needs --every: for example --every 1ms --count 1000")
			case duration > 0 && every == 0:
				return usagef("--for needs --every: for example --every 200ms --for 30s")
			case retries < 0 || retries > 10:
				return usagef("--retries %d: use 0 to 10, for example --retries 2", retries)
			case retries > 0 && every == 0:
				return usagef("--retries needs --every: for example --every 100ms --retries 2")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := checkDialHost(ctx, addr, timeout); err != nil {
				return err
			}
			out := cmd.OutOrStdout()

			if every == 0 {
				text, err := fortune.Get(ctx, addr, timeout)
				if err != nil {
					if ctx.Err() != nil {
						return exitCode(130) // Ctrl-C: nothing more to say
					}
					return fmt.Errorf("get %s: %w", addr, err)
				}
				_, err = io.WriteString(out, text)
				return err
			}

			opts := fortune.LoopOptions{Addr: addr, Every: every, For: duration, Timeout: timeout, Count: count, Retries: retries}
			sum := fortune.Loop(ctx, opts, func(a fortune.Attempt) { fmt.Fprintln(out, a) })
			fmt.Fprintln(out, sum)
			if sum.Failed > 0 {
				return exitCode(1)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.DurationVar(&every, "every", 0, "fetch again every `DURATION`, e.g. 200ms, and count")
	f.IntVar(&count, "count", 0, "with --every, stop after `N` attempts")
	f.DurationVar(&duration, "for", 0, "with --every, stop after `DURATION`, e.g. 30s (default: until Ctrl-C)")
	f.DurationVar(&timeout, "timeout", fortune.DefaultTimeout, "give up on one fetch after `DURATION`")
	f.IntVar(&retries, "retries", 0, "with --every, try a failed fetch again at once up to `N` times, each on a new connection")
	return cmd
}

// checkDialHost turns a host name nobody knows into a usage error before any
// attempt is made; other lookup trouble is left for the fetch to report.
func checkDialHost(ctx context.Context, addr string, timeout time.Duration) error {
	host, _, _ := net.SplitHostPort(addr)
	if net.ParseIP(host) != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := net.DefaultResolver.LookupHost(ctx, host)
	if dnsErr := (*net.DNSError)(nil); errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return usagef("unknown host %q: use a lab host name such as fcs00, or an IP address", host)
	}
	return nil
}

// noArgs refuses arguments as a usage error, naming the first one.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q: see %s --help", cmd.CommandPath(), args[0], cmd.CommandPath())
	}
	return nil
}
