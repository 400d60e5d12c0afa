package fortune

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestConsumerReadsAFortune(t *testing.T) {
	tests := []struct {
		name    string
		fortune string
	}{
		{"a one-line fortune", peace},
		{"a multi-line fortune arrives whole", twain},
		{"the deep C diva keeps her question and answer", deepC},
		{"a fortune without a final newline arrives as it is", "no newline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, _ := serve(t, &Server{Source: NewDeck([]string{tt.fortune}, 1)})
			got, err := Get(context.Background(), addr, 2*time.Second)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got != tt.fortune {
				t.Errorf("consumer read %q, want %q", got, tt.fortune)
			}
		})
	}
}

func TestOneFortunePerConnectionThenClose(t *testing.T) {
	addr, _ := serve(t, &Server{Source: NewDeck(seedFortunes, 7)})
	want := deal(t, NewDeck(seedFortunes, 7), 2*len(seedFortunes))
	for i, w := range want {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		// ReadAll returns only once the server closed its side.
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatalf("connection %d: read until the server closes: %v", i+1, err)
		}
		if string(got) != w {
			t.Errorf("connection %d read %q, want the next fortune alone: %q", i+1, got, w)
		}
	}
}

func TestAClientThatTalksFirstStillGetsItsFortune(t *testing.T) {
	// Someone typing into nc: the server never reads those bytes, and must
	// not answer them with a RST that destroys the fortune.
	addr, _ := serve(t, &Server{Source: NewDeck([]string{twain}, 1)})
	for i := range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("hello fcs00\n")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // let the server see the bytes before it closes
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || string(got) != twain {
			t.Fatalf("connection %d: read %q, %v; want the whole fortune", i+1, got, err)
		}
	}
}

func TestServerReportsWhatCrossedTheWire(t *testing.T) {
	var (
		mu     sync.Mutex
		served []string
	)
	addr, stop := serve(t, &Server{
		Source: NewDeck(seedFortunes, 3),
		OnServe: func(remote, fortune string) {
			mu.Lock()
			defer mu.Unlock()
			served = append(served, FormatServed(remote, fortune))
		},
	})
	var want []string
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, FormatServed(c.LocalAddr().String(), string(got)))
		c.Close()
	}
	stop() // waits for every connection, so every report is in
	if !slices.Equal(served, want) {
		t.Errorf("served lines:\n%s\nwant:\n%s", strings.Join(served, "\n"), strings.Join(want, "\n"))
	}
}

func TestServerServesConsumersAtOnce(t *testing.T) {
	var fortunes []string
	for i := range 32 {
		fortunes = append(fortunes, strings.Repeat("x", i+1)+"\n")
	}
	addr, _ := serve(t, &Server{Source: NewDeck(fortunes, 11)})
	var (
		mu  sync.Mutex
		got []string
		wg  sync.WaitGroup
	)
	for range len(fortunes) {
		wg.Go(func() {
			f, err := Get(context.Background(), addr, 5*time.Second)
			if err != nil {
				t.Errorf("Get: %v", err)
				return
			}
			mu.Lock()
			got = append(got, f)
			mu.Unlock()
		})
	}
	wg.Wait()
	if !sameSet(got, fortunes) {
		t.Errorf("%d consumers at once read %d fortunes, want each of the deck's %d once: %q",
			len(fortunes), len(got), len(fortunes), got)
	}
}

func TestAFailingSourceClosesWithoutAFortune(t *testing.T) {
	errs := make(chan error, 1)
	addr, _ := serve(t, &Server{
		Source:  sourceFunc(func(context.Context) (string, error) { return "", errors.New("fortune: not found") }),
		OnError: func(_ string, err error) { errs <- err },
	})
	if f, err := Get(context.Background(), addr, 2*time.Second); err == nil || err.Error() != "empty reply" {
		t.Errorf("Get = %q, %v; want the error \"empty reply\"", f, err)
	}
	select {
	case err := <-errs:
		if !strings.Contains(err.Error(), "fortune: not found") {
			t.Errorf("OnError got %v, want the source's error in it", err)
		}
	case <-time.After(2 * time.Second):
		t.Error("OnError was not called")
	}
}

func TestServeReturnsWhenItsContextEnds(t *testing.T) {
	// A consumer that connects and never closes must not hold the server.
	addr, stop := serve(t, &Server{Source: sourceFunc(func(ctx context.Context) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	})})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(10 * time.Millisecond) // the connection is being served
	start := time.Now()
	stop()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Serve took %v to return after its context ended", d)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("the port still accepts connections after Serve returned")
	}
}

func TestServeWithoutSourceIsAnError(t *testing.T) {
	ln, err := Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := new(Server).Serve(context.Background(), ln); err == nil {
		t.Error("Serve without a Source returned nil")
	}
}

func TestPortInUseIsAClearError(t *testing.T) {
	ln, err := Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	_, err = Listen(context.Background(), ln.Addr().String())
	want := "port " + port + " on 127.0.0.1 is already in use"
	if err == nil || err.Error() != want {
		t.Errorf("second Listen error = %v, want %q", err, want)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("second Listen error %v does not wrap EADDRINUSE", err)
	}
}

func TestListenOnIPv4IsIPv4(t *testing.T) {
	// The seeds bind 0.0.0.0: the banner and the sniffer expect IPv4.
	ln, err := Listen(context.Background(), "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if got := ln.Addr().(*net.TCPAddr).IP.String(); got != "0.0.0.0" {
		t.Errorf("Listen(0.0.0.0:0) listens on %s, want 0.0.0.0", ln.Addr())
	}
}

func TestListenRejectsBadAddresses(t *testing.T) {
	tests := []struct {
		addr, want string
	}{
		{"8181", `"8181" is not HOST:PORT: missing port in address`},
		{"0.0.0.0:http", `"0.0.0.0:http" is not HOST:PORT: the port must be a number from 0 to 65535`},
		{"0.0.0.0:65536", `"0.0.0.0:65536" is not HOST:PORT: the port must be a number from 0 to 65535`},
		{"::1:8181", `"::1:8181" is not HOST:PORT: too many colons in address`},
		{"192.0.2.1:0", "192.0.2.1 is not an address of this host"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			ln, err := Listen(context.Background(), tt.addr)
			if err == nil {
				ln.Close()
				t.Fatalf("Listen(%q) succeeded", tt.addr)
			}
			if err.Error() != tt.want {
				t.Errorf("Listen(%q) error = %q, want %q", tt.addr, err, tt.want)
			}
			if bad := strings.Contains(tt.want, "HOST:PORT"); errors.Is(err, ErrBadAddr) != bad {
				t.Errorf("Listen(%q) error %q: errors.Is(err, ErrBadAddr) = %v, want %v", tt.addr, err, !bad, bad)
			}
		})
	}
}

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"fcs00:8181", true},
		{"198.18.0.20:8181", true},
		{"[::1]:8181", true},
		{"localhost:1", true},
		{"fcs00", false},
		{":8181", false},
		{"fcs00:0", false},
		{"fcs00:http", false},
		{"fcs00:65536", false},
		{"", false},
	}
	for _, tt := range tests {
		err := CheckAddr(tt.addr)
		if (err == nil) != tt.ok {
			t.Errorf("CheckAddr(%q) = %v, want ok %v", tt.addr, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrBadAddr) {
			t.Errorf("CheckAddr(%q) error %q does not wrap ErrBadAddr", tt.addr, err)
		}
	}
}

// BenchmarkServeGet measures one consumer fetch on loopback: connect,
// serve a fortune from the deck, read to EOF, close.
func BenchmarkServeGet(b *testing.B) {
	for _, bc := range []struct {
		name    string
		fortune string
	}{{"one-line", peace}, {"multi-line", twain}} {
		b.Run(bc.name, func(b *testing.B) {
			addr, _ := serve(b, &Server{Source: NewDeck([]string{bc.fortune}, 1)})
			b.SetBytes(int64(len(bc.fortune)))
			for b.Loop() {
				if _, err := Get(context.Background(), addr, 2*time.Second); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
