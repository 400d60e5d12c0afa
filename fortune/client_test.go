package fortune

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestGetErrors(t *testing.T) {
	tests := []struct {
		name    string
		addr    func(t *testing.T) string
		timeout time.Duration
		want    string // the whole error message
		is      error  // what it must wrap, if anything
	}{
		{
			name:    "nothing listens: connection refused",
			addr:    func(t *testing.T) string { return freeAddr(t) },
			timeout: 2 * time.Second,
			want:    "connect: connection refused",
			is:      syscall.ECONNREFUSED,
		},
		{
			name: "the service closes without a word: empty reply",
			addr: func(t *testing.T) string {
				return rawServer(t, func(net.Conn) {})
			},
			timeout: 2 * time.Second,
			want:    "empty reply",
		},
		{
			name: "the service never answers: the timeout ends the read",
			addr: func(t *testing.T) string {
				return rawServer(t, func(c net.Conn) { c.Read(make([]byte, 1)) })
			},
			timeout: 50 * time.Millisecond,
			want:    "read: i/o timeout",
			is:      os.ErrDeadlineExceeded,
		},
		{
			name: "the service sends half and resets: the fortune is lost",
			addr: func(t *testing.T) string {
				return rawServer(t, func(c net.Conn) {
					// A RST that arrives before the client's connect
					// completes fails the connect instead.
					time.Sleep(50 * time.Millisecond)
					c.Write([]byte("The holy passion"))
					c.(*net.TCPConn).SetLinger(0) // close with a RST
				})
			},
			timeout: 2 * time.Second,
			want:    "read: connection reset by peer",
			is:      syscall.ECONNRESET,
		},
		{
			name: "the service never stops talking: too long",
			addr: func(t *testing.T) string {
				return rawServer(t, func(c net.Conn) {
					c.SetWriteDeadline(time.Now().Add(2 * time.Second))
					c.Write(make([]byte, maxReply+1))
				})
			},
			timeout: 2 * time.Second,
			want:    "read: the reply is longer than 65536 bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			got, err := Get(context.Background(), tt.addr(t), tt.timeout)
			if err == nil {
				t.Fatalf("Get = %q, want the error %q", got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Get error = %q, want %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Get error %q does not wrap %v", err, tt.is)
			}
			if d := time.Since(start); d > tt.timeout+time.Second {
				t.Errorf("Get took %v with a timeout of %v", d, tt.timeout)
			}
		})
	}
}

func TestGetByHostName(t *testing.T) {
	// The lab's names (fcs00) come from /etc/hosts; localhost is there too.
	addr, _ := serve(t, &Server{Source: NewDeck([]string{peace}, 1)})
	_, port, _ := net.SplitHostPort(addr)
	if _, err := net.LookupHost("localhost"); err != nil {
		t.Skipf("localhost does not resolve here: %v", err)
	}
	got, err := Get(context.Background(), net.JoinHostPort("localhost", port), 2*time.Second)
	if err != nil || got != peace {
		t.Errorf("Get(localhost:%s) = %q, %v; want %q", port, got, err, peace)
	}
}

func TestCancelEndsAGet(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) { c.Read(make([]byte, 1)) })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	_, err := Get(ctx, addr, 0) // no timeout: only the cancel ends it
	if err == nil || !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "read:") {
		t.Errorf("Get error = %v, want a read cut short by the cancel", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Get took %v to notice the cancel", d)
	}
}
