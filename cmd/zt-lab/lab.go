package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/creack/pty"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/infra/local"
	"github.com/ztlab/zt-lab/scenes"
)

// labFlags are the flags of every command that builds a local lab.
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
func checkLinux() error {
	if runtime.GOOS != "linux" {
		return usagef("the local lab needs Linux (this is %s): run zt-lab on a Linux machine or VM", runtime.GOOS)
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

func newUpCmd() *cobra.Command {
	var f labFlags
	var detach bool
	var provider string
	var metal equinixFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Build the five-host lab and hold it until Ctrl-C",
		Long: `Build the lab: consul00-02, fcs00 and fcc00, each a network namespace on
one private wire, with the plaintext fortune service on fcs00:8181.
Other terminals use it with status, shell, exec, fail, recover and down.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch provider {
			case "local":
			case "equinix":
				return metalUp(cmd, &metal)
			case "ssh":
				return usage(errNoSSHUp)
			default:
				return usagef("--provider %q: use local (namespaces on this machine) or equinix (Equinix Metal)", provider)
			}
			if _, err := f.topology(); err != nil {
				return err
			}
			if !local.Sandboxed() {
				// The detached child runs up in the foreground, however the
				// flag was spelled (--detach=1, -d=true ...).
				if detach && os.Getenv(envDetached) == "" {
					return detachUp()
				}
				return enterSandbox()
			}
			return holdLab(cmd.Context(), &f, cmd.OutOrStdout())
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "run the lab in the background; end it with `zt-lab down`")
	cmd.Flags().StringVar(&provider, "provider", "local", "where the hosts are: local (namespaces here) or equinix (Equinix Metal)")
	metal.registerUp(cmd)
	return cmd
}

// metalUp builds the lab's devices on Equinix Metal and returns: like
// terraform apply, the devices stay (tagged with the lab id) until
// `zt-lab down --provider equinix --lab ID`.
func metalUp(cmd *cobra.Command, f *equinixFlags) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	lab, err := equinixUp(ctx, cmd, f)
	if err != nil || lab == nil {
		return err
	}
	out := cmd.OutOrStdout()
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tROLE\tPUBLIC\tPRIVATE\tSSH")
	for _, t := range lab.SSHTargets() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\tssh -i %s %s@%s\n", t.Host, t.Role, t.Addr, t.Private, t.KeyFile, t.User, t.Addr)
	}
	tw.Flush()
	fmt.Fprintln(out, "The guided walkthrough runs on the local lab only for now: running it on these hosts needs the SSH runner, which is not built yet.")
	return nil
}

// holdLab is `up` inside the sandbox: build, show, wait, tear down.
func holdLab(ctx context.Context, f *labFlags, out io.Writer) error {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	fmt.Fprintln(out, "Building the lab ...")
	lab, err := upLab(ctx, f, func(e infra.Event) {
		if e.Host != "" && e.Err == nil {
			fmt.Fprintf(out, "  %-9s ready  %4d ms\n", e.Host, e.Elapsed.Milliseconds())
		}
	})
	if err != nil {
		return err
	}
	serveSniff(lab)
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
	fmt.Fprintln(out, readyLine)
	// The leak tests prove that a panicking lab leaves nothing behind.
	panics := make(chan os.Signal, 1)
	if os.Getenv("ZTLAB_TEST_PANIC_ON_USR1") != "" {
		signal.Notify(panics, syscall.SIGUSR1)
	}
	if os.Getenv(envDetached) != "" {
		quietAfterReady(lab.Dir())
	}
	select {
	case <-panics:
		panic("SIGUSR1 with ZTLAB_TEST_PANIC_ON_USR1 set")
	case <-sigs:
	case <-lab.DownRequested():
	case <-ctx.Done():
	}
	start := time.Now()
	err = lab.Close(context.Background())
	fmt.Fprintf(out, "Lab %s is down in %d ms.\n", lab.ID(), time.Since(start).Milliseconds())
	return err
}

const (
	readyLine   = "zt-lab: ready"
	envDetached = "ZTLAB_DETACHED"
)

// quietAfterReady points a detached lab's output at a log file: whoever
// waited for it to start has gone.
func quietAfterReady(dir string) {
	f, err := os.OpenFile(dir+"/up.log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	_ = syscall.Dup3(int(f.Fd()), 1, 0)
	_ = syscall.Dup3(int(f.Fd()), 2, 0)
	f.Close()
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
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := os.Args[1:]
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), envDetached+"=1")
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	pw.Close()
	var lines []string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		if line == readyLine {
			pr.Close()
			st, err := local.FindLab()
			if err != nil {
				return err
			}
			fmt.Printf("Lab %s is up in the background (pid %d). `zt-lab status` shows it, `zt-lab down` ends it.\n", st.ID, st.PID)
			return nil
		}
		lines = append(lines, line)
	}
	err = cmd.Wait()
	// The lab printed its own error; show it as ours.
	for _, l := range lines {
		if strings.HasPrefix(l, "zt-lab: ") {
			fmt.Fprintln(os.Stderr, l)
		}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return exitCode(ee.ExitCode())
	}
	return fmt.Errorf("the lab did not start: %s", strings.Join(lines, " | "))
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

func newDownCmd() *cobra.Command {
	var provider string
	var metal equinixFlags
	var hosts providerFlags
	cmd := &cobra.Command{
		Use:   "down",
		Short: "End the running lab",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch provider {
			case "local":
			case "equinix":
				ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				return equinixDown(ctx, cmd, &metal)
			case "ssh":
				hosts.provider = provider
				if _, err := hosts.remote(); err != nil {
					return err
				}
				return sshDown(cmd, &hosts, metal.labID)
			default:
				return usagef("--provider %q: use local, ssh or equinix", provider)
			}
			st, err := findLab()
			if err != nil {
				return err
			}
			start := time.Now()
			ctx, cancel := context.WithTimeout(cmd.Context(), 15*time.Second)
			defer cancel()
			if err := local.Dial(st).Down(ctx); err != nil {
				return remote(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Lab %s is down (%d ms).\n", st.ID, time.Since(start).Milliseconds())
			return nil
		},
	}
	cmd.Flags().StringVar(&provider, "provider", "local", "local; ssh to end what labs left on --inventory's hosts (--lab ID, or all); equinix to delete a Metal lab's devices and key by its tag")
	metal.registerDown(cmd)
	cmd.Flags().StringVar(&hosts.inventory, "inventory", "", "with --provider ssh: YAML file of the hosts")
	cmd.Flags().BoolVar(&hosts.trustNew, "trust-new-hosts", false, "with --provider ssh: trust host keys not yet in known_hosts")
	return cmd
}

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

func newShellCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "shell HOST",
		Short: "Open a shell on a lab host (nc fcs00 8181 works there)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("shell needs one host, e.g. zt-lab shell fcc00")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := findLab()
			if err != nil {
				return err
			}
			host := args[0]
			argv := shellArgv()
			prompt := "PS1=(zt-lab) " + host + ":\\w\\$ "
			c := local.Dial(st)
			if !term.IsTerminal(int(os.Stdin.Fd())) {
				// A script on stdin: run it without a terminal.
				code, err := c.Exec(cmd.Context(), host, argv, os.Stdin, os.Stdout, os.Stderr, nil)
				if err != nil {
					return remote(err)
				}
				if code != 0 {
					return exitCode(code)
				}
				return nil
			}
			return interactiveShell(cmd.Context(), c, host, append(argv, "-i"), []string{prompt, "TERM=" + os.Getenv("TERM")})
		},
	}
}

func shellArgv() []string {
	if _, err := exec.LookPath("bash"); err == nil {
		return []string{"bash", "--noprofile", "--norc"}
	}
	return []string{"sh"}
}

// interactiveShell puts the terminal in raw mode and copies between it and
// the shell's pty until the shell exits.
func interactiveShell(ctx context.Context, c *local.Client, host string, argv, env []string) error {
	fd := int(os.Stdin.Fd())
	cols, rows, _ := term.GetSize(fd)
	master, wait, err := c.Shell(ctx, host, argv, env, uint16(rows), uint16(cols))
	if err != nil {
		return remote(err)
	}
	defer master.Close()
	old, err := term.MakeRaw(fd)
	if err != nil {
		return err
	}
	defer term.Restore(fd, old)
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	defer signal.Stop(winch)
	go func() {
		for range winch {
			if w, h, err := term.GetSize(fd); err == nil {
				_ = pty.Setsize(master, &pty.Winsize{Rows: uint16(h), Cols: uint16(w)})
			}
		}
	}()
	go func() { _, _ = io.Copy(master, os.Stdin) }()
	_, _ = io.Copy(os.Stdout, master) // ends when the shell's side closes
	code, err := wait()
	if err != nil {
		return err
	}
	if code != 0 {
		return exitCode(code)
	}
	return nil
}

func newFailCmd() *cobra.Command {
	var mode string
	cmd := &cobra.Command{
		Use:   "fail HOST --mode crash|partition|freeze",
		Short: "Make a lab host fail",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("fail needs one host, e.g. zt-lab fail fcs00 --mode partition")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := infra.ParseFailMode(mode)
			if err != nil {
				return usage(err)
			}
			st, err := findLab()
			if err != nil {
				return err
			}
			if err := local.Dial(st).Fail(cmd.Context(), args[0], m); err != nil {
				return remote(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s. Undo with zt-lab recover %s\n", args[0], m, args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&mode, "mode", string(infra.Crash), "crash (kill its processes), partition (link down) or freeze (SIGSTOP)")
	return cmd
}

func newRecoverCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "recover HOST",
		Short: "Undo a host's failure",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("recover needs one host, e.g. zt-lab recover fcs00")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := findLab()
			if err != nil {
				return err
			}
			if err := local.Dial(st).Recover(cmd.Context(), args[0]); err != nil {
				return remote(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: up\n", args[0])
			return nil
		},
	}
}

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
