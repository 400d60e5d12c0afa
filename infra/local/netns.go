//go:build linux

package local

import (
	"os"
	"os/exec"
	"runtime"

	"github.com/vishvananda/netns"
)

// A network namespace belongs to a thread, not a process: these helpers run
// code, or start a child, on a thread moved into a host's namespace, and
// move the thread back (or let it die locked) before Go reuses it.

// newNetns creates a network namespace and returns a handle that keeps it
// alive. The calling thread is moved back before it is released; if that
// fails the thread stays locked and dies with its goroutine.
func newNetns() (netns.NsHandle, error) {
	type result struct {
		ns  netns.NsHandle
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := threadNetns()
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{-1, err}
			return
		}
		defer orig.Close()
		ns, err := netns.New()
		if err != nil {
			// New may fail after its unshare: move back before the
			// thread goes back to the pool, or let it die locked.
			if netns.Set(orig) == nil {
				runtime.UnlockOSThread()
			}
			ch <- result{-1, err}
			return
		}
		// IPv6 router and neighbour chatter would fill the sniffer with
		// noise the story does not need.
		_ = os.WriteFile("/proc/sys/net/ipv6/conf/default/disable_ipv6", []byte("1"), 0)
		_ = os.WriteFile("/proc/sys/net/ipv6/conf/all/disable_ipv6", []byte("1"), 0)
		if err := netns.Set(orig); err != nil {
			ch <- result{ns, nil}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{ns, nil}
	}()
	r := <-ch
	return r.ns, r.err
}

// startIn starts cmd with its network namespace set to ns: a forked child
// inherits the namespace of the thread that forks it.
func startIn(ns netns.NsHandle, cmd *exec.Cmd) error {
	return inNetns(ns, cmd.Start)
}

// threadNetns opens the calling thread's network namespace through
// /proc/thread-self, which the kernel resolves for the caller's own PID
// namespace even when /proc is the machine's.
func threadNetns() (netns.NsHandle, error) {
	return netns.GetFromPath("/proc/thread-self/ns/net")
}

// inNetns runs fn on a thread switched into ns, and back.
func inNetns(ns netns.NsHandle, fn func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := threadNetns()
		if err != nil {
			runtime.UnlockOSThread()
			ch <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			ch <- err
			return
		}
		err = fn()
		if rerr := netns.Set(orig); rerr != nil {
			ch <- err // the thread stays locked and dies with us
			return
		}
		runtime.UnlockOSThread()
		ch <- err
	}()
	return <-ch
}
