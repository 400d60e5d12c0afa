//go:build linux

package local_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ztlab/zt-lab/infra"
)

// TestDialFromAHostReachesItsOwnLoopback: Host.DialContext connects as a
// process on the host would, so 127.0.0.1 is that host's loopback — where
// its consul agent's API listens — and no other host's.
func TestDialFromAHostReachesItsOwnLoopback(t *testing.T) {
	l := up(t)
	p, err := host(t, l, "fcs00").Start(context.Background(), infra.ProcSpec{Name: "greeter", Argv: []string{self(t), "serve", "127.0.0.1:8181"}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(strings.Join(p.Tail(5), "\n"), "listening") })

	read := func(from, addr string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c, err := host(t, l, from).DialContext(ctx, "tcp", addr)
		if err != nil {
			return "", err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		b, err := io.ReadAll(c)
		return string(b), err
	}
	if got, err := read("fcs00", "127.0.0.1:8181"); err != nil || got != "hello from fcs00\n" {
		t.Errorf("fcs00 dialing its own 127.0.0.1:8181 = %q, %v; want the greeting", got, err)
	}
	for _, tc := range []struct{ from, addr string }{
		{"fcc00", "127.0.0.1:8181"},   // fcc00's loopback has nothing there
		{"fcc00", "198.18.0.20:8181"}, // bound to fcs00's loopback: not on the wire
	} {
		got, err := read(tc.from, tc.addr)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%s dialing %s = %q, %v; want connection refused", tc.from, tc.addr, got, err)
		}
	}
}
