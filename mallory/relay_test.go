package mallory

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

func TestRewriteReplacesAWordAndAddsALine(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"first long word", "You will meet a tall stranger.\n", "You MALLORY meet a tall stranger.\n" + Signature + "\n"},
		{"no trailing newline", "Beware of geeks", "MALLORY of geeks\n" + Signature + "\n"},
		{"word at the end", "go to Rome", "go to MALLORY\n" + Signature + "\n"},
		{"only short words", "a b c", "a b c\n" + Signature + "\n"},
		{"empty", "", "\n" + Signature + "\n"},
		{"two lines", "It is.\nPlease wait.\n", "It is.\nMALLORY wait.\n" + Signature + "\n"},
	} {
		if got := Rewrite(tc.in); got != tc.want {
			t.Errorf("%s: Rewrite(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

// fortuneServer serves text once per connection and closes it, as the
// fortune service does.
func fortuneServer(t *testing.T, text string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, text)
			c.Close()
		}
	}()
	return ln.Addr().String()
}

func TestRelayDeliversTheRewrittenFortuneOverLoopback(t *testing.T) {
	const served = "Your lucky number is 7.\n"
	var (
		mu   sync.Mutex
		seen []Tampered
	)
	r := &Relay{
		Upstream: fortuneServer(t, served),
		Rewrite:  Rewrite,
		OnTampered: func(tp Tampered) {
			mu.Lock()
			seen = append(seen, tp)
			mu.Unlock()
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, ln) }()
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if want := Rewrite(served); string(got) != want {
			t.Fatalf("the victim read %q, want %q", got, want)
		}
		if !strings.Contains(string(got), Signature) || strings.Contains(string(got), "Your") {
			t.Fatalf("the victim read %q: not tampered", got)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 {
		t.Fatalf("%d fortunes reported tampered, want 3", len(seen))
	}
	for _, tp := range seen {
		if tp.Original != served || tp.Altered != Rewrite(served) {
			t.Errorf("reported %q -> %q, want %q -> %q", tp.Original, tp.Altered, served, Rewrite(served))
		}
	}
}

func TestRelayClosesTheVictimWhenTheServiceIsGone(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := dead.Addr().String()
	dead.Close()
	r := &Relay{Upstream: addr, Rewrite: Rewrite}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.Serve(ctx, ln) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, _ := io.ReadAll(c)
	if len(got) != 0 {
		t.Fatalf("with no service the victim read %q, want nothing", got)
	}
}
