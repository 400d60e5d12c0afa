//go:build linux

package local

import (
	"context"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// Login runs a shell on a lab host with this process's stdin, stdout and
// stderr, and returns its exit code: on a terminal an interactive shell
// whose prompt names the host, otherwise the shell reads a script from
// stdin without a terminal.
func (c *Client) Login(ctx context.Context, host string) (int, error) {
	argv := shellArgv()
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return c.Exec(ctx, host, argv, os.Stdin, os.Stdout, os.Stderr, nil)
	}
	env := []string{"PS1=(zt-lab) " + host + ":\\w\\$ ", "TERM=" + os.Getenv("TERM")}
	return c.interactive(ctx, host, append(argv, "-i"), env)
}

// shellArgv is bash without the user's start-up files, or sh.
func shellArgv() []string {
	if _, err := exec.LookPath("bash"); err == nil {
		return []string{"bash", "--noprofile", "--norc"}
	}
	return []string{"sh"}
}

// interactive puts the terminal on stdin in raw mode and copies between it
// and the shell's pty until the shell exits, passing on window size
// changes.
func (c *Client) interactive(ctx context.Context, host string, argv, env []string) (int, error) {
	fd := int(os.Stdin.Fd())
	cols, rows, _ := term.GetSize(fd)
	master, wait, err := c.Shell(ctx, host, argv, env, uint16(rows), uint16(cols))
	if err != nil {
		return 0, err
	}
	defer master.Close()
	old, err := term.MakeRaw(fd)
	if err != nil {
		return 0, err
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
	return wait()
}
