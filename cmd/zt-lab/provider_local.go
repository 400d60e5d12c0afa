package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/infra/local"
	"github.com/ztlab/zt-lab/scenes"
)

// localProvider is the row of the embedded lab: namespaces on this machine.
func localProvider() provider {
	var detach bool
	return provider{
		name:  "local",
		about: "namespaces on this machine",
		help:  map[use]string{useWalk: "local (namespaces here)", useUp: "local (namespaces here)", useDown: "local"},
		flags: func(cmd *cobra.Command, u use) {
			if u == useUp {
				cmd.Flags().BoolVarP(&detach, "detach", "d", false, "run the lab in the background; end it with zt-lab down")
			}
		},
		build: func(_ context.Context, w walkLab) (func(context.Context) (infra.Lab, error), error) {
			return func(ctx context.Context) (infra.Lab, error) {
				l, err := local.New().Up(ctx, w.topology, func(ev infra.Event) {
					if ev.Host != "" && ev.Err == nil {
						w.logf("%-9s ready in %d ms", ev.Host, ev.Elapsed.Milliseconds())
					}
				})
				if err != nil {
					return nil, labError(err)
				}
				l.(*local.Lab).ServeSniff()
				return l, nil
			}, nil
		},
		shell: func(self string, _ func() infra.Lab) func(host string) *exec.Cmd {
			return func(host string) *exec.Cmd {
				// The lab serves shells through its control socket, from this
				// very process; `zt-lab shell` is its ordinary client.
				c := exec.Command(self, "shell", host)
				c.Env = local.ClientEnv()
				return c
			}
		},
		up: func(cmd *cobra.Command, f *labFlags) error {
			if _, err := f.topology(); err != nil {
				return err
			}
			if !local.Sandboxed() {
				// The detached child runs up in the foreground, however the
				// flag was spelled (--detach=1, -d=true ...).
				if detach && !local.Detached() {
					return detachUp()
				}
				return enterSandbox()
			}
			return holdLab(cmd.Context(), f, cmd.OutOrStdout())
		},
		down: func(cmd *cobra.Command, _ string) error {
			st, err := findLab()
			if err != nil {
				return err
			}
			start := time.Now()
			ctx, cancel := context.WithTimeout(cmd.Context(), 15*time.Second)
			defer cancel()
			if err := local.New().Down(ctx, st.ID); err != nil {
				return remote(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Lab %s is down (%d ms).\n", st.ID, time.Since(start).Milliseconds())
			return nil
		},
	}
}

// labFlags are the flags of every command that builds a lab from the
// seeds' topology.
type labFlags struct {
	subnet       string
	publicSubnet bool
	seed         int64
}

func (f *labFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.subnet, "subnet", infra.DefaultSubnet.String(), "address range of the lab (IPv4, /8 to /26; private, shared, benchmark or documentation addresses)")
	cmd.Flags().BoolVar(&f.publicSubnet, "allow-public-subnet", false, "let --subnet be a public range, hiding its real hosts from the lab's shells")
	cmd.Flags().Int64Var(&f.seed, "seed", 1, "seed of the fortune sequence (0 = random)")
}

func (f *labFlags) topology() (infra.Topology, error) {
	t := infra.DefaultTopology()
	parse := infra.ParseSubnet
	if f.publicSubnet {
		parse = infra.ParseAnySubnet
	}
	p, err := parse(f.subnet)
	if err != nil {
		return t, usage(err)
	}
	if !infra.IsPrivateRange(p) && !local.Sandboxed() {
		// Said once, outside: the lab inside checks the flags again.
		fmt.Fprintln(os.Stderr, "zt-lab:", infra.PublicSubnetWarning(p))
	}
	t.Subnet = p
	return t, nil
}

// checkLinux refuses to go on anywhere but Linux: the lab is made of Linux
// namespaces.
func checkLinux() error { return checkLocalOS(runtime.GOOS) }

// checkLocalOS is checkLinux for a system named goos.
func checkLocalOS(goos string) error {
	if goos != "linux" {
		return usagef("the local lab is made of Linux network namespaces and this is %s: use --provider ssh with your own Linux hosts (or --provider equinix), or run zt-lab in a Linux VM", goos)
	}
	return nil
}

// enterSandbox re-runs the command inside a new sandbox and returns its
// exit status as an error for run to pass on.
func enterSandbox() error {
	if err := checkLinux(); err != nil {
		return err
	}
	st, err := local.FindLab()
	if err == nil {
		return usage(local.ErrLabRunning{State: st})
	}
	var unsafe infra.UnsafePathError
	if errors.As(err, &unsafe) {
		return usage(err)
	}
	code, err := local.Enter()
	if errors.Is(err, local.ErrNoUserNamespaces) {
		return usage(err)
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return exitCode(code)
	}
	return nil
}

// labError turns what Up or FindLab says into what the user should see:
// what the user can fix is a usage error (a lab running, no capabilities,
// a runtime directory or socket another user could change, a lab of
// another user's).
func labError(err error) error {
	var running local.ErrLabRunning
	var unsafe infra.UnsafePathError
	var peer local.PeerError
	if errors.As(err, &running) || errors.Is(err, local.ErrNoCapabilities) || errors.As(err, &unsafe) || errors.As(err, &peer) {
		return usage(err)
	}
	return err
}

// findLab returns the running lab, or a usage error saying how to start one.
func findLab() (local.State, error) {
	if err := checkLinux(); err != nil {
		return local.State{}, err
	}
	st, err := local.FindLab()
	if errors.Is(err, local.ErrNoLab) {
		return st, usage(err)
	}
	return st, labError(err)
}

// remote turns a lab's reply into the user's error.
func remote(err error) error {
	var re local.RemoteError
	if errors.As(err, &re) && re.Usage {
		return usage(err)
	}
	return err
}

// upLab builds the local lab and starts the plaintext fortune service on
// fcs00, the state the walkthrough begins in.
func upLab(ctx context.Context, f *labFlags, progress func(infra.Event)) (*local.Lab, error) {
	t, err := f.topology()
	if err != nil {
		return nil, err
	}
	lab, err := local.New().Up(ctx, t, progress)
	if err != nil {
		return nil, labError(err)
	}
	l := lab.(*local.Lab)
	if err := startFortune(ctx, l, f.seed); err != nil {
		l.Close(context.Background())
		return nil, err
	}
	return l, nil
}

// startFortune runs `zt-lab fortune serve` on fcs00:8181, bound to every
// address, like the seeds' socat line.
func startFortune(ctx context.Context, l *local.Lab, seed int64) error {
	h, ok := l.Host(scenes.ServiceHost)
	if !ok {
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	_, err = scenes.RunFortune(ctx, h, self, "0.0.0.0", seed, nil)
	return err
}

// holdLab is `up` inside the sandbox: build, show, wait, tear down.
func holdLab(ctx context.Context, f *labFlags, out io.Writer) error {
	hold := local.Hold()
	defer hold.Stop()

	fmt.Fprintln(out, "Building the lab ...")
	lab, err := upLab(ctx, f, func(e infra.Event) {
		if e.Host != "" && e.Err == nil {
			fmt.Fprintf(out, "  %-9s ready  %4d ms\n", e.Host, e.Elapsed.Milliseconds())
		}
	})
	if err != nil {
		return err
	}
	lab.ServeSniff()
	fmt.Fprintf(out, "Lab %s is up in %d ms.\n\n", lab.ID(), time.Since(lab.Started()).Milliseconds())
	printStatus(out, lab.Status())
	fmt.Fprint(out, `
Try, in another terminal:
  zt-lab shell fcc00            then: nc fcs00 8181
  zt-lab exec fcc00 -- zt-lab fortune get fcs00:8181
  zt-lab sniff --port 8181       the man in the middle's view
  zt-lab fail fcs00 --mode partition ; zt-lab recover fcs00
Ctrl-C or zt-lab down ends the lab.
`)
	fmt.Fprintln(out, local.ReadyLine)
	hold.Wait(ctx, lab)
	start := time.Now()
	err = lab.Close(context.Background())
	fmt.Fprintf(out, "Lab %s is down in %d ms.\n", lab.ID(), time.Since(start).Milliseconds())
	return err
}

// detachUp starts `zt-lab up` in a session of its own and returns once the
// lab is ready, or with the lab's own error.
func detachUp() error {
	if err := checkLinux(); err != nil {
		return err
	}
	if st, err := local.FindLab(); err == nil {
		return usage(local.ErrLabRunning{State: st})
	}
	st, err := local.Detach(os.Args[1:], os.Stderr)
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return exitCode(ee.ExitCode())
	case err != nil:
		return err
	}
	fmt.Printf("Lab %s is up in the background (pid %d). `zt-lab status` shows it, `zt-lab down` ends it.\n", st.ID, st.PID)
	return nil
}
