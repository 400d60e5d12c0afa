package fortune

import (
	"context"
	"net"
	"sync"
	"testing"
)

// The seeds' own fortunes, as they crossed the wire.
const (
	longLife = "You will have long and healthy life.\n"
	peace    = "You love peace.\n"
	deepC    = "Q: What do you call a principal female opera singer whose high C\n" +
		"is lower than those of other principal female opera singers?\n" +
		"A: A deep C diva.\n"
	twain = "The holy passion of Friendship is of so sweet and steady and loyal and\n" +
		"enduring a nature that it will last through a whole lifetime, if not asked to\n" +
		"lend money.\n" +
		"\t\t-- Mark Twain, \"Pudd'nhead Wilson's Calendar\"\n"
)

var seedFortunes = []string{longLife, peace, deepC, twain}

// sourceFunc lets a test be a Source.
type sourceFunc func(ctx context.Context) (string, error)

func (f sourceFunc) Next(ctx context.Context) (string, error) { return f(ctx) }

// serve runs s on a fresh loopback port and returns its address and a
// stop function that ends Serve and waits for it (also run at cleanup).
func serve(t testing.TB, s *Server) (addr string, stop func()) {
	t.Helper()
	return serveOn(t, "127.0.0.1:0", s)
}

func serveOn(t testing.TB, addr string, s *Server) (string, func()) {
	t.Helper()
	ln, err := Listen(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	stop := sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v, want nil after its context ended", err)
		}
	})
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// rawServer accepts connections on loopback and hands each to handle: a
// misbehaving service for the client's tests.
func rawServer(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { defer c.Close(); handle(c) })
		}
	})
	return ln.Addr().String()
}
