//go:build linux

package main

import (
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/mesh"
	"github.com/ztlab/zt-lab/serve"
)

// newServeCmd is `zt-lab serve`: the workshop server.
func newServeCmd() *cobra.Command {
	var (
		cfg                                serve.Config
		authorized, instructors, consulBin string
		memoryMB                           int64
		reaper                             bool
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a room: every attendee gets a guided lab of their own over SSH",
		Long: `zt-lab serve is an SSH server for a workshop. Every attendee runs one
command (ssh -p 2222 HOST) and gets the guided lab, on a lab of their own,
as an unprivileged user of their own. The instructor logs in as
instructor@HOST with a key from --instructor-keys and sees the class.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if reaper {
				return serve.Reap(os.Stdin)
			}
			switch {
			case authorized == "" && !cfg.Policy.Open:
				return usagef("serve needs --authorized-keys FILE (the attendees' public keys) or --open (anyone with any key)")
			case authorized != "" && cfg.Policy.Open:
				return usagef("--authorized-keys and --open exclude each other: pick one")
			}
			if authorized != "" {
				k, err := serve.LoadKeys(authorized)
				if err != nil {
					return usagef("--authorized-keys: %v", err)
				}
				cfg.Policy.Attendees = k
				cfg.Hide = append(cfg.Hide, authorized)
			}
			if instructors != "" {
				k, err := serve.LoadKeys(instructors)
				if err != nil {
					return usagef("--instructor-keys: %v", err)
				}
				cfg.Policy.Instructors = k
				cfg.Hide = append(cfg.Hide, instructors)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer stop()
			bin, err := mesh.FindConsul(ctx, consulBin)
			if err != nil {
				return usage(err)
			}
			cfg.Consul = bin.Path
			if cfg.Self, err = os.Executable(); err != nil {
				return err
			}
			cfg.Limits.Memory = memoryMB << 20
			cfg.Out = cmd.OutOrStdout()
			err = serve.Run(ctx, cfg)
			if serve.IsUsage(err) {
				return usage(err)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", ":2222", "address to listen on")
	f.IntVar(&cfg.MaxLabs, "max-labs", 0, "labs at once (default: what memory allows, about 600 MB each)")
	f.IntVar(&cfg.MaxStarting, "max-starting", runtime.NumCPU(), "labs starting at once")
	f.StringVar(&cfg.HostKey, "host-key", "", "the server's SSH host key (default: generated once in the user's config directory)")
	f.StringVar(&authorized, "authorized-keys", "", "authorized_keys file of the attendees; a key's comment is its attendee's name")
	f.BoolVar(&cfg.Policy.Open, "open", false, "let anyone with any key in (printed as a warning)")
	f.StringVar(&instructors, "instructor-keys", "", "authorized_keys file of the instructors (ssh instructor@HOST)")
	f.DurationVar(&cfg.Keep, "keep", 15*time.Minute, "how long a disconnected attendee's lab waits for them")
	f.BoolVar(&cfg.NoShell, "no-shell", false, "no shell on the lab hosts for attendees (the s key)")
	f.StringVar(&cfg.StateDir, "state-dir", "", "where the server makes its directory for the attendees' (default: $TMPDIR)")
	f.StringVar(&consulBin, "consul", "", "consul binary for the labs (default: $ZTLAB_CONSUL, bin/consul, PATH)")
	f.IntVar(&cfg.Limits.Procs, "max-procs", serve.DefaultProcs, "processes and threads per attendee")
	f.Int64Var(&memoryMB, "memory", serve.DefaultMemoryMB, "memory per attendee's lab, MB")
	f.Float64Var(&cfg.Limits.CPU, "cpu", 1, "CPU cores per attendee's lab")
	f.IntVar(&cfg.SessionsPerKey, "sessions-per-key", 2, "connections at once with one key")
	f.IntVar(&cfg.ConnectBurst, "connect-burst", 10, "new connections one address may open at once")
	f.DurationVar(&cfg.ConnectEvery, "connect-every", 3*time.Second, "and then one more per this long")
	f.IntVar(&cfg.UIDBase, "uid-base", serve.DefaultUIDBase, "attendee n runs as uid uid-base+n (as root)")
	f.BoolVar(&reaper, "reaper", false, "clean up after the server that started this one (internal)")
	_ = f.MarkHidden("reaper")
	return cmd
}
