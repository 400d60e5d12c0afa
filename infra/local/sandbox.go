//go:build linux

// Package local is the embedded lab provider: every host is a Linux network
// namespace inside one private sandbox, and the sandbox's own namespace is
// the wire.
//
// zt-lab re-executes itself into the sandbox: a new user, mount, network,
// PID and IPC namespace. Its first process is a small init (PID 1 there) that reaps
// orphans and runs zt-lab once more as the lab process. When PID 1 dies the
// kernel kills every process inside, and with the last process go every
// namespace, interface and mount: nothing of a lab can outlive it, however
// zt-lab ends. The process outside keeps the sandbox on a parent-death
// signal, so even a SIGKILL of zt-lab ends the lab.
package local

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// envRole tells a re-executed zt-lab which part of the sandbox it plays.
const envRole = "ZTLAB_SANDBOX"

// envOuterPID carries the pid of the process outside the sandbox, which
// the lab records in its state file: it is the pid other terminals see.
const envOuterPID = "ZTLAB_OUTER_PID"

const (
	roleInit = "init"
	roleLab  = "lab"
)

// EnvHeld names the descriptor a held start waits on: the starter of a
// zt-lab that must be put somewhere (a cgroup) before it does anything
// passes it the read end of a pipe, and writes one byte once it is placed.
// Until then this process forks nothing, so nothing it starts can be born
// outside the place it was meant for.
const EnvHeld = "ZTLAB_HELD_FD"

// Main must run first in main and in TestMain. A held start waits here for
// its starter's word. In the sandbox's init role it never returns.
func Main() {
	if v, ok := os.LookupEnv(EnvHeld); ok {
		os.Unsetenv(EnvHeld)
		if err := awaitRelease(v); err != nil {
			fmt.Fprintln(os.Stderr, "zt-lab: held start:", err)
			os.Exit(1)
		}
	}
	if os.Getenv(envRole) == roleInit {
		os.Exit(runInit())
	}
}

// awaitRelease reads the one byte that releases a held start from the
// descriptor fd names. An end of file without it means the starter gave up
// (it could not place this process, or died): the process must not go on.
func awaitRelease(fd string) error {
	n, err := strconv.Atoi(fd)
	if err != nil || n < 3 {
		return fmt.Errorf("%s=%q is not a descriptor", EnvHeld, fd)
	}
	f := os.NewFile(uintptr(n), "held")
	if f == nil {
		return fmt.Errorf("%s=%d is not open", EnvHeld, n)
	}
	defer f.Close()
	var b [1]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return errors.New("the starter did not release this process")
	}
	return nil
}

// Sandboxed reports whether this process is the lab process inside a
// sandbox, where Provider.Up can build hosts.
func Sandboxed() bool { return os.Getenv(envRole) == roleLab }

// ErrNoUserNamespaces means the kernel refused the sandbox.
var ErrNoUserNamespaces = errors.New("user namespaces are not available")

// Enter runs this program again, with the same arguments, inside a new
// sandbox, and returns its exit code. Signals that would end zt-lab are
// passed on so the lab inside can tear itself down.
func Enter() (int, error) {
	if err := checkUserNamespaces(); err != nil {
		return 0, err
	}
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("find own executable: %w", err)
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	// Inside, every user is root: the runtime directory is chosen out here,
	// by who the user really is, and handed in.
	cmd.Env = append(without(os.Environ(), envRole, envOuterPID, envRuntimeDir),
		envRole+"="+roleInit, envOuterPID+"="+strconv.Itoa(os.Getpid()), envRuntimeDir+"="+RuntimeDir())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// A lifeline: init reads it and ends the lab at EOF, which comes when
	// this process dies however it dies. Unlike a parent-death signal it
	// cannot arrive before init is ready to hear it.
	lifeline, keep, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer keep.Close()
	cmd.ExtraFiles = []*os.File{lifeline}
	uid, gid := os.Getuid(), os.Getgid()
	size := 1
	if uid == 0 {
		// Root maps every id, so files owned by others stay theirs inside.
		size = 1<<32 - 1
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// An IPC namespace of its own: System V shared memory, queues and
		// semaphores made in a lab are the lab's, and end with it.
		Cloneflags:                 unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWNET | unix.CLONE_NEWPID | unix.CLONE_NEWIPC,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: size}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: size}},
		GidMappingsEnableSetgroups: uid == 0,
		// SIGTERM, not SIGKILL: the lab inside gets to remove its run
		// files. Its PID namespace ends every process regardless.
		Pdeathsig: syscall.SIGTERM,
	}

	// Pdeathsig fires when the thread that started the child exits, not
	// the process (golang/go#27505). Start the sandbox from a goroutine
	// that holds its thread until the sandbox has ended.
	started := make(chan error, 1)
	exited := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		exited <- cmd.Wait()
	}()
	err = <-started
	lifeline.Close()
	if err != nil {
		return 0, sandboxStartError(err)
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	defer signal.Stop(sigs)
	for {
		select {
		case s := <-sigs:
			// The lab handles repeats of the same request as one.
			_ = cmd.Process.Signal(s)
		case err := <-exited:
			removeStaleState()
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					return 128 + int(ws.Signal()), nil
				}
				return ee.ExitCode(), nil
			}
			if err != nil {
				return 1, err
			}
			return 0, nil
		}
	}
}

func sandboxStartError(err error) error {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.ENOSPC), errors.Is(err, unix.EINVAL), errors.Is(err, unix.EUSERS):
		return fmt.Errorf("%w (%v): %s", ErrNoUserNamespaces, err, userNSAdvice())
	}
	return fmt.Errorf("start sandbox: %w", err)
}

// checkUserNamespaces catches the settings that refuse a sandbox before
// trying, so the advice names the setting.
func checkUserNamespaces() error {
	if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil && strings.TrimSpace(string(b)) == "0" {
		return fmt.Errorf("%w (user.max_user_namespaces=0): %s", ErrNoUserNamespaces, userNSAdvice())
	}
	if b, err := os.ReadFile("/proc/sys/kernel/unprivileged_userns_clone"); err == nil && strings.TrimSpace(string(b)) == "0" && os.Getuid() != 0 {
		return fmt.Errorf("%w (kernel.unprivileged_userns_clone=0): %s", ErrNoUserNamespaces, userNSAdvice())
	}
	return nil
}

func userNSAdvice() string {
	return "run zt-lab with sudo, or allow user namespaces (sysctl -w user.max_user_namespaces=15000; on Ubuntu 24.04+ install an AppArmor profile: zt-lab apparmor | sudo tee /etc/apparmor.d/zt-lab && sudo apparmor_parser -r /etc/apparmor.d/zt-lab)"
}

// ErrNoCapabilities means the sandbox was created but holds no
// capabilities, as under Ubuntu's AppArmor user-namespace restriction.
var ErrNoCapabilities = errors.New("the sandbox holds no capabilities")

func capabilityError(err error) error {
	why := "user namespaces are restricted"
	if b, e := os.ReadFile("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"); e == nil && strings.TrimSpace(string(b)) == "1" {
		why = "kernel.apparmor_restrict_unprivileged_userns=1"
	}
	return fmt.Errorf("%w (%s; %v): %s", ErrNoCapabilities, why, err, userNSAdvice())
}

// AppArmorProfile is a profile that lets the zt-lab binary at path create
// user namespaces on a system that restricts them (Ubuntu 24.04 and later).
func AppArmorProfile(path string) string {
	return fmt.Sprintf(`abi <abi/4.0>,
include <tunables/global>

profile zt-lab %s flags=(unconfined) {
  userns,
  include if exists <local/zt-lab>
}
`, path)
}

// runInit is PID 1 of the sandbox: it starts the lab process, passes
// signals on, reaps every orphan, and exits with the lab's status. Its
// exit makes the kernel kill whatever is left in the sandbox.
func runInit() int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "zt-lab init:", err)
		return 1
	}
	if err := prepareMounts(); err != nil {
		fmt.Fprintln(os.Stderr, "zt-lab: prepare sandbox:", err)
		return 1
	}
	var sys *syscall.SysProcAttr
	dir := ""
	if os.Getenv(EnvPrivateView) != "" {
		if sys, err = lockedView(); err != nil {
			fmt.Fprintln(os.Stderr, "zt-lab: lock the private view:", err)
			return 1
		}
		// The lab, and the shells it starts, begin in $HOME, its tmpfs:
		// every place the view keeps is read-only.
		dir = os.Getenv("HOME")
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	env := append(without(os.Environ(), envRole), envRole+"="+roleLab)
	proc, err := os.StartProcess(self, os.Args, &os.ProcAttr{
		Env:   env,
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		Dir:   dir,
		Sys:   sys,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "zt-lab init: start lab:", err)
		return 1
	}
	// PID 1 waits for the whole lab's life: give the heap its package
	// initialisers left behind (a few MB, most of it garbage) back now,
	// rather than when the scavenger gets to it.
	debug.FreeOSMemory()
	go func() {
		// fd 3 is the lifeline from zt-lab outside (see Enter).
		_, _ = io.Copy(io.Discard, os.NewFile(3, "lifeline"))
		sigs <- unix.SIGTERM
	}()
	for s := range sigs {
		if s != unix.SIGCHLD {
			_ = proc.Signal(s)
			continue
		}
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err != nil || pid <= 0 {
				break
			}
			if pid == proc.Pid {
				if ws.Signaled() {
					return 128 + int(ws.Signal())
				}
				return ws.ExitStatus()
			}
		}
	}
	return 1
}

// lockedView is how init starts the lab of a private view: in a user
// namespace of its own below init's, with a mount namespace of its own
// and a network namespace of its own (the wire, which the lab must
// administer). The lab and everything it starts, an attendee's shell
// among them, are root of that namespace with every capability there,
// but the kernel copied init's mounts into the lab's namespace as the
// mounts of a more privileged one: locked, each with its read-only flag.
// The masks, $HOME's tmpfs, the read-only root and /proc cannot be
// unmounted, remounted or bound without what is below them, so nothing
// of the machine they hide shows through. Were the lab in init's own
// namespaces, where these mounts were made, `umount /tmp` in a shell
// would show the machine's /tmp, and a remount make it writable.
// The ids map onto init's as they are.
func lockedView() (*syscall.SysProcAttr, error) {
	uids, err := identityMap("/proc/self/uid_map")
	if err != nil {
		return nil, err
	}
	gids, err := identityMap("/proc/self/gid_map")
	if err != nil {
		return nil, err
	}
	setgroups, _ := os.ReadFile("/proc/self/setgroups")
	return &syscall.SysProcAttr{
		Cloneflags:                 unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWNET,
		UidMappings:                uids,
		GidMappings:                gids,
		GidMappingsEnableSetgroups: strings.TrimSpace(string(setgroups)) == "allow",
	}, nil
}

// identityMap maps every id of this user namespace, as the map file at
// path lists them, onto itself.
func identityMap(path string) ([]syscall.SysProcIDMap, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []syscall.SysProcIDMap
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var in, outer, n int
		if _, err := fmt.Sscan(line, &in, &outer, &n); err != nil {
			return nil, fmt.Errorf("%s: %q: %w", path, line, err)
		}
		out = append(out, syscall.SysProcIDMap{ContainerID: in, HostID: in, Size: n})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	return out, nil
}

// prepareMounts keeps the sandbox's mounts to itself and gives it its own
// /proc, so `ps` in a lab shell lists the lab's processes only. Init does
// it, before the lab starts: the lab's namespace receives them locked.
func prepareMounts() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if keep := os.Getenv(EnvPrivateView); keep != "" {
		if err := privateView(keep); err != nil {
			return fmt.Errorf("private view: %w", err)
		}
	}
	// A fresh /proc can be refused where /proc is partly masked (inside
	// some containers); the lab works without it.
	_ = unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	return nil
}

// ClientEnv is the environment for a zt-lab that the lab process starts
// as an ordinary client of itself (a shell from the TUI): without the
// sandbox's roles, which would make it act as part of the sandbox.
func ClientEnv() []string { return without(os.Environ(), envRole, envOuterPID) }

// without drops the named variables from env: the sandbox's variables are
// set once, never inherited twice (os.StartProcess keeps duplicates, and
// getenv reads the first).
func without(env []string, names ...string) []string {
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(names, name) {
			out = append(out, kv)
		}
	}
	return out
}
